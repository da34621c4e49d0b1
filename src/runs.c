/* runs — the public contract of run records over the ledger's backends (see runs.h). */
#include "runs.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_backend.h"

static const char *const state_names[] = {
    [RUN_QUEUED] = "queued",       [RUN_SUBMITTED] = "submitted", [RUN_RUNNING] = "running",
    [RUN_SUCCEEDED] = "succeeded", [RUN_FAILED] = "failed",       [RUN_CANCELLED] = "cancelled",
};
#define NSTATES ((int)(sizeof state_names / sizeof state_names[0]))

const char *run_state_name(run_state s)
{
    return (int)s >= 0 && (int)s < NSTATES ? state_names[s] : "unknown";
}

int run_state_parse(const char *name)
{
    for (int i = 0; name && i < NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

const int run_duration_le[RUN_DURATION_BUCKETS] = {60,   300,   900,   1800, 3600,
                                                   7200, 14400, 43200, 86400};

bool run_state_is_final(run_state s)
{
    return s == RUN_SUCCEEDED || s == RUN_FAILED || s == RUN_CANCELLED;
}

static bool id_valid(const char *id)
{
    if (!id || strlen(id) != RUN_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static int64_t num(const char *col)
{
    return col ? strtoll(col, NULL, 10) : 0;
}

int run_record_fill(run_record *run, const char *const cols[RUN_NCOLUMNS])
{
    memset(run, 0, sizeof *run);
    snprintf(run->id, sizeof run->id, "%s", cols[0] ? cols[0] : "");
    int st = run_state_parse(cols[4]);
    run->state = st < 0 ? RUN_QUEUED : (run_state)st;
    run->queued_ms = num(cols[5]);
    run->submitted_ms = num(cols[6]);
    run->started_ms = num(cols[7]);
    run->ended_ms = num(cols[8]);
    run->updated_ms = num(cols[9]);
    run->error_code = (int)num(cols[10]);
    run->next_check_ms = num(cols[14]);
    run->checks = (int)num(cols[15]);
    snprintf(run->after_run, sizeof run->after_run, "%s", cols[16] ? cols[16] : "");
    run->notify_state = (int)num(cols[17]);
    run->notify_tries = (int)num(cols[18]);
    run->events = (int)num(cols[19]);
    run->collecting = num(cols[21]) != 0;
    run->last_event_ms = num(cols[22]);
    snprintf(run->batch_closed, sizeof run->batch_closed, "%s", cols[23] ? cols[23] : "");
    run->closed_ms = num(cols[24]);
    snprintf(run->decision, sizeof run->decision, "%s", cols[25] ? cols[25] : "");
    if (ledger_col_dup(&run->rule, cols[1]) || ledger_col_dup(&run->batch_key, cols[20]) ||
        ledger_col_dup(&run->action, cols[2]) || ledger_col_dup(&run->resource, cols[3]) ||
        ledger_col_dup(&run->error_message, cols[11]) ||
        ledger_col_dup(&run->model_version, cols[12]) ||
        ledger_col_dup(&run->model_version_id, cols[13]) ||
        ledger_col_dup(&run->decision_json, cols[26]) || ledger_col_dup(&run->trace, cols[27])) {
        run_record_clear(run);
        return -1;
    }
    return 0;
}

void run_count_fill(run_count *c, const char *const cols[RUN_COUNTS_NCOLUMNS])
{
    memset(c, 0, sizeof *c);
    snprintf(c->rule, sizeof c->rule, "%s", cols[0] ? cols[0] : "");
    int state = run_state_parse(cols[1]);
    c->state = state < 0 ? RUN_QUEUED : (run_state)state;
    c->count = num(cols[2]);
    c->queued_events = num(cols[3]);
    for (int i = 0; i < RUN_DURATION_BUCKETS; i++)
        c->within[i] = num(cols[4 + i]);
    c->duration_ms_sum = num(cols[4 + RUN_DURATION_BUCKETS]);
    c->batches = num(cols[5 + RUN_DURATION_BUCKETS]);
    c->oldest_batch_ms = num(cols[6 + RUN_DURATION_BUCKETS]);
    c->batch_events = num(cols[7 + RUN_DURATION_BUCKETS]);
    c->oldest_ms = num(cols[8 + RUN_DURATION_BUCKETS]);
}

void run_record_clear(run_record *run)
{
    if (!run)
        return;
    free(run->rule);
    free(run->action);
    free(run->resource);
    free(run->error_message);
    free(run->model_version);
    free(run->model_version_id);
    free(run->batch_key);
    free(run->decision_json);
    free(run->trace);
    memset(run, 0, sizeof *run);
}

static void fresh_id(char id[RUN_ID_LEN + 1])
{
    unsigned char raw[RUN_ID_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, RUN_ID_LEN + 1, raw, sizeof raw);
}

ledger_status runs_begin(ledger *l, const ledger_hold *hold, const char *rule, const char *action,
                         run_record *run, bool *existed)
{
    memset(run, 0, sizeof *run);
    *existed = false;
    if (!hold || !rule || !*rule || !action || !*action)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: a run needs a hold, a rule and an action");
    char fresh[RUN_ID_LEN + 1], id[RUN_ID_LEN + 1] = "";
    fresh_id(fresh);
    ledger_status st = l->ops->run_name(l, hold, fresh, id);
    if (st == LEDGER_ERR_STATE)
        return ledger_fail(l, st, "runs: the event's claim was taken over: no run begins");
    if (st != LEDGER_OK)
        return st;
    /* Named already: begun by an earlier attempt, which may have died before the insert. */
    *existed = strcmp(id, fresh) != 0;
    if ((st = l->ops->run_insert(l, id, rule, action, hold->key)) != LEDGER_OK)
        return st;
    return l->ops->run_get(l, id, run);
}

ledger_status runs_join(ledger *l, const ledger_hold *hold, const char *id, bool *joined)
{
    *joined = false;
    if (!hold || !id_valid(id))
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: a join needs a hold and a run id");
    run_record run;
    ledger_status st = l->ops->run_get(l, id, &run);
    if (st != LEDGER_OK)
        return st;
    char named[RUN_ID_LEN + 1] = "";
    st = l->ops->run_name(l, hold, id, named);
    if (st == LEDGER_ERR_STATE)
        ledger_fail(l, st, "runs: the event's claim was taken over: it joins no run");
    else if (st == LEDGER_OK && (*joined = strcmp(named, id) == 0))
        st = l->ops->run_insert(l, id, run.rule, run.action, hold->key); /* covers it */
    run_record_clear(&run);
    return st;
}

/* The run an earlier attempt of HOLD's event listed it in, which may have died before the event
 * named it (LEDGER_ERR_NOT_FOUND: none). An event on its first attempt has had no earlier one:
 * no read. */
static ledger_status covered_before(ledger *l, const ledger_hold *hold, char id[RUN_ID_LEN + 1])
{
    return hold->attempt > 1 ? l->ops->run_covering(l, hold->key, id) : LEDGER_ERR_NOT_FOUND;
}

#define FOLLOW_UP_ROUNDS 8 /* a collecting run sealed under us: ask again, this often */

ledger_status runs_follow_up(ledger *l, const ledger_hold *hold, const char *rule,
                             const char *action, const char *after, char id[RUN_ID_LEN + 1],
                             bool *joined)
{
    id[0] = '\0';
    *joined = false;
    if (!hold || !rule || !*rule || !action || !*action || !id_valid(after))
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "runs: a follow-up needs a hold, a rule, an action and a run");
    /* Covered by a follow-up already (an earlier attempt): that one, sealed or not, never a
     * second. */
    char got[RUN_ID_LEN + 1] = "";
    ledger_status covering = covered_before(l, hold, got);
    if (covering != LEDGER_OK && covering != LEDGER_ERR_NOT_FOUND)
        return covering;
    for (int round = 0; round < FOLLOW_UP_ROUNDS; round++) {
        ledger_status st = LEDGER_OK;
        if (covering != LEDGER_OK) {
            char fresh[RUN_ID_LEN + 1];
            fresh_id(fresh);
            st = l->ops->run_collecting(l, rule, action, after, fresh, got);
            if (st == LEDGER_ERR_NOT_FOUND)
                continue; /* sealed between its insert and our read */
            bool covered = false;
            if (st == LEDGER_OK)
                st = l->ops->run_cover_collecting(l, got, hold->key, &covered);
            if (st != LEDGER_OK)
                return st;
            if (!covered)
                continue; /* sealed before we joined: the next one collects */
        }
        /* Covered first, named second: a crash between them leaves the event trained on by
         * the follow-up, never by none. */
        char named[RUN_ID_LEN + 1] = "";
        st = l->ops->run_name(l, hold, got, named);
        if (st == LEDGER_ERR_STATE)
            return ledger_fail(l, st, "runs: the event's claim was taken over: it joins no run");
        if (st != LEDGER_OK)
            return st;
        snprintf(id, RUN_ID_LEN + 1, "%s", got);
        *joined = strcmp(named, got) == 0;
        return LEDGER_OK;
    }
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE,
                       "runs: rule %s's follow-up was sealed %d times while joining it", rule,
                       FOLLOW_UP_ROUNDS);
}

#define BATCH_KEY_MAX 2048

ledger_status runs_batch_join(ledger *l, const ledger_hold *hold, const runs_batch_terms *t,
                              char id[RUN_ID_LEN + 1], int *size, bool *closed)
{
    id[0] = '\0';
    *size = 0;
    *closed = false;
    if (!hold || !t || !t->rule || !*t->rule || !t->action || !*t->action || !t->key ||
        strlen(t->key) > BATCH_KEY_MAX || t->quiet_period_s < 0 || t->max_wait_s < 0 ||
        t->min_events < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "runs: a batch needs a hold, a rule, an action, a key of at most %d "
                           "bytes and terms >= 0",
                           BATCH_KEY_MAX);
    char got[RUN_ID_LEN + 1] = "";
    ledger_status st = covered_before(l, hold, got);
    for (int round = 0; st == LEDGER_ERR_NOT_FOUND && round < FOLLOW_UP_ROUNDS; round++) {
        char fresh[RUN_ID_LEN + 1];
        fresh_id(fresh);
        st = l->ops->run_batch_open(l, t->rule, t->action, t->key, fresh, got);
        if (st == LEDGER_OK)
            st = l->ops->run_batch_cover(l, got, hold->key, t, size, closed);
        if (st == LEDGER_ERR_NOT_FOUND) /* sealed under us, or covered meanwhile: look again */
            st = l->ops->run_covering(l, hold->key, got);
        else if (st == LEDGER_OK)
            break;
    }
    if (st == LEDGER_ERR_NOT_FOUND)
        return ledger_fail(l, LEDGER_ERR_UNAVAILABLE,
                           "runs: rule %s's batch was sealed %d times while joining it", t->rule,
                           FOLLOW_UP_ROUNDS);
    if (st != LEDGER_OK)
        return st;
    /* Covered first, named second: a crash between them leaves the event in the batch. */
    char named[RUN_ID_LEN + 1] = "";
    st = l->ops->run_name(l, hold, got, named);
    if (st == LEDGER_ERR_STATE)
        return ledger_fail(l, st, "runs: the event's claim was taken over: it joins no batch");
    if (st != LEDGER_OK)
        return st;
    snprintf(id, RUN_ID_LEN + 1, "%s", named);
    if (*size == 0) { /* not joined by this attempt: say how the batch it names stands */
        run_record run;
        if ((st = l->ops->run_get(l, named, &run)) != LEDGER_OK)
            return st;
        *size = run.events;
        *closed = !run.collecting;
        run_record_clear(&run);
    }
    return LEDGER_OK;
}

ledger_status runs_batch_closed(ledger *l, const char *id, const char *why, int64_t closed_ms)
{
    if (!id_valid(id) || !why || !*why || closed_ms < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id or reason");
    return l->ops->run_batch_closed(l, id, why, closed_ms);
}

ledger_status runs_queue(ledger *l, const char *id, int delay_s)
{
    if (!id_valid(id) || delay_s < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id or delay");
    ledger_status st = l->ops->run_queue(l, id, (int64_t)delay_s * 1000);
    if (st == LEDGER_ERR_STATE)
        ledger_fail(l, st, "runs: run %s is not queued", id);
    return st;
}

/* The states a run may be in for CH to apply: forward only, and an ended run takes only fields
 * of its own state (a model version read after the end). */
static const char *from_states(run_state to)
{
    switch (to) {
    case RUN_QUEUED:
        return ",queued,";
    case RUN_SUBMITTED:
        return ",queued,submitted,";
    case RUN_RUNNING:
        return ",queued,submitted,running,";
    case RUN_SUCCEEDED:
        return ",queued,submitted,running,succeeded,";
    case RUN_FAILED:
        return ",queued,submitted,running,failed,";
    case RUN_CANCELLED:
        return ",queued,submitted,running,cancelled,";
    }
    return ",";
}

ledger_status runs_update(ledger *l, const char *id, const run_change *ch)
{
    if (!id_valid(id) || !ch || (int)ch->state < 0 || (int)ch->state >= NSTATES)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id or change");
    ledger_status st =
        l->ops->run_update(l, id, ch, run_state_name(ch->state), from_states(ch->state));
    if (st != LEDGER_ERR_STATE)
        return st;
    run_record now;
    if (l->ops->run_get(l, id, &now) == LEDGER_ERR_NOT_FOUND)
        return ledger_fail(l, LEDGER_ERR_NOT_FOUND, "runs: no run %s", id);
    ledger_fail(l, LEDGER_ERR_STATE, "runs: run %s is %s: it cannot become %s", id,
                run_state_name(now.state), run_state_name(ch->state));
    run_record_clear(&now);
    return LEDGER_ERR_STATE;
}

ledger_status runs_get(ledger *l, const char *id, run_record *run)
{
    memset(run, 0, sizeof *run);
    if (!id_valid(id))
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id");
    return l->ops->run_get(l, id, run);
}

ledger_status runs_list(ledger *l, const run_query *q, run_record *runs, size_t cap, size_t *n)
{
    *n = 0;
    if (!q || q->state < -1 || q->state >= NSTATES || (q->after_id && !id_valid(q->after_id)))
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad query (state or after_id)");
    if (cap == 0)
        return LEDGER_OK;
    run_query full = *q;
    if (full.limit <= 0)
        full.limit = 100;
    if ((size_t)full.limit > cap)
        full.limit = (int)(cap > 100000 ? 100000 : cap);
    return l->ops->run_list(l, &full, runs, cap, n);
}

ledger_status runs_events(ledger *l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1], size_t cap,
                          size_t *n)
{
    *n = 0;
    if (!id_valid(id))
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id");
    return cap == 0 ? LEDGER_OK : l->ops->run_events(l, id, keys, cap, n);
}

ledger_status runs_lease(ledger *l, const char *owner, int lease_s, int first_s, int kinds,
                         run_record *run)
{
    memset(run, 0, sizeof *run);
    if (!owner || !*owner || lease_s <= 0 || first_s < 0 || kinds < 1 || kinds > RUNS_LEASE_ANY)
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "runs: a lease needs an owner, a length and what it is for");
    char id[RUN_ID_LEN + 1] = "";
    ledger_status st =
        l->ops->run_lease(l, owner, (int64_t)lease_s * 1000, (int64_t)first_s * 1000, kinds, id);
    return st == LEDGER_OK ? l->ops->run_get(l, id, run) : st;
}

ledger_status runs_checked(ledger *l, const char *id, const char *owner, int delay_s, int checks)
{
    if (!id_valid(id) || !owner || delay_s < 0 || checks < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id, owner or delay");
    ledger_status st = l->ops->run_checked(l, id, owner, (int64_t)delay_s * 1000, checks);
    if (st == LEDGER_ERR_STATE)
        ledger_fail(l, st, "runs: run %s is followed by another follower now", id);
    return st;
}

ledger_status runs_fail_events(ledger *l, const char *id, const char *why, int64_t *n)
{
    int64_t dummy;
    *(n ? n : &dummy) = 0;
    if (!id_valid(id) || !why)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id or error");
    return l->ops->run_end_events(l, id, "failed", why, n ? n : &dummy);
}

ledger_status runs_expire_events(ledger *l, const char *id, const char *why, int64_t *n)
{
    int64_t dummy;
    *(n ? n : &dummy) = 0;
    if (!id_valid(id) || !why)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id or error");
    return l->ops->run_end_events(l, id, "expired", why, n ? n : &dummy);
}

ledger_status runs_notice_lease(ledger *l, const char *owner, int lease_s, int64_t since_ms,
                                run_record *run)
{
    memset(run, 0, sizeof *run);
    if (!owner || !*owner || lease_s <= 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: a lease needs an owner and a length");
    char id[RUN_ID_LEN + 1] = "";
    ledger_status st = l->ops->run_notice_lease(l, owner, (int64_t)lease_s * 1000, since_ms, id);
    return st == LEDGER_OK ? l->ops->run_get(l, id, run) : st;
}

ledger_status runs_noticed(ledger *l, const char *id, const char *owner, bool sent, int tries,
                           int delay_s)
{
    if (!id_valid(id) || !owner || tries < 0 || delay_s < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id, owner or delay");
    ledger_status st = l->ops->run_noticed(l, id, owner, sent, tries, (int64_t)delay_s * 1000);
    if (st == LEDGER_ERR_STATE)
        ledger_fail(l, st, "runs: run %s's notice is another follower's now", id);
    return st;
}

ledger_status runs_count(ledger *l, run_count *counts, size_t cap, size_t *n)
{
    *n = 0;
    return cap == 0 ? LEDGER_OK : l->ops->run_counts(l, counts, cap, n);
}

static bool decision_valid(const char *d)
{
    return d && (strcmp(d, RUN_DECISION_PENDING) == 0 || strcmp(d, RUN_DECISION_PROMOTING) == 0 ||
                 strcmp(d, RUN_DECISION_PROMOTED) == 0 || strcmp(d, RUN_DECISION_HELD) == 0);
}

ledger_status runs_decide(ledger *l, const char *id, const char *decision, const char *details,
                          const char *from)
{
    if (!id_valid(id) || !decision_valid(decision) || !from || from[0] != ',')
        return ledger_fail(l, LEDGER_ERR_INVALID, "runs: bad run id, decision or states");
    ledger_status st = l->ops->run_decide(l, id, decision, details, from);
    if (st == LEDGER_ERR_STATE) {
        run_record run;
        ledger_status got = runs_get(l, id, &run);
        if (got != LEDGER_OK)
            return got;
        ledger_fail(l, LEDGER_ERR_STATE, "runs: run %s is decided already (%s)", id,
                    run.decision[0] ? run.decision : "no decision");
        run_record_clear(&run);
    }
    return st;
}

ledger_status runs_decision_counts(ledger *l, decision_count *counts, size_t cap, size_t *n)
{
    *n = 0;
    return cap == 0 ? LEDGER_OK : l->ops->decision_counts(l, counts, cap, n);
}
