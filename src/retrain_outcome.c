/* retrain_outcome — what became of one event's submission, said once: the outcome objects the
 * ledger stores and the answer shows, a retry, and which Vertex states are terminal. Used by
 * retrain.c, retrain_run.c and retrain_submit.c alike, calling none of them. */
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
