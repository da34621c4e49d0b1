/* vertex_upload — models.upload at most once per label, and model versions found by label.
 * Part of the vertex module (vertex.h).
 *
 * An upload answers with a long-running operation; the version it makes exists, and is listed
 * with the labels of the uploaded Model, only once that operation is done. So "is there a
 * version with this label?" can be answered "no" for sure only when no upload to the same model
 * is still running. The model's operations are read first, then its versions by the label: an
 * upload that finishes between the two reads is seen by the second. While one is running we
 * wait for it (within the deadline), and past the deadline we say we cannot tell rather than
 * upload again. */
#include "vertex_internal.h"

#include "clk.h"
#include "log.h"
#include "vertex_body.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTLE_POLL_MS 200
#define SETTLE_POLL_MAX_MS 1000
#define OPS_PAGES_MAX 10 /* a model with more operations than this many pages: cannot tell */

/* Where one upload's version would appear. */
typedef struct {
    const char *target; /* "projects/P/locations/L/models/M"; NULL: a model Vertex names */
    const char *key, *value;
    char filter[160];
} upload_ctx;

typedef enum { SETTLED_FOUND, SETTLED_ABSENT, SETTLED_UNKNOWN } settled;

/* Whether an operation under TARGET is not done yet (*BUSY). A model that does not exist has
 * none. */
static vtx_err ops_in_flight(vtx_client *c, const char *target, long long deadline, bool *busy,
                             vtx_result *out)
{
    *busy = false;
    *out = (vtx_result){.retry_after_s = -1};
    char *url = vtx_dup_printf("%s/%s/operations", c->base, target);
    if (!url)
        return vtx_nomem(out);
    char *token = NULL;
    vtx_err e = VTX_OK;
    int page = 0;
    for (; page < OPS_PAGES_MAX; page++) {
        char *enc = token ? curl_easy_escape(NULL, token, 0) : NULL;
        char *full = vtx_dup_printf("%s?pageSize=%d%s%s", url, 100, enc ? "&pageToken=" : "",
                                    enc ? enc : "");
        curl_free(enc);
        free(token);
        token = NULL;
        if (!full) {
            e = vtx_nomem(out);
            break;
        }
        vtx_request q = {.method = "GET", .url = full, .idempotent = true, .what = "operations"};
        json_decref(out->resource);
        out->resource = NULL;
        e = vtx_perform(c, &q, deadline, out);
        free(full);
        if (e != VTX_OK)
            break;
        size_t i;
        json_t *op;
        json_array_foreach(json_object_get(out->resource, "operations"), i, op)
        {
            if (!json_is_true(json_object_get(op, "done")))
                *busy = true;
        }
        const char *next = json_string_value(json_object_get(out->resource, "nextPageToken"));
        if (*busy || !next || !*next)
            break;
        if (!(token = strdup(next))) {
            e = vtx_nomem(out);
            break;
        }
    }
    free(token);
    free(url);
    json_decref(out->resource);
    out->resource = NULL;
    if (e == VTX_ERR_NOT_FOUND)
        return VTX_OK;
    if (e == VTX_OK && page == OPS_PAGES_MAX)
        *busy = true; /* too many to read: assume the worst */
    return e;
}

static vtx_err find_version(vtx_client *c, const upload_ctx *u, long long deadline, vtx_result *out)
{
    char *url = u->target ? vtx_dup_printf("%s/%s:listVersions", c->base, u->target)
                          : vtx_dup_printf("%s/models", c->parent);
    if (!url)
        return vtx_nomem(out);
    vtx_err e = vtx_find_first(c, url, "models", u->filter, deadline, out);
    free(url);
    return e;
}

/* Looks for U's version: FOUND (adopted into OUT), ABSENT (none, and with WAIT none coming from
 * a running upload), or UNKNOWN (OUT holds why). With WAIT, a running upload is waited for
 * until DEADLINE. */
static settled settle(vtx_client *c, const upload_ctx *u, bool wait, long long deadline,
                      vtx_result *out)
{
    long poll = SETTLE_POLL_MS;
    for (;;) {
        bool busy = !u->target; /* no model to read: we cannot tell */
        vtx_result r;
        vtx_err e = VTX_OK;
        if (wait && u->target) {
            e = ops_in_flight(c, u->target, deadline, &busy, &r);
            out->attempts += r.attempts;
            if (e != VTX_OK) {
                vtx_set_message(out, e == VTX_ERR_NOMEM ? e : VTX_ERR_TRANSIENT,
                                "upload outcome unknown: reading %.100s's operations: %.120s",
                                u->target, r.message);
                vtx_result_clear(&r);
                return SETTLED_UNKNOWN;
            }
            vtx_result_clear(&r);
        }
        e = find_version(c, u, deadline, &r);
        out->attempts += r.attempts;
        if (e == VTX_OK) {
            const char *name = json_string_value(json_object_get(r.resource, "name"));
            log_emit(LOG_NOTICE,
                     json_pack("{s:s, s:s, s:s}", "label_key", u->key, "label_value", u->value,
                               "resource", name ? name : "?"),
                     "vertex: models.upload: adopted the version found by its label");
            json_decref(out->resource);
            out->resource = r.resource;
            out->err = VTX_OK;
            out->adopted = true;
            out->message[0] = '\0';
            return SETTLED_FOUND;
        }
        if (e != VTX_ERR_NOT_FOUND) {
            out->http_status = r.http_status;
            vtx_set_message(out, e == VTX_ERR_NOMEM ? e : VTX_ERR_TRANSIENT,
                            "upload outcome unknown: listing versions by label: %.160s", r.message);
            vtx_result_clear(&r);
            return SETTLED_UNKNOWN;
        }
        vtx_result_clear(&r);
        if (!wait || !busy)
            return SETTLED_ABSENT;
        if (!u->target || clk_mono_ms() + poll >= deadline) {
            vtx_set_message(out, VTX_ERR_TRANSIENT,
                            u->target ? "upload outcome unknown: an upload to %.160s is still "
                                        "running and may be this one; not re-sent"
                                      : "upload outcome unknown (a new model%.0s): not re-sent",
                            u->target ? u->target : "");
            return SETTLED_UNKNOWN;
        }
        clk_sleep_ms(poll);
        poll = poll * 2 > SETTLE_POLL_MAX_MS ? SETTLE_POLL_MAX_MS : poll * 2;
    }
}

/* After an upload failed ambiguously: decided unless its version surely does not exist. */
static bool resolve_upload(vtx_client *c, const vtx_request *q, long long deadline, vtx_result *out)
{
    return settle(c, q->arg, true, deadline, out) != SETTLED_ABSENT;
}

/* The model BODY uploads into: its parentModel, or the model its modelId names. */
static char *upload_target(const vtx_client *c, const json_t *body)
{
    const char *parent = json_string_value(json_object_get(body, "parentModel"));
    const char *id = json_string_value(json_object_get(body, "modelId"));
    if (parent)
        return strdup(parent);
    return id ? vtx_dup_printf("%s/models/%s", c->parent_name, id) : NULL;
}

static bool target_valid(const char *t)
{
    size_t n = strlen(t);
    return n < 400 && strncmp(t, "projects/", 9) == 0 && strstr(t, "/models/") && !strchr(t, '@') &&
           !strstr(t, "..") &&
           strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == n;
}

vtx_err vtx_upload_model(vtx_client *c, const json_t *body, const char *label_key,
                         const char *label_value, bool retrying, vtx_result *out)
{
    const json_t *model = json_object_get(body, "model");
    if (!json_is_object(model))
        return vtx_invalid(out, "%s", "upload body: \"model\" must be an object");
    upload_ctx u = {.key = label_key, .value = label_value};
    if (vtx_label_filter(u.filter, sizeof u.filter, label_key, label_value) != 0)
        return vtx_invalid(out, "%s", "upload: label key or value is not a valid label");
    char err[200];
    json_t *labelled = vtx_with_label(model, label_key, label_value, err, sizeof err);
    if (!labelled)
        return vtx_invalid(out, "%s", err);
    json_t *copy = json_copy((json_t *)body);
    char *target = upload_target(c, body);
    char *text = NULL, *url = NULL;
    if (copy && json_object_set_new(copy, "model", labelled) == 0) {
        labelled = NULL;
        text = json_dumps(copy, JSON_COMPACT);
        url = text ? vtx_dup_printf("%s/models:upload", c->parent) : NULL;
    }
    json_decref(labelled);
    json_decref(copy);
    vtx_err e;
    if (!url) {
        e = vtx_nomem(out);
    } else if (target && !target_valid(target)) {
        e = vtx_invalid(out, "%s", "upload: parentModel must be projects/.../models/ID");
    } else {
        u.target = target;
        *out = (vtx_result){.retry_after_s = -1};
        long long deadline = clk_mono_ms() + c->deadline_ms;
        /* A version already carrying the label is this upload done before (a retry, or an
         * attempt that died after Google accepted it): never a second one. */
        settled s = settle(c, &u, retrying && target, deadline, out);
        if (s == SETTLED_ABSENT) {
            vtx_request q = {.method = "POST",
                             .url = url,
                             .body = text,
                             .what = "models:upload",
                             .resolve = resolve_upload,
                             .arg = &u};
            vtx_perform(c, &q, deadline, out);
        }
        e = out->err;
    }
    free(url);
    free(text);
    free(target);
    return e;
}

vtx_err vtx_find_model_version(vtx_client *c, const char *model, const char *label_key,
                               const char *label_value, vtx_result *out)
{
    upload_ctx u = {.target = model, .key = label_key, .value = label_value};
    if (model && !target_valid(model))
        return vtx_invalid(out, "%s", "model: expected projects/.../models/ID");
    if (vtx_label_filter(u.filter, sizeof u.filter, label_key, label_value) != 0)
        return vtx_invalid(out, "%s", "model versions: label key or value is not a valid label");
    return find_version(c, &u, clk_mono_ms() + c->deadline_ms, out);
}

int vtx_model_version_name(const json_t *model, char *buf, size_t buflen)
{
    const char *name = json_string_value(json_object_get(model, "name"));
    const char *version = json_string_value(json_object_get(model, "versionId"));
    if (!name || !*name)
        return -1;
    int n = (int)strcspn(name, "@"); /* listVersions names a version M@V; get names it M */
    int w = version ? snprintf(buf, buflen, "%.*s@%s", n, name, version)
                    : snprintf(buf, buflen, "%s", name);
    return w > 0 && (size_t)w < buflen ? 0 : -1;
}
