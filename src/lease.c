/* lease — see lease.h. */
#include "lease.h"

#include <stdlib.h>
#include <string.h>

#include "clk.h"
#include "log.h"
#include "scoreboard.h"

#define RETRY_AFTER_DEFAULT "10"

static json_t *event_summary(const cloudevent *ev, const char *key)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", ev->id, "source", ev->source, "type",
                          ev->type, "key", key);
    if (o && ev->subject)
        json_object_set_new(o, "subject", json_string(ev->subject));
    return o;
}

json_t *lease_answer_body(const char *status, json_t *outcome, const cloudevent *ev,
                          const char *key)
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

static void retry(lease_answer *out, const char *after, const char *code, const char *msg)
{
    *out = (lease_answer){.http_status = 503, .retry_after = after, .code = code, .message = msg};
}

/* ---- taking it ------------------------------------------------------------------------------ */

/* Whether REC, found finished, is a failure that the delivery which made it caused (the function
 * said so: "redeliverable" in the outcome) rather than the event: it must not shadow this one. */
static bool redeliverable(const ledger_record *rec)
{
    if (strcmp(rec->status, "failed") != 0 || !rec->outcome)
        return false;
    json_t *o = json_loads(rec->outcome, 0, NULL);
    bool yes = json_is_true(json_object_get(o, "redeliverable"));
    json_decref(o);
    return yes;
}

lease_verdict lease_reopen(lease *ls, ledger *l, int lease_s, const char *key)
{
    *ls = (lease){.ledger = l, .reclaimed = true};
    ledger_status st = ledger_reopen(l, key, lease_s, &ls->hold);
    if (st == LEDGER_OK)
        return LEASE_OURS;
    if (st == LEDGER_ERR_STATE || st == LEDGER_ERR_NOT_FOUND)
        return LEASE_BUSY;
    log_error("ledger: reopen failed for %s: %s", key, ledger_last_error(l));
    return LEASE_UNAVAILABLE;
}

lease_verdict lease_take(lease *ls, ledger *l, int lease_s, const char *key, const ledger_event *ev)
{
    *ls = (lease){.ledger = l};
    ledger_claim_result claim;
    int64_t before = clk_mono_ms(), t0 = clk_mono_us();
    ledger_status st = ledger_claim(l, key, ev, lease_s, &claim, &ls->record);
    scoreboard_time_ledger(SB_LEDGER_CLAIM, clk_mono_us() - t0, st != LEDGER_OK);
    if (st != LEDGER_OK) {
        log_error("ledger: claim failed for %s: %s", key, ledger_last_error(l));
        return LEASE_UNAVAILABLE;
    }
    switch (claim) {
    case LEDGER_NEW:
    case LEDGER_RECLAIMED:
        ls->hold = ledger_hold_of(&ls->record);
        ls->hold.until_ms = before + (int64_t)lease_s * 1000;
        ls->reclaimed = claim == LEDGER_RECLAIMED;
        ledger_record_clear(&ls->record);
        return LEASE_OURS;
    case LEDGER_BUSY:
        ledger_record_clear(&ls->record);
        return LEASE_BUSY;
    case LEDGER_DONE:
        break;
    }
    if (!redeliverable(&ls->record))
        return LEASE_DUPLICATE;
    /* Reopened the way `retrainctl replay` does (failed -> claimed, one statement), so of
     * several such deliveries at once exactly one runs; the others are told to retry. */
    ledger_record_clear(&ls->record);
    return lease_reopen(ls, l, lease_s, key);
}

void lease_end(lease *ls)
{
    ledger_record_clear(&ls->record);
}

static void end_cleanup(void *p)
{
    lease_end(p);
}

lease *lease_in(arena *a)
{
    return arena_zalloc_owned(a, sizeof(lease), end_cleanup);
}

/* ---- keeping it over a call ---------------------------------------------------------------- */

#define HOLD_MARGIN_MS 1000

ledger_status lease_hold_for(ledger *l, ledger_hold *hold, long budget_ms, int lease_s)
{
    if (hold->until_ms > clk_mono_ms() + budget_ms + HOLD_MARGIN_MS)
        return LEDGER_OK;
    return ledger_renew(l, hold, (int)((budget_ms + 999) / 1000) + lease_s);
}

void lease_hold_done(ledger *l, ledger_hold *hold, int lease_s)
{
    if (hold->until_ms <= clk_mono_ms() + (int64_t)lease_s * 1000 + HOLD_MARGIN_MS)
        return; /* not renewed past its usual length */
    if (ledger_renew(l, hold, lease_s) != LEDGER_OK)
        log_warning("ledger: %s", ledger_last_error(l));
}

/* ---- running under it ----------------------------------------------------------------------- */

void lease_run(lease *held, const fn_def *fn, void *state, const config *cfg, const cloudevent *ev,
               arena *a, lease_answer *out)
{
    ledger *l = held->ledger;
    ledger_hold *hold = &held->hold;
    const char *key = hold->key;
    fn_context ctx = {.arena = a,
                      .cfg = cfg,
                      .event_key = key,
                      .hold = hold,
                      .reclaimed = held->reclaimed,
                      .state = state,
                      .ledger = l};
    fn_result res = {0};
    fn->handle(ev, &ctx, &res);

    if (res.status == FN_RETRY) {
        const char *why = res.error ? res.error : "transient failure";
        int64_t t0 = clk_mono_us();
        ledger_status ls = ledger_release(l, hold, why);
        scoreboard_time_ledger(SB_LEDGER_RELEASE, clk_mono_us() - t0,
                               ls != LEDGER_OK && ls != LEDGER_ERR_STATE);
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
        /* Said in the record itself, where the next delivery's claim reads it (lease_take). */
        if (!json_is_object(res.outcome)) {
            json_decref(res.outcome);
            res.outcome = json_pack("{s:s}", "status", "failed");
        }
        json_object_set_new(res.outcome, "redeliverable", json_true());
    }
    char *outcome_text = res.outcome ? json_dumps(res.outcome, JSON_COMPACT) : NULL;
    int64_t t0 = clk_mono_us();
    ledger_status ls = ledger_finish(l, hold, fn_status_ledger(res.status), outcome_text,
                                     res.status == FN_FAILED ? res.error : NULL);
    scoreboard_time_ledger(SB_LEDGER_FINISH, clk_mono_us() - t0, ls != LEDGER_OK);
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
    json_t *body = lease_answer_body(word, res.outcome, ev, key);
    if (body && res.status == FN_FAILED && res.error)
        json_object_set_new(body, "error", json_string(res.error));
    log_emit(res.status == FN_FAILED ? LOG_ERROR : LOG_INFO,
             json_pack("{s:s, s:s, s:s, s:s, s:s*}", "event_key", key, "event_id", ev->id, "source",
                       ev->source, "outcome", word, "error",
                       res.status == FN_FAILED ? res.error : NULL),
             "event %s", word);
    *out = (lease_answer){.http_status = res.status == FN_QUEUED ? 202 : 200, .body = body};
}
