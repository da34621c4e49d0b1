/* retrain_outcome — what became of one event's submission, said once: the outcome objects the
 * ledger stores and the answer shows, the mapping of a Vertex failure to a dead letter or a
 * retry, and which Vertex states are terminal. Used by retrain.c and retrain_submit.c alike,
 * calling neither. */
#include "retrain.h"
#include "retrain_internal.h"

#include <stdarg.h>
#include <string.h>

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
        /* Google's error.code on an HTTP error is the HTTP status it answered with. */
        retrain_run_failed(c, res->http_status >= 400 ? (int)res->http_status : 0,
                           res->message[0] ? res->message : res->status);
        return;
    }
    /* Google kept failing until our deadline: a run begun is left to the follower, which
     * submits it when Google answers again (finding by label what this call may have made). */
    if (retrain_run_queue(c, what, vtx_err_name(e), res->message, -1, out) == 0)
        return;
    int after = res->retry_after_s > 0 && res->retry_after_s < 3600 ? (int)res->retry_after_s : 0;
    retrain_retry(c, out, after, "%s: %s: %s", what, vtx_err_name(e), res->message);
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

json_t *retrain_outcome_queued(const char *rule, const char *action, const char *reason)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "status", "queued", "rule", rule, "action", action,
                     "reason", reason);
}

json_t *retrain_outcome_batched(const char *rule, const char *action, const char *batch, int events,
                                bool closed)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "status", "batched", "rule", rule, "action",
                     action, "batch", batch, "batch_events", events, "closed", closed);
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
