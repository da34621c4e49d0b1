/* ledger_backend — what ledger.c needs from a storage backend (internal to the ledger).
 *
 * ledger.c owns the public contract: argument checks, the claim protocol (read, then one
 * atomic upsert, then read again), and the error text. A backend supplies primitive operations,
 * each one statement or one transaction on its store, and keeps its state in `impl`.
 *
 * Every operation returns LEDGER_OK, LEDGER_ERR_NOT_FOUND (get: no such record),
 * LEDGER_ERR_STATE (finish, release, reopen: no record in the required status; ledger.c then
 * tells a missing record from one in another status) or LEDGER_ERR_UNAVAILABLE (the store
 * failed; the backend has written a message without secrets through ledger_fail()). */
#ifndef RT_LEDGER_BACKEND_H
#define RT_LEDGER_BACKEND_H

#include "alias_moves.h"
#include "ledger.h"
#include "runs.h"

#include <stdarg.h>

/* How stale a duplicate delivery may leave last_seen before the claim refreshes it. Redeliveries
 * of one event come in bursts; within a minute they cost a read each, not a synchronous write,
 * and gc (retention in days) loses nothing by a minute's imprecision. */
#define LEDGER_TOUCH_MS 60000

typedef struct ledger_ops {
    const char *name;
    /* True when the store's times come from this host's clock (SQLite): a live lease seen by a
     * read is then BUSY at once, without taking the write lock. */
    bool local_clock;
    /* Fills REC with the record of KEY. */
    ledger_status (*get)(ledger *l, const char *key, ledger_record *rec);
    /* One atomic statement: inserts KEY as claimed (attempts 1), or, when KEY is claimed with an
     * expired lease, takes it over (attempts + 1, new lease, last_seen now). *TAKEN tells whether
     * either happened; REC then holds the row as written. */
    ledger_status (*upsert)(ledger *l, const char *key, const ledger_event *ev, int lease_s,
                            ledger_record *rec, bool *taken);
    /* Sets last_seen to now when it is older than LEDGER_TOUCH_MS. */
    ledger_status (*touch)(ledger *l, const char *key);
    /* Where H's claim still stands (claimed, attempts = H->attempt): -> STATUS, lease cleared. */
    ledger_status (*finish)(ledger *l, const ledger_hold *h, const char *status,
                            const char *outcome, const char *error);
    /* Where H's claim still stands: the lease expired and ERROR noted. */
    ledger_status (*release)(ledger *l, const ledger_hold *h, const char *error);
    /* Where H's claim still stands: the lease runs LEASE_S seconds from now. */
    ledger_status (*renew)(ledger *l, const ledger_hold *h, int lease_s);
    /* failed -> claimed for LEASE_S, attempts + 1. */
    ledger_status (*reopen)(ledger *l, const char *key, int lease_s);
    /* Q is complete (limit resolved to 1..CAP). */
    ledger_status (*list)(ledger *l, const ledger_query *q, ledger_record *recs, size_t cap,
                          size_t *n);
    ledger_status (*gc)(ledger *l, int64_t older_than_s, int64_t *removed);
    ledger_status (*ping)(ledger *l);
    /* One atomic upsert of RULE's slot (see ledger_rule_slot): *TAKEN tells whether EVENT_KEY
     * now holds it; SLOT then holds the row as written. */
    ledger_status (*slot_take)(ledger *l, const char *rule, int min_interval_s,
                               const char *event_key, const char *replace, ledger_slot *slot,
                               bool *taken);
    /* Fills SLOT, or LEDGER_ERR_NOT_FOUND. */
    ledger_status (*slot_get)(ledger *l, const char *rule, ledger_slot *slot);
    /* Sets the resource where EVENT_KEY holds RULE; LEDGER_ERR_STATE when no row changed. */
    ledger_status (*slot_set_resource)(ledger *l, const char *rule, const char *event_key,
                                       const char *resource);
    /* Deletes RULE's slot where EVENT_KEY holds it (no row is not an error). */
    ledger_status (*slot_free)(ledger *l, const char *rule, const char *event_key);
    /* Runs (runs.h; RUN_COLUMNS below). Where H's claim stands, the event names NEW_ID unless
     * it names a run already; ID gets the run it names. LEDGER_ERR_STATE when H's claim no
     * longer stands. */
    ledger_status (*run_name)(ledger *l, const ledger_hold *h, const char *new_id,
                              char id[RUN_ID_LEN + 1]);
    /* Inserts run ID (queued, now) unless it exists, and lists EVENT_KEY among the events it
     * covers unless it is: each part idempotent, so a crash between them is mended by the
     * retry. */
    ledger_status (*run_insert)(ledger *l, const char *id, const char *rule, const char *action,
                                const char *event_key);
    /* CH to run ID, whose state becomes STATE, where its state now is one in FROM (",a,b,");
     * LEDGER_ERR_STATE when no row changed. */
    ledger_status (*run_update)(ledger *l, const char *id, const run_change *ch, const char *state,
                                const char *from);
    /* Fills RUN, or LEDGER_ERR_NOT_FOUND. */
    ledger_status (*run_get)(ledger *l, const char *id, run_record *run);
    /* Q is complete (limit resolved to 1..CAP). */
    ledger_status (*run_list)(ledger *l, const run_query *q, run_record *runs, size_t cap,
                              size_t *n);
    ledger_status (*run_events)(ledger *l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1],
                                size_t cap, size_t *n);
    /* One atomic statement: the run due the longest whose follow lease is free or expired
     * becomes OWNER's for LEASE_MS, and stops collecting; ID gets it. Due: an open run
     * (submitted or running, with a resource) at next_check_ms, or submitted_ms + FIRST_MS
     * while it has none; a queued run handed to the follower (next_check_ms set) at
     * next_check_ms, once the run it comes after (after_run) has ended. KINDS (RUNS_LEASE_*)
     * says which; queued runs go first. LEDGER_ERR_NOT_FOUND when none is due. */
    ledger_status (*run_lease)(ledger *l, const char *owner, int64_t lease_ms, int64_t first_ms,
                               int kinds, char id[RUN_ID_LEN + 1]);
    /* Where OWNER holds run ID's lease: next check in DELAY_MS, checks = CHECKS, lease given
     * back. LEDGER_ERR_STATE when OWNER holds it no more. */
    ledger_status (*run_checked)(ledger *l, const char *id, const char *owner, int64_t delay_ms,
                                 int checks);
    /* The events that name run ID and were recorded as done or coalesced become STATUS
     * (failed or expired) with ERROR (replayable); *N counts them. */
    ledger_status (*run_end_events)(ledger *l, const char *id, const char *status,
                                    const char *error, int64_t *n);
    /* The run that covers EVENT_KEY (the latest, if several); LEDGER_ERR_NOT_FOUND: none. */
    ledger_status (*run_covering)(ledger *l, const char *event_key, char id[RUN_ID_LEN + 1]);
    /* RULE's open batch KEY, inserted as NEW_ID (queued, collecting, no event yet) unless there
     * is one; ID gets it. */
    ledger_status (*run_batch_open)(ledger *l, const char *rule, const char *action,
                                    const char *key, const char *new_id, char id[RUN_ID_LEN + 1]);
    /* One atomic step: where batch ID is collecting and does not list EVENT_KEY yet, lists it,
     * counts it and sets when the batch is due (runs_batch_join: T's terms; closed at once when
     * T->closes or it reaches T->min_events). *SIZE and *CLOSED: the batch after the step.
     * LEDGER_ERR_NOT_FOUND when it did not happen (ID is sealed, or lists EVENT_KEY already). */
    ledger_status (*run_batch_cover)(ledger *l, const char *id, const char *event_key,
                                     const runs_batch_terms *t, int *size, bool *closed);
    /* Sets batch_closed = WHY and closed_ms = CLOSED_MS on run ID where batch_closed is NULL. */
    ledger_status (*run_batch_closed)(ledger *l, const char *id, const char *why,
                                      int64_t closed_ms);
    /* Queued run ID (state queued) is the follower's to submit in DELAY_MS; LEDGER_ERR_STATE
     * when it is not queued. */
    ledger_status (*run_queue)(ledger *l, const char *id, int64_t delay_ms);
    /* RULE's collecting run (the follow-up that events still join), inserted as NEW_ID (queued,
     * collecting, after AFTER, due at once) unless there is one; ID gets it. A new one makes
     * AFTER due for a look now, so that its end is seen soon. NOT_FOUND when the one there was
     * sealed between the two steps (ask again). */
    ledger_status (*run_collecting)(ledger *l, const char *rule, const char *action,
                                    const char *after, const char *new_id, char id[RUN_ID_LEN + 1]);
    /* Lists EVENT_KEY among the events run ID covers, only while ID is collecting, in one
     * statement that a lease's seal waits for; *COVERED: it is listed (now or before). */
    ledger_status (*run_cover_collecting)(ledger *l, const char *id, const char *event_key,
                                          bool *covered);
    /* One atomic statement: the ended run whose notice is pending and due the longest (ended
     * at or after SINCE_MS, its follow lease free) becomes OWNER's for LEASE_MS; ID gets it.
     * LEDGER_ERR_NOT_FOUND when none is due. */
    ledger_status (*run_notice_lease)(ledger *l, const char *owner, int64_t lease_ms,
                                      int64_t since_ms, char id[RUN_ID_LEN + 1]);
    /* Where OWNER holds run ID's lease: SENT, its notice is done; else TRIES notices failed and
     * the next is due in DELAY_MS. The lease is given back. LEDGER_ERR_STATE: not OWNER's. */
    ledger_status (*run_noticed)(ledger *l, const char *id, const char *owner, bool sent, int tries,
                                 int64_t delay_ms);
    /* Runs by (rule, state), ordered so, at most CAP. */
    ledger_status (*run_counts)(ledger *l, run_count *counts, size_t cap, size_t *n);
    /* Run ID's decision becomes DECISION (DETAILS: NULL keeps them) where it is one in FROM
     * (",a,b,"; "" stands for none); LEDGER_ERR_STATE when no row changed. */
    ledger_status (*run_decide)(ledger *l, const char *id, const char *decision,
                                const char *details, const char *from);
    /* How many event records have STATUS (a valid ledger status). */
    ledger_status (*count_status)(ledger *l, const char *status, int64_t *n);
    /* Runs by (rule, decision), where they have one, at most CAP. */
    ledger_status (*decision_counts)(ledger *l, decision_count *counts, size_t cap, size_t *n);
    /* Appends M to the alias audit (seq and at_ms: the store's). */
    ledger_status (*move_add)(ledger *l, const alias_move *m);
    /* Q is complete (limit resolved to 1..CAP); newest first. */
    ledger_status (*move_list)(ledger *l, const alias_move_query *q, alias_move *out, size_t cap,
                               size_t *n);
    /* One atomic statement on token bucket NAME (full, CAPACITY tokens, when first used),
     * refilled at PER_MS tokens a millisecond: takes one token when there is one. */
    ledger_status (*budget_take)(ledger *l, const char *name, double capacity, double per_ms,
                                 bool *granted);
    void (*close)(ledger *l);
} ledger_ops;

struct ledger {
    const ledger_ops *ops;
    void *impl;
    char err[LEDGER_ERR_MAX];
    bool lost; /* set by the backend: this handle can never work again (see ledger_lost) */
};

/* Backend constructors: fill L->ops and L->impl from URL (scheme included), or write ERR (no
 * secrets) and return an error. CREATE: a SQLite file that is missing or empty gets a new
 * ledger (ledger_create); otherwise it is refused (ledger_open). PostgreSQL's schema lives in
 * the server, which the pool never creates, so it migrates either way. */
ledger_status ledger_sqlite_open(ledger *l, const char *url, bool create, char err[LEDGER_ERR_MAX]);
ledger_status ledger_pg_open(ledger *l, const char *url, char err[LEDGER_ERR_MAX]);

/* True once SQLite faulted on a mapped file in this process (ledger_sqlite_file.h). */
bool ledger_sqlite_faulted(void);

/* Records the handle's last error (printf-style) and returns STATUS, for one-line error paths. */
ledger_status ledger_fail(ledger *l, ledger_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SELECT column list every backend reads records with, in this order. */
#define LEDGER_COLUMNS                                                                             \
    "key, source, id, type, subject, event_time, status, first_seen_ms, last_seen_ms, "            \
    "lease_until_ms, attempts, last_error, outcome, event_json, run_id"
#define LEDGER_NCOLUMNS 15

/* *DST = a copy of SRC (NULL stays NULL): 0, or -1 on OOM. */
int ledger_col_dup(char **dst, const char *src);

/* Fills REC from column texts in LEDGER_COLUMNS order (NULL for SQL NULL). -1 on OOM. */
int ledger_record_fill(ledger_record *rec, const char *const cols[LEDGER_NCOLUMNS]);

/* Fills SLOT from column texts: event_key, resource, submitted_ms, age_ms. -1 on OOM. */
#define LEDGER_SLOT_COLUMNS "event_key, resource, submitted_ms"
int ledger_slot_fill(ledger_slot *slot, const char *const cols[4]);

/* The SELECT column list every backend reads runs with (from ledger_runs AS r), in this order;
 * the last is how many events the run covers. */
#define RUN_COLUMNS                                                                                \
    "r.id, r.rule, r.action, r.resource, r.state, r.queued_ms, r.submitted_ms, r.started_ms, "     \
    "r.ended_ms, r.updated_ms, r.error_code, r.error_message, r.model_version, "                   \
    "r.model_version_id, r.next_check_ms, r.checks, r.after_run, r.notify_state, r.notify_tries,"  \
    " (SELECT count(*) FROM ledger_run_events e WHERE e.run_id = r.id), r.batch_key,"              \
    " r.collecting, r.last_event_ms, r.batch_closed, r.closed_ms, r.decision, r.decision_json,"    \
    " r.trace"
#define RUN_NCOLUMNS 28
/* The run counts' query (run_count, in this order); the buckets match run_duration_le. */
#define RUN_DURATION_LE(s) " sum(CASE WHEN ended_ms - queued_ms <= " #s "000 THEN 1 ELSE 0 END),"
#define RUN_COUNTS_EVENTS "(SELECT count(*) FROM ledger_run_events e WHERE e.run_id = r.id)"
#define RUN_COUNTS_SELECT                                                                          \
    "SELECT rule, state, count(*), sum(CASE WHEN state = 'queued' AND batch_key IS NULL"           \
    " THEN " RUN_COUNTS_EVENTS " ELSE 0 END)," RUN_DURATION_LE(60) RUN_DURATION_LE(300)            \
        RUN_DURATION_LE(900) RUN_DURATION_LE(1800) RUN_DURATION_LE(3600) RUN_DURATION_LE(7200)     \
            RUN_DURATION_LE(14400) RUN_DURATION_LE(43200) RUN_DURATION_LE(                         \
                86400) " coalesce(sum(ended_ms - queued_ms), 0),"                                  \
                       " sum(CASE WHEN batch_key IS NOT NULL THEN 1 ELSE 0 END),"                  \
                       " min(CASE WHEN batch_key IS NOT NULL THEN queued_ms END),"                 \
                       " sum(CASE WHEN batch_key IS NOT NULL THEN " RUN_COUNTS_EVENTS              \
                       " ELSE 0 END),"                                                             \
                       " min(CASE WHEN batch_key IS NULL THEN queued_ms END)"                      \
                       " FROM ledger_runs r GROUP BY rule, state ORDER BY rule, state"
#define RUN_COUNTS_NCOLUMNS (4 + RUN_DURATION_BUCKETS + 5)
/* Fills C from column texts in RUN_COUNTS_SELECT order. */
void run_count_fill(run_count *c, const char *const cols[RUN_COUNTS_NCOLUMNS]);

/* SQL: the ended runs gc collects (untouched since before the cutoff, given as ?1 or $1). */
#define RUN_GC_WHERE(cutoff)                                                                       \
    " state IN ('succeeded', 'failed', 'cancelled') AND updated_ms < " cutoff
/* SQL, in a WHERE over ledger_runs AS r: the run r comes after has ended (or there is none). */
#define RUN_AFTER_ENDED                                                                            \
    "(r.after_run IS NULL OR NOT EXISTS (SELECT 1 FROM ledger_runs w WHERE w.id = r.after_run"     \
    " AND w.state NOT IN ('succeeded', 'failed', 'cancelled')))"
/* SQL: the SET list of a batch's cover (run_batch_cover), given the texts of its parameters:
 * NOW (ms), QUIET and WAIT (ms, 0: none), MIN (events, 0: none) and CLOSES (1: the marker).
 * Every expression reads the row as it was before the step. */
#define RUN_BATCH_CLOSES(min, closes)                                                              \
    "(" closes " = 1 OR (" min " > 0 AND batch_size + 1 >= " min "))"
#define RUN_BATCH_COVER_SET(now, quiet, wait, min, closes)                                         \
    " batch_size = batch_size + 1, last_event_ms = " now ", updated_ms = " now ","                 \
    " collecting = CASE WHEN " RUN_BATCH_CLOSES(                                                   \
        min, closes) " THEN 0 ELSE 1 END,"                                                         \
                     " batch_closed = CASE WHEN " closes " = 1 THEN '" RUN_BATCH_MARKER "'"        \
                     "  WHEN " RUN_BATCH_CLOSES(                                                   \
                         min, closes) " THEN '" RUN_BATCH_MIN_EVENTS "' END,"                      \
                                      " closed_ms = CASE WHEN " RUN_BATCH_CLOSES(                  \
                                          min,                                                     \
                                          closes) " THEN " now " END,"                             \
                                                  " next_check_ms = CASE WHEN " RUN_BATCH_CLOSES(  \
                                                      min,                                         \
                                                      closes) " THEN " now "  WHEN " quiet         \
                                                              " <= 0 AND " wait " <= 0 THEN NULL"  \
                                                              "  WHEN " quiet                      \
                                                              " <= 0 THEN queued_ms + " wait       \
                                                              "  WHEN " wait " <= 0 THEN " now     \
                                                              " + " quiet "  WHEN " now            \
                                                              " + " quiet " < queued_ms + " wait   \
                                                              " THEN " now " + " quiet             \
                                                              "  ELSE queued_ms + " wait " END"
/* The SELECT column list of the alias audit, in this order. */
#define ALIAS_MOVE_COLUMNS                                                                         \
    "seq, model, alias, from_version, to_version, metric, value, run_id, actor, why, at_ms"
#define ALIAS_MOVE_NCOLUMNS 11
/* Fills M from column texts in ALIAS_MOVE_COLUMNS order. -1 on OOM. */
int alias_move_fill(alias_move *m, const char *const cols[ALIAS_MOVE_NCOLUMNS]);

/* Fills RUN from column texts in RUN_COLUMNS order (NULL for SQL NULL). -1 on OOM. */
int run_record_fill(run_record *run, const char *const cols[RUN_NCOLUMNS]);

/* True for done, failed, coalesced and ignored. */
bool ledger_status_is_final(const char *status);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t ledger_now_ms(void);

#endif
