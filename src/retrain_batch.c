/* retrain_batch — the follower's part of batches (retrain_internal.h). A batch the follower
 * leased is closed: its lease sealed it (its quiet period or its deadline came) or an event
 * closed it (its marker, or min_events). What closed it is recorded on the run, and then it is
 * submitted as any queued run (retrain_queued.c), or, when its deadline came first and the rule
 * says on_timeout "expire", it ends as cancelled without reaching Google and its events become
 * `expired`: listed, and replayable one by one. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "retrain.h"
#include "retrain_internal.h"
#include "runs.h"

#define DEADLINE_EXCEEDED 4 /* google.rpc.Code */

/* What closed RUN, which its lease sealed: the earlier of its two timed conditions (the lease
 * came when the first of them held). *AT gets when it held. */
static const char *timed_reason(const rules_batch *b, const run_record *run, int64_t *at)
{
    int64_t quiet = b->quiet_period_s ? run->last_event_ms + (int64_t)b->quiet_period_s * 1000 : 0;
    int64_t wait = b->max_wait_s ? run->queued_ms + (int64_t)b->max_wait_s * 1000 : 0;
    if (quiet && (!wait || quiet <= wait)) {
        *at = quiet;
        return RUN_BATCH_QUIET;
    }
    *at = wait ? wait : run->next_check_ms;
    return b->expire ? RUN_BATCH_EXPIRED : RUN_BATCH_MAX_WAIT;
}

/* RUN expired: its events first (a crash between leaves the run to expire again), then the
 * run. */
static queued_result expire(ledger *l, const rules_batch *b, const run_record *run)
{
    char why[256];
    snprintf(why, sizeof why,
             "batch %.120s expired: max_wait_s (%d s) passed before it closed (on_timeout: "
             "expire)",
             run->batch_key, b->max_wait_s);
    int64_t n = 0;
    ledger_status ls = runs_expire_events(l, run->id, why, &n);
    run_change ch = {.state = RUN_CANCELLED, .error_code = DEADLINE_EXCEEDED, .error_message = why};
    if (ls == LEDGER_OK)
        ls = runs_update(l, run->id, &ch);
    if (ls != LEDGER_OK && ls != LEDGER_ERR_STATE) {
        log_warning("follow: run %s: could not record that it expired: %s", run->id,
                    ledger_last_error(l));
        return QUEUED_LATER;
    }
    log_warning("run %s: %s; %lld events are expired (replayable), nothing was submitted", run->id,
                why, (long long)n);
    return QUEUED_MOVED;
}

bool retrain_batch_close(retrain_state *st, ledger *l, run_record *run, queued_result *res)
{
    const rule *r = rules_find(st->rules, run->rule);
    const rules_batch *b = r ? rules_batch_of(r) : NULL;
    if (!b)
        return true; /* its rule is gone or batches no more: submitted (or failed) as it is */
    if (!run->batch_closed[0]) {
        int64_t at = 0;
        const char *why = timed_reason(b, run, &at);
        if (runs_batch_closed(l, run->id, why, at) != LEDGER_OK) {
            log_warning("follow: run %s: %s", run->id, ledger_last_error(l));
            *res = QUEUED_LATER;
            return false;
        }
        snprintf(run->batch_closed, sizeof run->batch_closed, "%s", why);
        run->closed_ms = at;
        log_info("run %s: batch %s of rule %s closed by its %s (%d events)", run->id,
                 run->batch_key, run->rule, why, run->events);
    }
    if (strcmp(run->batch_closed, RUN_BATCH_EXPIRED) == 0) {
        *res = expire(l, b, run);
        return false;
    }
    return true;
}
