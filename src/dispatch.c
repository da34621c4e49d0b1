/* dispatch — see dispatch.h. */
#include "dispatch.h"

#include <stdlib.h>

#include "log.h"

#define RETRY_AFTER_DEFAULT "10"

static json_t *event_summary(const cloudevent *ev, const char *key)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", ev->id, "source", ev->source, "type",
                          ev->type, "key", key);
    if (o && ev->subject)
        json_object_set_new(o, "subject", json_string(ev->subject));
    return o;
}

json_t *dispatch_body(const char *status, json_t *outcome, const cloudevent *ev, const char *key)
{
    json_t *body = outcome; /* stolen: ours to extend in place */
    if (!json_is_object(body)) {
        json_decref(body);
        body = json_object();
    }
    if (!body)
        return NULL;
    json_object_set_new(body, "status", json_string(status));
    json_object_set_new(body, "event", event_summary(ev, key));
    return body;
}

static void retry(dispatch_answer *out, const char *after, const char *code, const char *msg)
{
    *out =
        (dispatch_answer){.http_status = 503, .retry_after = after, .code = code, .message = msg};
}

void dispatch_event(const fn_def *fn, void *state, const config *cfg, ledger *l,
                    const cloudevent *ev, const ledger_hold *hold, bool reclaimed, arena *a,
                    dispatch_answer *out)
{
    const char *key = hold->key;
    fn_context ctx = {.arena = a,
                      .cfg = cfg,
                      .event_key = key,
                      .hold = hold,
                      .reclaimed = reclaimed,
                      .state = state,
                      .ledger = l};
    fn_result res = {0};
    fn->handle(ev, &ctx, &res);

    if (res.status == FN_RETRY) {
        const char *why = res.error ? res.error : "transient failure";
        ledger_status ls = ledger_release(l, hold, why);
        if (ls == LEDGER_ERR_STATE) /* another delivery holds it now: its lease is not ours */
            log_info("ledger: %s", ledger_last_error(l));
        else if (ls != LEDGER_OK)
            log_error("ledger: could not release %s: %s", key, ledger_last_error(l));
        log_emit(LOG_WARNING, json_pack("{s:s, s:s}", "event_key", key, "error", why),
                 "transient failure, the delivery will be retried");
        json_decref(res.outcome);
        char *after = res.retry_after_s > 0 ? arena_printf(a, "%d", res.retry_after_s) : NULL;
        retry(out, after ? after : RETRY_AFTER_DEFAULT, "retry", why);
        return;
    }

    if (res.status == FN_FAILED && res.redeliverable) {
        /* Said in the record itself, where the next delivery's claim reads it (service.c). */
        if (!json_is_object(res.outcome)) {
            json_decref(res.outcome);
            res.outcome = json_pack("{s:s}", "status", "failed");
        }
        json_object_set_new(res.outcome, "redeliverable", json_true());
    }
    char *outcome_text = res.outcome ? json_dumps(res.outcome, JSON_COMPACT) : NULL;
    ledger_status ls = ledger_finish(l, hold, fn_status_ledger(res.status), outcome_text,
                                     res.status == FN_FAILED ? res.error : NULL);
    free(outcome_text);
    if (ls != LEDGER_OK) {
        /* The work happened but is not recorded: ask for a retry, which reclaims the event and
         * lets the function find what it did instead of doing it twice. */
        log_error("ledger: could not record %s: %s", key, ledger_last_error(l));
        json_decref(res.outcome);
        retry(out, RETRY_AFTER_DEFAULT, "ledger_unavailable",
              "the outcome could not be recorded; retry later");
        return;
    }
    const char *word = fn_status_word(res.status);
    json_t *st = json_is_object(res.outcome) ? json_object_get(res.outcome, "status") : NULL;
    if (json_is_string(st))
        word = arena_strdup(a, json_string_value(st));
    json_t *body = dispatch_body(word, res.outcome, ev, key);
    if (body && res.status == FN_FAILED && res.error)
        json_object_set_new(body, "error", json_string(res.error));
    log_emit(res.status == FN_FAILED ? LOG_ERROR : LOG_INFO,
             json_pack("{s:s, s:s, s:s, s:s, s:s*}", "event_key", key, "event_id", ev->id, "source",
                       ev->source, "outcome", word, "error",
                       res.status == FN_FAILED ? res.error : NULL),
             "event %s", word);
    *out = (dispatch_answer){.http_status = 200, .body = body};
}
