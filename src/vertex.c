/* vertex — see vertex.h. The client, the retry loop, jobs and pipelines and the adoption of
 * their ambiguous creates (models.upload is in vertex_upload.c).
 *
 * One loop (vtx_perform) serves every call: get a token, send, read the answer, and decide:
 * done, final error, refresh the token once (401), or back off and retry while the deadline
 * allows. A create that may have reached Google is not retried by the loop itself: it first asks
 * the request's resolver (for jobs: a list by the caller's label) whether the resource exists. */
#include "scoreboard.h"
#include "vertex_internal.h"

#include "clk.h"
#include "labels.h"
#include "log.h"
#include "vertex_body.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where a job or pipeline create looks for its resource after an ambiguous failure. */
typedef struct {
    const char *collection; /* "customJobs" */
    const char *label_key;
    const char *label_value;
} by_label;

char *vtx_dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

vtx_client *vtx_client_new(const vertex_config *cfg, gauth *auth, fetch_client *http, char *err,
                           size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    const char *region = cfg->region && *cfg->region ? cfg->region : "us-central1";
    if (!cfg->project || !id_valid(cfg->project)) {
        snprintf(err, errlen, "vertex.project: required, lower-case letters, digits and '-'");
        return NULL;
    }
    if (!id_valid(region)) {
        snprintf(err, errlen, "vertex.region: lower-case letters, digits and '-'");
        return NULL;
    }
    const char *ep = cfg->endpoint;
    if (ep && strncmp(ep, "https://", 8) != 0 && strncmp(ep, "http://", 7) != 0) {
        snprintf(err, errlen, "vertex.endpoint: must be an http(s) URL");
        return NULL;
    }
    vtx_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->auth = auth;
    c->http = http;
    c->deadline_ms = cfg->deadline_ms > 0 ? cfg->deadline_ms : VTX_DEFAULT_DEADLINE_MS;
    c->base = ep ? strdup(ep) : vtx_dup_printf("https://%s-aiplatform.googleapis.com/v1", region);
    if (c->base) {
        size_t n = strlen(c->base);
        while (n > 0 && c->base[n - 1] == '/')
            c->base[--n] = '\0';
        c->parent = vtx_dup_printf("%s/projects/%s/locations/%s", c->base, cfg->project, region);
        c->parent_name = c->parent ? strdup(c->parent + n + 1) : NULL;
    }
    if (!c->parent_name) {
        snprintf(err, errlen, "out of memory");
        vtx_client_free(c);
        return NULL;
    }
    return c;
}

void vtx_client_free(vtx_client *c)
{
    if (!c)
        return;
    free(c->base);
    free(c->parent);
    free(c->parent_name);
    free(c);
}

const char *vtx_client_base_url(const vtx_client *c)
{
    return c->base;
}

const char *vtx_client_location(const vtx_client *c)
{
    return c->parent_name;
}

void vtx_set_message(vtx_result *r, vtx_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->err = e;
}

static vtx_err token_error(gauth_err ge, const char *why, vtx_result *out)
{
    vtx_err e = ge == GAUTH_ERR_TRANSIENT ? VTX_ERR_TRANSIENT
                : ge == GAUTH_ERR_NOMEM   ? VTX_ERR_NOMEM
                                          : VTX_ERR_AUTH;
    out->http_status = 0; /* nothing was sent to Vertex on this attempt */
    out->status[0] = '\0';
    vtx_set_message(out, e, "access token: %.200s", why);
    return e;
}

/* One HTTP exchange with a fresh or cached token; fills OUT from the answer. Returns the HTTP
 * layer's outcome; *SENT tells whether the request may have reached Google. */
static vtx_err exchange(vtx_client *c, const vtx_request *q, long timeout_ms, vtx_result *out,
                        bool *sent)
{
    const char *token;
    char why[256];
    *sent = false;
    gauth_err ge = gauth_token(c->auth, timeout_ms, &token, why, sizeof why);
    if (ge != GAUTH_OK)
        return token_error(ge, why, out);
    size_t alen = strlen(token) + sizeof "Authorization: Bearer ";
    char *authz = sodium_malloc(alen);
    if (!authz) {
        vtx_set_message(out, VTX_ERR_NOMEM, "out of memory");
        return VTX_ERR_NOMEM;
    }
    snprintf(authz, alen, "Authorization: Bearer %s", token);
    const char *headers[] = {authz, "Content-Type: application/json", "Accept: application/json",
                             NULL};
    fetch_call call = {.method = q->method,
                       .url = q->url,
                       .headers = headers,
                       .body = q->body,
                       .body_len = q->body ? strlen(q->body) : 0,
                       .timeout_ms = timeout_ms,
                       .once = !q->idempotent};
    fetch_answer r;
    fetch_err he = fetch_do(c->http, &call, &r);
    sodium_free(authz);
    out->attempts++;
    *sent = r.sent;
    out->retry_after_s = r.retry_after_s;
    if (he == FETCH_OK) {
        vtx_result_from_answer(out, r.status, r.body, r.body_len);
    } else {
        out->http_status = 0;
        out->status[0] = '\0';
        vtx_set_message(out, he == FETCH_ERR_NOMEM ? VTX_ERR_NOMEM : VTX_ERR_TRANSIENT,
                        "%s %s: %s (%.120s)", q->method, q->what ? q->what : "request",
                        fetch_err_name(he), r.detail);
    }
    char name[SB_CALL_NAME];
    snprintf(name, sizeof name, "%s %s", q->method, q->what ? q->what : "other");
    scoreboard_count_call(name, he == FETCH_OK ? r.status : 0);
    fetch_answer_free(&r);
    return out->err;
}

static vtx_err find_by_label(vtx_client *c, const char *collection, const char *key,
                             const char *value, long long deadline, vtx_result *out);

/* Whether a failed attempt may have created the resource anyway. */
static bool ambiguous(const vtx_result *r, bool sent)
{
    if (!sent)
        return false;
    if (r->http_status == 0) /* timeout or broken connection after sending */
        return true;
    /* 2xx that could not be read, or a 5xx (the server may have acted before failing). A 429
     * is a refusal before any work. */
    return r->http_status >= 500 || (r->http_status >= 200 && r->http_status < 300);
}

/* The job or pipeline resolver: a list by the caller's label. */
static bool resolve_by_label(vtx_client *c, const vtx_request *q, long long deadline,
                             vtx_result *out)
{
    const by_label *b = q->arg;
    vtx_result found;
    vtx_err e = find_by_label(c, b->collection, b->label_key, b->label_value, deadline, &found);
    out->attempts += found.attempts;
    if (e == VTX_ERR_NOT_FOUND) {
        vtx_result_clear(&found);
        return false;
    }
    if (e == VTX_OK) {
        const char *name = json_string_value(json_object_get(found.resource, "name"));
        log_emit(LOG_NOTICE,
                 json_pack("{s:s, s:s, s:s, s:s}", "collection", b->collection, "label_key",
                           b->label_key, "label_value", b->label_value, "resource",
                           name ? name : "?"),
                 "vertex: create failed ambiguously; adopted the resource found by its label");
        json_decref(out->resource);
        out->resource = found.resource;
        found.resource = NULL;
        out->err = VTX_OK;
        out->adopted = true;
        out->message[0] = '\0';
        return true;
    }
    /* The look itself failed: we cannot tell, so we must not re-send. */
    out->err = VTX_ERR_TRANSIENT;
    snprintf(out->message, sizeof out->message,
             "create outcome unknown and the label lookup failed: %.180s", found.message);
    vtx_result_clear(&found);
    return true;
}

/* The deadline leaves no room for another try: the last failure, transient, says so. */
static vtx_err give_up(vtx_result *out)
{
    size_t n = strlen(out->message);
    snprintf(out->message + n, sizeof out->message - n, " (gave up after %d attempts)",
             out->attempts);
    out->err = VTX_ERR_TRANSIENT;
    return out->err;
}

vtx_err vtx_perform(vtx_client *c, const vtx_request *q, long long deadline, vtx_result *out)
{
    bool reauthed = false, tried = false;
    for (int retry = 0;; retry++) {
        long long left = deadline - clk_mono_ms();
        if (left <= 0 && !tried) {
            vtx_set_message(out, VTX_ERR_TRANSIENT, "deadline exceeded before the call");
            return out->err;
        }
        if (left <= 0) /* a retry slept or re-authenticated past it: the last failure says why */
            return give_up(out);
        bool sent;
        vtx_err e = exchange(c, q, (long)left, out, &sent);
        tried = true;
        if (e == VTX_OK || e == VTX_ERR_NOMEM)
            return e;
        if (e == VTX_ERR_AUTH && out->http_status == 401 && !reauthed) {
            /* Our cached token was revoked or expired early: one retry with a fresh one. A 401
             * means the request was not acted on, so this is safe for creates too. */
            gauth_invalidate(c->auth);
            reauthed = true;
            retry--;
            continue;
        }
        if (e != VTX_ERR_TRANSIENT)
            return e;
        if (!q->idempotent && ambiguous(out, sent)) {
            if (!q->resolve) {
                out->err = VTX_ERR_TRANSIENT;
                snprintf(out->message, sizeof out->message,
                         "outcome unknown (the request may have been applied); not re-sent");
                return out->err;
            }
            if (q->resolve(c, q, deadline, out))
                return out->err;
            log_info("vertex: ambiguous %s not found by its label; sending it again",
                     q->what ? q->what : "create");
        }
        long wait = vtx_backoff_ms(retry);
        if (out->retry_after_s > 0 && out->retry_after_s * 1000 > wait)
            wait = out->retry_after_s * 1000;
        left = deadline - clk_mono_ms();
        if (wait >= left)
            return give_up(out);
        clk_sleep_ms(wait);
    }
}

vtx_err vtx_start(vtx_client *c, const vtx_request *q, vtx_result *out)
{
    *out = (vtx_result){.retry_after_s = -1};
    return vtx_perform(c, q, clk_mono_ms() + c->deadline_ms, out);
}

vtx_err vtx_invalid(vtx_result *out, const char *fmt, const char *arg)
{
    *out = (vtx_result){.retry_after_s = -1};
    snprintf(out->message, sizeof out->message, fmt, arg);
    out->err = VTX_ERR_INVALID;
    return VTX_ERR_INVALID;
}

vtx_err vtx_nomem(vtx_result *out)
{
    *out = (vtx_result){.retry_after_s = -1};
    vtx_set_message(out, VTX_ERR_NOMEM, "out of memory");
    return VTX_ERR_NOMEM;
}

/* A resource name we put in a URL path: no query, fragment, spaces or "..". */
static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < 512 && name[0] != '/' && !strstr(name, "..") &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@") == n;
}

/* The URL of NAME: a full "projects/..." name under base, or an id under parent/COLLECTION. */
static char *resource_url(const vtx_client *c, const char *collection, const char *name)
{
    if (strncmp(name, "projects/", 9) == 0)
        return vtx_dup_printf("%s/%s", c->base, name);
    if (strchr(name, '/') || !collection)
        return NULL;
    return vtx_dup_printf("%s/%s/%s", c->parent, collection, name);
}

static vtx_err get_resource(vtx_client *c, const char *collection, const char *name,
                            vtx_result *out)
{
    if (!name || !name_valid(name))
        return vtx_invalid(out, "%s: resource name is empty or has forbidden characters",
                           collection ? collection : "operation");
    char *url = resource_url(c, collection, name);
    if (!url)
        return vtx_invalid(out, "%s: expected a full resource name or an id",
                           collection ? collection : "operation");
    vtx_request q = {.method = "GET", .url = url, .idempotent = true, .what = collection};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    return e;
}

/* One page of the list at URL: FILTER and TOKEN may be NULL. OUT is accumulated into. */
static vtx_err list_page(vtx_client *c, const char *url, const char *what, const char *filter,
                         const char *token, long long deadline, vtx_result *out)
{
    char *f = filter && *filter ? curl_easy_escape(NULL, filter, 0) : NULL;
    char *t = token && *token ? curl_easy_escape(NULL, token, 0) : NULL;
    char *full =
        vtx_dup_printf("%s?%s%s%spageSize=%d%s%s", url, f ? "filter=" : "", f ? f : "",
                       f ? "&" : "", VTX_LIST_PAGE_SIZE, t ? "&pageToken=" : "", t ? t : "");
    curl_free(f);
    curl_free(t);
    if (!full) {
        vtx_set_message(out, VTX_ERR_NOMEM, "out of memory");
        return VTX_ERR_NOMEM;
    }
    vtx_request q = {.method = "GET", .url = full, .idempotent = true, .what = what};
    json_decref(out->resource);
    out->resource = NULL;
    vtx_err e = vtx_perform(c, &q, deadline, out);
    free(full);
    return e;
}

static vtx_err list_resources(vtx_client *c, const char *collection, const char *filter,
                              long long deadline, vtx_result *out)
{
    *out = (vtx_result){.retry_after_s = -1};
    char *url = vtx_dup_printf("%s/%s", c->parent, collection);
    if (!url)
        return vtx_nomem(out);
    vtx_err e = list_page(c, url, collection, filter, NULL, deadline, out);
    free(url);
    return e;
}

vtx_err vtx_find_first(vtx_client *c, const char *url, const char *member, const char *filter,
                       long long deadline, vtx_result *out)
{
    *out = (vtx_result){.retry_after_s = -1};
    char *token = NULL;
    vtx_err e = VTX_OK;
    for (int page = 0; page < VTX_FIND_PAGES_MAX; page++) {
        e = list_page(c, url, member, filter, token, deadline, out);
        free(token);
        token = NULL;
        if (e != VTX_OK)
            return e; /* a 404 (no such parent) is VTX_ERR_NOT_FOUND too */
        json_t *first = json_array_get(json_object_get(out->resource, member), 0);
        if (json_is_object(first)) {
            json_incref(first);
            json_decref(out->resource);
            out->resource = first;
            return VTX_OK;
        }
        const char *next = json_string_value(json_object_get(out->resource, "nextPageToken"));
        if (!next || !*next)
            break;
        if (!(token = strdup(next)))
            return vtx_nomem(out);
    }
    free(token);
    json_decref(out->resource);
    out->resource = NULL;
    vtx_set_message(out, VTX_ERR_NOT_FOUND, "no %s with %.160s", member, filter ? filter : "");
    return VTX_ERR_NOT_FOUND;
}

vtx_err vtx_list_all(vtx_client *c, const char *url, const char *member, vtx_result *out)
{
    *out = (vtx_result){.retry_after_s = -1};
    long long deadline = clk_mono_ms() + c->deadline_ms;
    json_t *all = json_array();
    char *token = NULL;
    vtx_err e = all ? VTX_OK : VTX_ERR_NOMEM;
    for (int page = 0; e == VTX_OK && page < VTX_FIND_PAGES_MAX; page++) {
        e = list_page(c, url, member, NULL, token, deadline, out);
        free(token);
        token = NULL;
        if (e != VTX_OK)
            break;
        json_array_extend(all, json_object_get(out->resource, member));
        const char *next = json_string_value(json_object_get(out->resource, "nextPageToken"));
        if (!next || !*next)
            break;
        if (!(token = strdup(next)))
            e = VTX_ERR_NOMEM;
    }
    free(token);
    json_decref(out->resource);
    out->resource = NULL;
    if (e != VTX_OK) {
        json_decref(all);
        return e == VTX_ERR_NOMEM && !out->message[0] ? vtx_nomem(out) : e;
    }
    out->resource = json_pack("{s:o}", member, all);
    return out->resource ? VTX_OK : vtx_nomem(out);
}

int vtx_label_filter(char *buf, size_t buflen, const char *key, const char *value)
{
    /* Valid label keys and values hold no quote or space: nothing to escape. */
    if (!key || !value || !labels_key_valid(key) || !labels_value_valid(value))
        return -1;
    int n = snprintf(buf, buflen, "labels.%s=\"%s\"", key, value);
    return n > 0 && (size_t)n < buflen ? 0 : -1;
}

static vtx_err find_by_label(vtx_client *c, const char *collection, const char *key,
                             const char *value, long long deadline, vtx_result *out)
{
    char filter[160];
    if (vtx_label_filter(filter, sizeof filter, key, value) != 0)
        return vtx_invalid(out, "%s: label key or value is not a valid label", collection);
    char *url = vtx_dup_printf("%s/%s", c->parent, collection);
    if (!url)
        return vtx_nomem(out);
    vtx_err e = vtx_find_first(c, url, collection, filter, deadline, out);
    free(url);
    return e;
}

static vtx_err create_resource(vtx_client *c, const char *collection, const json_t *resource,
                               const char *key, const char *value, vtx_result *out)
{
    char err[200];
    json_t *body = vtx_with_label(resource, key ? key : "", value ? value : "", err, sizeof err);
    if (!body)
        return vtx_invalid(out, "%s", err);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *url = text ? vtx_dup_printf("%s/%s", c->parent, collection) : NULL;
    if (!url) {
        free(text);
        return vtx_nomem(out);
    }
    by_label b = {.collection = collection, .label_key = key, .label_value = value};
    vtx_request q = {.method = "POST",
                     .url = url,
                     .body = text,
                     .what = collection,
                     .resolve = resolve_by_label,
                     .arg = &b};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    free(text);
    return e;
}

vtx_err vtx_create_custom_job(vtx_client *c, const json_t *job, const char *label_key,
                              const char *label_value, vtx_result *out)
{
    return create_resource(c, "customJobs", job, label_key, label_value, out);
}

vtx_err vtx_get_custom_job(vtx_client *c, const char *name, vtx_result *out)
{
    return get_resource(c, "customJobs", name, out);
}

vtx_err vtx_list_custom_jobs(vtx_client *c, const char *filter, vtx_result *out)
{
    return list_resources(c, "customJobs", filter, clk_mono_ms() + c->deadline_ms, out);
}

vtx_err vtx_find_custom_job(vtx_client *c, const char *label_key, const char *label_value,
                            vtx_result *out)
{
    return find_by_label(c, "customJobs", label_key, label_value, clk_mono_ms() + c->deadline_ms,
                         out);
}

vtx_err vtx_create_training_pipeline(vtx_client *c, const json_t *pipeline, const char *label_key,
                                     const char *label_value, vtx_result *out)
{
    return create_resource(c, "trainingPipelines", pipeline, label_key, label_value, out);
}

vtx_err vtx_get_training_pipeline(vtx_client *c, const char *name, vtx_result *out)
{
    return get_resource(c, "trainingPipelines", name, out);
}

vtx_err vtx_list_training_pipelines(vtx_client *c, const char *filter, vtx_result *out)
{
    return list_resources(c, "trainingPipelines", filter, clk_mono_ms() + c->deadline_ms, out);
}

vtx_err vtx_find_training_pipeline(vtx_client *c, const char *label_key, const char *label_value,
                                   vtx_result *out)
{
    return find_by_label(c, "trainingPipelines", label_key, label_value,
                         clk_mono_ms() + c->deadline_ms, out);
}

vtx_err vtx_get_operation(vtx_client *c, const char *name, vtx_result *out)
{
    if (name && (strncmp(name, "projects/", 9) != 0 || !strstr(name, "/operations/")))
        return vtx_invalid(out, "%s", "operation: expected projects/.../operations/ID");
    return get_resource(c, NULL, name, out);
}

vtx_err vtx_cancel(vtx_client *c, const char *name, vtx_result *out)
{
    if (!name || !name_valid(name) || strncmp(name, "projects/", 9) != 0 ||
        (!strstr(name, "/customJobs/") && !strstr(name, "/trainingPipelines/")))
        return vtx_invalid(
            out, "%s", "cancel: expected projects/.../customJobs/ID or .../trainingPipelines/ID");
    char *url = vtx_dup_printf("%s/%s:cancel", c->base, name);
    if (!url)
        return vtx_nomem(out);
    /* Asking again to cancel changes nothing more: retried like a read. */
    vtx_request q = {
        .method = "POST", .url = url, .body = "{}", .idempotent = true, .what = "cancel"};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    return e;
}

vtx_err vtx_merge_version_aliases(vtx_client *c, const char *model, const char *const *aliases,
                                  vtx_result *out)
{
    if (!model || !name_valid(model) || strncmp(model, "projects/", 9) != 0 ||
        !strstr(model, "/models/"))
        return vtx_invalid(out, "%s", "model: expected projects/.../models/ID[@version]");
    char err[200];
    json_t *body = vtx_merge_aliases_body(aliases, err, sizeof err);
    if (!body)
        return vtx_invalid(out, "%s", err);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *url = text ? vtx_dup_printf("%s/%s:mergeVersionAliases", c->base, model) : NULL;
    if (!url) {
        free(text);
        return vtx_nomem(out);
    }
    /* Setting aliases is idempotent: retried like a read. */
    vtx_request q = {.method = "POST",
                     .url = url,
                     .body = text,
                     .idempotent = true,
                     .what = "mergeVersionAliases"};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    free(text);
    return e;
}
