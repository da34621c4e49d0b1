/* retrain — the function, top to bottom: parse → match → body → submit. See retrain.h. */
#include "retrain.h"
#include "clk.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "media_type.h"
#include "printable.h"
#include "retrain_body.h"
#include "retrain_internal.h"
#include "storage_object.h"

#define STORAGE_TYPE_PREFIX "google.cloud.storage.object.v1."
#define BUDGET_MIN_MS 1000

/* ---- shared helpers ------------------------------------------------------------------------ */

void retrain_retry(const retrain_call *c, fn_result *out, int retry_after_s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = arena_vprintf(c->ctx->arena, fmt, ap);
    va_end(ap);
    json_decref(out->outcome);
    *out = (fn_result){.status = FN_RETRY,
                       .error = why ? why : "transient failure",
                       .retry_after_s = retry_after_s};
}

void retrain_vertex_failure(const retrain_call *c, const char *what, vtx_err e,
                            const vtx_result *res, fn_result *out)
{
    if (e == VTX_ERR_PERMANENT || e == VTX_ERR_NOT_FOUND || e == VTX_ERR_INVALID) {
        json_decref(out->outcome);
        const char *action = rules_action_name(rules_action_of(c->r));
        char *why = arena_printf(c->ctx->arena, "%s: %s%s%s (HTTP %ld)", what, res->status,
                                 res->status[0] ? ": " : "", res->message, res->http_status);
        *out = (fn_result){.status = FN_FAILED,
                           .error = why ? why : "Vertex AI refused the request",
                           .outcome = retrain_outcome_failed(rules_name(c->r), action, res)};
        return;
    }
    int after = res->retry_after_s > 0 && res->retry_after_s < 3600 ? (int)res->retry_after_s : 0;
    retrain_retry(c, out, after, "%s: %s: %s", what, vtx_err_name(e), res->message);
}

void retrain_crash_hook(const rule *r)
{
    static int armed = -1;
    static const char *which;
    if (armed < 0) {
        const char *hooks = getenv("RETRAIN_TEST_HOOKS");
        which = getenv("RETRAIN_TEST_CRASH_AFTER_CREATE");
        armed = hooks && strcmp(hooks, "1") == 0 && which && *which;
    }
    if (!armed)
        return;
    /* "1", or a comma-separated list of rule names. */
    size_t n = strlen(rules_name(r));
    for (const char *p = which; *p;) {
        size_t len = strcspn(p, ",");
        if ((len == 1 && *p == '1') || (len == n && strncmp(p, rules_name(r), n) == 0))
            raise(SIGKILL);
        p += len + (p[len] == ',');
    }
}

/* ---- outcomes ------------------------------------------------------------------------------ */

json_t *retrain_outcome_submitted(const char *rule, const char *action, const char *resource,
                                  bool adopted)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b}", "status", "submitted", "rule", rule, "action",
                     action, "resource", resource, "adopted", adopted);
}

json_t *retrain_outcome_coalesced(const char *rule, const char *resource, const char *into_event)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "status", "coalesced", "rule", rule, "resource",
                     resource, "into_event", into_event);
}

json_t *retrain_outcome_pending(const char *rule, const char *operation)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "status", "submitted", "rule", rule,
                     "action", "register", "operation", operation, "pending", 1, "adopted", 0);
}

json_t *retrain_outcome_failed(const char *rule, const char *action, const vtx_result *res)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "status", "failed", "rule", rule, "action",
                     action, "http_status", (json_int_t)res->http_status, "google_status",
                     res->status, "message", res->message);
}

bool retrain_state_is_terminal(const char *state)
{
    static const char *const ends[] = {"_SUCCEEDED", "_FAILED", "_CANCELLED", "_EXPIRED"};
    if (!state)
        return false;
    size_t n = strlen(state);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t m = strlen(ends[i]);
        if (n > m && strcmp(state + n - m, ends[i]) == 0)
            return true;
    }
    return false;
}

/* ---- init ---------------------------------------------------------------------------------- */

static void retrain_fini(void *state)
{
    retrain_state *st = state;
    if (!st)
        return;
    vtx_client_free(st->vtx);
    gauth_close(st->auth);
    fetch_free(st->http);
    rules_free(st->rules);
    free(st);
}

static int retrain_init(const config *cfg, void **state, char *err, size_t errlen)
{
    *state = NULL;
    retrain_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "retrain: out of memory");
        return -1;
    }
    char why[1024];
    gauth_options opt;
    gauth_err ge;
    if (rules_compile(cfg->rules, &st->rules, why, sizeof why) != 0) {
        snprintf(err, errlen, "retrain: rules: %s", why);
        goto fail;
    }
    if (!(st->http = fetch_new())) {
        snprintf(err, errlen, "retrain: cannot make an HTTP client");
        goto fail;
    }
    gauth_options_from_env(&opt);
    opt.http = st->http;
    if ((ge = gauth_open(&opt, &st->auth, why, sizeof why)) != GAUTH_OK) {
        snprintf(err, errlen, "retrain: Google credentials (%s): %s", gauth_err_name(ge), why);
        goto fail;
    }
    if (!(st->vtx = vtx_client_new(&cfg->vertex, st->auth, st->http, why, sizeof why))) {
        snprintf(err, errlen, "retrain: vertex: %s", why);
        goto fail;
    }
    *state = st;
    return 0;
fail:
    retrain_fini(st);
    return -1;
}

/* ---- one event ----------------------------------------------------------------------------- */

/* A dead letter. REDELIVERABLE: the cause is this delivery's data, which a later delivery of
 * the same event may carry readably (see function.h). */
static void failed(fn_result *out, const char *why, bool redeliverable)
{
    why = why ? why : "out of memory";
    *out = (fn_result){.status = FN_FAILED,
                       .error = why,
                       .outcome = json_pack("{s:s, s:s}", "status", "failed", "message", why),
                       .redeliverable = redeliverable};
}

/* The StorageObjectData of a storage event carrying JSON data; NULL otherwise (the rules then
 * read the bucket and name from the extension and subject). -1 when the data is malformed.
 * *UNREAD is set when the event has data that its datacontenttype says is not JSON, so it was
 * not read at all. */
static int storage_data(const cloudevent *ev, arena *a, storage_object *obj,
                        const storage_object **out, bool *unread, char *err, size_t errlen)
{
    *out = NULL;
    *unread = false;
    if (strncmp(ev->type, STORAGE_TYPE_PREFIX, strlen(STORAGE_TYPE_PREFIX)) != 0 || !ev->data ||
        ev->data_len == 0)
        return 0;
    if (ev->datacontenttype && !media_type_str_is_json(ev->datacontenttype)) {
        *unread = true;
        return 0;
    }
    char why[200];
    storage_object_status s = storage_object_parse(ev->data, ev->data_len, a, obj, why, sizeof why);
    if (s != STORAGE_OBJECT_OK) {
        snprintf(err, errlen, "data: not a StorageObjectData (%s): %s",
                 storage_object_status_name(s), why);
        return -1;
    }
    *out = obj;
    return 0;
}

static void retrain_handle(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    retrain_state *st = ctx->state;
    arena *a = ctx->arena;
    char err[512] = "";
    storage_object obj;
    const storage_object *objp;
    bool unread;
    if (storage_data(ev, a, &obj, &objp, &unread, err, sizeof err) != 0) {
        failed(out, arena_strdup(a, err), true);
        return;
    }

    const rule *r = rules_match_why(st->rules, ev, objp, err, sizeof err);
    if (!r && unread) { /* it might have matched by what the data names */
        char ct[PRT_ECHO_SIZE];
        failed(out,
               arena_printf(a,
                            "no rule matched, and the data was not read: its datacontenttype "
                            "\"%s\" is not JSON, as a Cloud Storage event's StorageObjectData is",
                            prt_str(ct, sizeof ct, ev->datacontenttype)),
               true);
        return;
    }
    if (!r) { /* a reason only when a rule refused an unsafe name: say which and why */
        *out = (fn_result){.status = FN_IGNORED,
                           .outcome =
                               err[0] ? json_pack("{s:s, s:s}", "status", "ignored", "reason", err)
                                      : json_pack("{s:s}", "status", "ignored")};
        return;
    }

    rules_vars vars;
    json_t *body = NULL;
    if (rules_vars_for_event(r, ev, objp, ctx->event_key, a, &vars) != 0 ||
        !(body = retrain_request_body(r, &vars, a, err, sizeof err))) {
        failed(out, arena_printf(a, "rule %s: %s", rules_name(r), err[0] ? err : "out of memory"),
               false);
        return;
    }

    long long budget = (long long)ctx->cfg->request_timeout_s * 1000 / 2;
    retrain_call call = {.st = st,
                         .r = r,
                         .ctx = ctx,
                         .deadline_ms =
                             clk_mono_ms() + (budget > BUDGET_MIN_MS ? budget : BUDGET_MIN_MS)};
    if (!ctx->ledger) { /* the slots that space and coalesce submissions live there */
        json_decref(body);
        retrain_retry(&call, out, 0, "no ledger to coordinate submissions with");
        return;
    }
    if (rules_action_of(r) == RULES_REGISTER)
        retrain_submit_upload(&call, body, out);
    else
        retrain_submit_run(&call, body, out);
    json_decref(body);
}

const fn_def retrain_function = {
    .name = "retrain",
    .summary = "starts Vertex AI training or registers a model when a matching object lands",
    .init = retrain_init,
    .fini = retrain_fini,
    .handle = retrain_handle,
};
