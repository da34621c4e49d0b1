/* runs — the ledger's record of the work an event started: one run per Vertex AI job, pipeline
 * or model upload, from queued to its end, and the events it covers.
 *
 * A run begins on the request path, under the hold of the event that starts it (runs_begin):
 * the event's record is made to name a fresh id first (only while the hold stands), then the
 * run is inserted as `queued` covering that event; both steps are idempotent. A delivery that
 * reclaims the event finds the id it named (EXISTED) and completes the insert, so a crash
 * between the steps never makes a second run. After that the run moves on
 * by runs_update: `queued` → `submitted` (Google accepted the create; its resource) → `running`
 * → `succeeded` | `failed` (Google's google.rpc.Status code and message) | `cancelled`. A
 * terminal state never changes again, and each state's time is set once, the first time the
 * run reaches it (the store's clock).
 *
 * Ownership: a run_record owns its strings; release it with run_record_clear (a function that
 * fills one overwrites it whole and leaves it zeroed on error). Errors are ledger_status values
 * with the handle's message (ledger_last_error), as in ledger.h. */
#ifndef RT_RUNS_H
#define RT_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define RUN_ID_LEN 24 /* lower-case hex, random */
#define RUN_STATE_MAX 16

typedef enum {
    RUN_QUEUED,
    RUN_SUBMITTED,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    RUN_FAILED,
    RUN_CANCELLED,
} run_state;

typedef struct {
    char id[RUN_ID_LEN + 1];
    char *rule, *action;
    char *resource; /* what Vertex made (a job, pipeline or operation name); NULL until then */
    run_state state;
    int64_t queued_ms, submitted_ms, started_ms, ended_ms, updated_ms; /* 0: not yet */
    int error_code;         /* failed: google.rpc.Status code; 0: none */
    char *error_message;    /* failed: Google's message; NULL: none */
    char *model_version;    /* the model version made: its resource name; NULL: none (yet) */
    char *model_version_id; /* and its version id */
    int events;             /* how many events it covers */
    int64_t next_check_ms;  /* when the follower looks next; 0: first_s after submitted_ms */
    int checks;             /* looks since its state last changed (the follower's backoff) */
    char after_run[RUN_ID_LEN + 1]; /* a follow-up: the run it waits for; "": none */
    int notify_state;               /* RUN_NOTICE_*: its notice of the end */
    int notify_tries;               /* notices sent that were not taken */
    /* A batch (runs_batch_join): its key; NULL when the run is none. */
    char *batch_key;
    bool collecting;       /* events still join it (a follow-up or an open batch) */
    int64_t last_event_ms; /* a batch: when its last event joined */
    char batch_closed[16]; /* a batch: what closed it (RUN_BATCH_*); "": open, or not known */
    int64_t closed_ms;     /* and when its condition held; 0: open */
    /* The promotion gate (a rule with "promote"): RUN_DECISION_*, "" when the run has none. */
    char decision[16];
    char *decision_json; /* the decision as a JSON object's text; NULL until decided */
    /* The W3C traceparent current when the run was begun (the delivery's, trace.h); NULL: none.
     * The follower makes it current again while it works on the run. */
    char *trace;
} run_record;

/* A run's promotion decision: pending (it succeeded, the gate has not decided), promoting (the
 * gate chose it and moves the alias), promoted (the alias is on its version) or held. */
#define RUN_DECISION_PENDING "pending"
#define RUN_DECISION_PROMOTING "promoting"
#define RUN_DECISION_PROMOTED "promoted"
#define RUN_DECISION_HELD "held"

/* What closed a batch. */
#define RUN_BATCH_MARKER "marker"
#define RUN_BATCH_MIN_EVENTS "min_events"
#define RUN_BATCH_QUIET "quiet_period"
#define RUN_BATCH_MAX_WAIT "max_wait"
#define RUN_BATCH_EXPIRED "expired" /* max_wait with on_timeout expire: nothing submitted */

enum { RUN_NOTICE_NONE, RUN_NOTICE_PENDING, RUN_NOTICE_SENT };

/* A change runs_update makes. NULL strings and a 0 code leave their fields as they are. A run's
 * start and end times are set once: Google's when the change carries them, else the store's
 * clock when the run reaches running or its end. */
typedef struct {
    run_state state;
    const char *resource;
    int error_code;
    const char *error_message;
    const char *model_version, *model_version_id;
    int64_t started_ms, ended_ms; /* as Google says (startTime, endTime); 0: when recorded */
    const char *decision; /* sets the run's decision when it has none yet (RUN_DECISION_PENDING) */
} run_change;

typedef struct {
    const char *rule;     /* NULL: any */
    int state;            /* a run_state, or -1: any */
    int64_t since_ms;     /* queued at or after; 0: any */
    int limit;            /* <= 0: 100 */
    const char *after_id; /* paging: runs after this one in (queued_ms, id) order; NULL: start */
    bool open_batches;    /* only batches not submitted yet (open, or closed and queued) */
    const char *model;    /* only runs whose model_version is MODEL@...; NULL: any */
} run_query;

/* Begins the run of the event HOLD holds, for RULE and ACTION (both non-empty), or finds the
 * one the event names already (*EXISTED true; its state may be anything). RUN receives it.
 * LEDGER_ERR_STATE when HOLD's claim no longer stands (do not act). */
ledger_status runs_begin(ledger *l, const ledger_hold *hold, const char *rule, const char *action,
                         run_record *run, bool *existed);

/* Folds the event HOLD holds into run ID (an event coalesced into work already going): the
 * run lists it among the events it covers and the event's record names the run. *JOINED false
 * (nothing changed) when the event names a run of its own already, begun by an earlier attempt.
 * LEDGER_ERR_STATE when HOLD's claim no longer stands; LEDGER_ERR_NOT_FOUND: no run ID. */
ledger_status runs_join(ledger *l, const ledger_hold *hold, const char *id, bool *joined);

/* Follow-up runs. An event that arrives while its rule's run AFTER is going (submitted, or
 * queued for the follower) is not folded into AFTER, which was made without it, but joins the
 * rule's follow-up: a queued run, one per rule at a time, that the follower submits once AFTER
 * has ended, covering every event that joined it. runs_follow_up finds or makes that run and
 * lists the event HOLD holds among the events it covers; the event's record names it unless it
 * names a run of its own already (*JOINED false). ID gets the follow-up. A follow-up collects
 * until the follower leases it to submit; an event arriving after that joins the next one. */
ledger_status runs_follow_up(ledger *l, const ledger_hold *hold, const char *rule,
                             const char *action, const char *after, char id[RUN_ID_LEN + 1],
                             bool *joined);

/* Batches. A batched rule's events are not submitted one by one: each joins the open batch of
 * its key, a queued run collecting events, and the follower submits the run once the batch
 * closes. runs_batch_join lists the event HOLD holds in that batch (made when there is none) and
 * makes the event's record name it, in steps that a crash between leaves mendable: an event
 * already covered by a run (an earlier attempt) names that run and joins no other. Joining is
 * one atomic step on the batch's row, so a batch never takes more than MIN_EVENTS events and an
 * event never joins a batch that a lease sealed: it opens the next one. The event that makes
 * MIN_EVENTS, or that CLOSES (the marker), closes the batch and makes it due at once; otherwise
 * the batch is due when QUIET_PERIOD_S has passed since its last event or MAX_WAIT_S since its
 * first, whichever comes first (0: not that condition), and the follower's lease seals it
 * then (runs_lease). ID gets the batch, *SIZE its events, *CLOSED whether it is closed. */
typedef struct {
    const char *rule, *action, *key;
    int quiet_period_s, max_wait_s, min_events; /* 0: no such condition */
    bool closes;                                /* the event is the batch's marker */
} runs_batch_terms;
ledger_status runs_batch_join(ledger *l, const ledger_hold *hold, const runs_batch_terms *t,
                              char id[RUN_ID_LEN + 1], int *size, bool *closed);

/* Records what closed batch ID (RUN_BATCH_*) and when its condition held, unless that is
 * recorded already. */
ledger_status runs_batch_closed(ledger *l, const char *id, const char *why, int64_t closed_ms);

/* Hands queued run ID to the follower, which submits it in DELAY_S (the request path could not:
 * Google was unavailable, or the create budget was spent). LEDGER_ERR_STATE: it is not queued. */
ledger_status runs_queue(ledger *l, const char *id, int delay_s);

/* Applies CH to run ID. LEDGER_ERR_STATE when the run has ended already or CH would take it
 * back (a running run is never submitted again); LEDGER_ERR_NOT_FOUND when there is none. */
ledger_status runs_update(ledger *l, const char *id, const run_change *ch);

ledger_status runs_get(ledger *l, const char *id, run_record *run);

/* Up to q->limit runs (at most CAP), in (queued_ms, id) order; *N is how many were filled. */
ledger_status runs_list(ledger *l, const run_query *q, run_record *runs, size_t cap, size_t *n);

/* The keys of the events run ID covers, the one that began it first; *N how many (at most
 * CAP). */
ledger_status runs_events(ledger *l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1], size_t cap,
                          size_t *n);

/* ---- following: one follower at a time looks at each open run ----------------------------
 *
 * An open run (submitted or running, with a resource) is due for a look at next_check_ms, or
 * FIRST_S after it was submitted while it has none. A queued run is due at next_check_ms once
 * it was handed to the follower (runs_queue, runs_follow_up) and the run it comes after has
 * ended; its lease seals it (no event joins it any more). KINDS says which a caller wants
 * (RUNS_LEASE_*: a follower whose create budget is spent asks for looks only); of both, a due
 * queued run goes before any look. runs_lease takes the run due the longest
 * whose follow lease is free or has expired, for OWNER (a name unique to the follower) for
 * LEASE_S seconds, in one atomic statement: followers on any number of hosts never look at a run
 * at once, and a follower that dies hands its run on when its lease ends. RUN receives it;
 * LEDGER_ERR_NOT_FOUND when no run is due. runs_checked ends the look: the next one in DELAY_S,
 * CHECKS looks counted since the last change, and the lease given back; LEDGER_ERR_STATE when
 * the lease ran out and another follower holds the run (its record stands). */
enum {
    RUNS_LEASE_LOOKS = 1,  /* open runs, to look at */
    RUNS_LEASE_QUEUED = 2, /* queued runs, to submit (these go first) */
    RUNS_LEASE_DECIDE = 4, /* succeeded runs whose promotion is pending or promoting */
    RUNS_LEASE_ANY = 7,
};
ledger_status runs_lease(ledger *l, const char *owner, int lease_s, int first_s, int kinds,
                         run_record *run);
ledger_status runs_checked(ledger *l, const char *id, const char *owner, int delay_s, int checks);

/* Notices: a run that ends has its notice pending (notify_state) until runs_noticed says it was
 * taken; a run whose promotion is pending or promoting is not due until it is decided.
 * runs_notice_lease leases the run whose pending notice is due the longest, among those that
 * ended at or after SINCE_MS (the epoch's ms), as runs_lease does (the same lease);
 * LEDGER_ERR_NOT_FOUND when none is due. runs_noticed ends the attempt: SENT, or TRIES failed
 * so far and the next in DELAY_S. */
ledger_status runs_notice_lease(ledger *l, const char *owner, int lease_s, int64_t since_ms,
                                run_record *run);
ledger_status runs_noticed(ledger *l, const char *id, const char *owner, bool sent, int tries,
                           int delay_s);

/* Run ID failed at Google: every event that names it and was recorded as done or coalesced
 * becomes a failed record with WHY as its error, so it is listed and replayed like any dead
 * letter (a replay begins a new run). *N (may be NULL) counts them. Idempotent. */
ledger_status runs_fail_events(ledger *l, const char *id, const char *why, int64_t *n);
/* The same for a batch that expired: its events become `expired` (replayable too). */
ledger_status runs_expire_events(ledger *l, const char *id, const char *why, int64_t *n);

/* How many runs RULE has in STATE, for each pair that has any; for queued runs the events they
 * cover (batches apart), and for ended ones how long they took from their first event (queued) to
 * their end: how many took at most RUN_DURATION_LE[i] seconds (cumulative), and the sum in ms. */
#define RUN_DURATION_BUCKETS 9
extern const int run_duration_le[RUN_DURATION_BUCKETS];
typedef struct {
    char rule[LEDGER_SLOT_RULE_MAX + 1];
    run_state state;
    int64_t count;
    int64_t queued_events;
    int64_t within[RUN_DURATION_BUCKETS];
    int64_t duration_ms_sum;
    int64_t batches;         /* queued: how many are batches (open, or closed and waiting) */
    int64_t oldest_batch_ms; /* and when the oldest of them began; 0: none */
    int64_t batch_events;    /* and the events they hold (not in queued_events) */
    int64_t oldest_ms;       /* when the oldest run that is no batch was queued; 0: none */
} run_count;

/* Up to CAP counts, ordered by rule then state; *N how many. One read over every run (for a
 * metrics scrape, not a hot path). */
ledger_status runs_count(ledger *l, run_count *counts, size_t cap, size_t *n);

/* Records run ID's promotion decision DECISION (RUN_DECISION_*) with DETAILS (a JSON object's
 * text; NULL keeps what is there) where its decision now is one in FROM (",pending,promoting,";
 * "," alone for none). LEDGER_ERR_STATE when it is not; LEDGER_ERR_NOT_FOUND: no run ID. */
ledger_status runs_decide(ledger *l, const char *id, const char *decision, const char *details,
                          const char *from);

/* How many runs of RULE have each decision (pairs with any), for metrics. */
typedef struct {
    char rule[LEDGER_SLOT_RULE_MAX + 1];
    char decision[16];
    int64_t count;
} decision_count;
ledger_status runs_decision_counts(ledger *l, decision_count *counts, size_t cap, size_t *n);

void run_record_clear(run_record *run);

bool run_state_is_final(run_state s);
/* "queued", "submitted", …; run_state_parse: -1 for an unknown name. */
const char *run_state_name(run_state s);
int run_state_parse(const char *name);

#endif
