/* ledger — durable de-duplication of CloudEvents by (source, id), shared by every worker of
 * every host.
 *
 * A claim is a lease. ledger_claim() either inserts a new record (LEDGER_NEW), finds a finished
 * one (LEDGER_DONE, with its stored status and outcome), finds a live lease held by someone else
 * (LEDGER_BUSY), or takes over a lease that expired because its holder died or released it
 * (LEDGER_RECLAIMED: the previous attempt may have acted, so the caller must look for what it
 * left behind before acting again). Each claim is one atomic statement/transaction.
 *
 * Every claim counts an attempt, and the holder is known by it (ledger_hold: the key and the
 * attempt its claim made). finish, release and renew change the record only while that claim
 * stands, so a holder whose lease ran out and was taken over can neither record over the new
 * holder nor hand its lease to a third delivery. A holder about to do something it cannot take
 * back (create a job, upload a model) first renews its lease to outlast the call, and gives it
 * its usual length again after: if the renewal fails, someone else holds the event and the
 * holder must not act.
 *
 * Backends, chosen by URL: "sqlite:///path/to/ledger.db" (default; WAL, synchronous=FULL, one
 * file shared by every worker on the host) and "postgres://user:pass@host:port/db" (shared by
 * every host). The password never reaches a log or an error message.
 *
 * Ownership: a ledger handle belongs to one process (open it after fork). Records returned
 * through ledger_record own their strings; release them with ledger_record_clear(), or, on the
 * request path, let the arena do it (ledger_slot_in, lease_in). A function
 * that fills a record overwrites it whole (clear it first if it held strings) and leaves it
 * zeroed when it returns an error.
 *
 * Times are milliseconds since the epoch, from the store's clock (PostgreSQL's now(); this
 * host's for SQLite). last_seen is the last receipt, refreshed by a duplicate claim at most once
 * a minute (so redelivery bursts cost reads, not writes). A lost PostgreSQL connection fails the
 * call that finds it with LEDGER_ERR_UNAVAILABLE and is re-established by the next call. */
#ifndef RT_LEDGER_H
#define RT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define LEDGER_KEY_HEX 64 /* BLAKE2b-256 of source and id, lower-case hex */
#define LEDGER_ERR_MAX 256

typedef struct ledger ledger;

typedef enum {
    LEDGER_OK = 0,
    LEDGER_ERR_UNAVAILABLE, /* cannot reach or write the store: answer 503, never 200 */
    LEDGER_ERR_NOT_FOUND,
    LEDGER_ERR_STATE,   /* the record is not in a state that allows the call */
    LEDGER_ERR_INVALID, /* bad URL or argument */
} ledger_status;

typedef enum {
    LEDGER_NEW,
    LEDGER_DONE,
    LEDGER_BUSY,
    LEDGER_RECLAIMED,
} ledger_claim_result;

/* What the caller knows about the event when it claims it. Strings may be NULL except source
 * and id. event_json is the structured form, stored for replay; when it is NULL and
 * event_json_fn is set, the ledger asks for it only when it writes the record, so a duplicate
 * (the hot path) never pays for the serialization. The text event_json_fn returns is malloc'd
 * and freed by the ledger. */
typedef struct {
    const char *source, *id, *type, *subject, *event_time;
    const char *event_json;
    char *(*event_json_fn)(void *arg);
    void *event_json_arg;
} ledger_event;

typedef struct {
    char key[LEDGER_KEY_HEX + 1];
    char *source, *id, *type, *subject, *event_time;
    char status[16]; /* claimed, done, failed, coalesced, ignored */
    int64_t first_seen_ms, last_seen_ms, lease_until_ms;
    int attempts;
    char *last_error; /* NULL when none */
    char *outcome;    /* JSON text, NULL when none */
    char *event_json; /* NULL when none */
    char *run_id;     /* the run it started or is covered by (runs.h); NULL when none */
} ledger_record;

/* Who holds a claim: the record's key and the attempt number the claim (or reopen) made, and
 * until when (this process's monotonic clock, clk.h) its lease surely stands: set from the time
 * just before the statement that took or renewed it, so it is never later than the store's own
 * expiry; 0 when unknown. */
typedef struct {
    char key[LEDGER_KEY_HEX + 1];
    int attempt;
    int64_t until_ms;
} ledger_hold;

/* The hold REC (as ledger_claim returned it on NEW or RECLAIMED) stands for. */
ledger_hold ledger_hold_of(const ledger_record *rec);

typedef struct {
    const char *status; /* NULL: any */
    int64_t since_ms;   /* first_seen >= since; 0: any */
    int limit;          /* <= 0: 100 */
    /* paging: records after this key in (first_seen, key) order; NULL: from the start */
    const char *after_key;
    const char *id;      /* only records with this CloudEvent id (any source); NULL: any */
    const char *subject; /* only records with this subject ("objects/NAME"); NULL: any */
} ledger_query;

/* The key of (SOURCE, ID): BLAKE2b-256 over both, length-prefixed so ("ab","c") and ("a","bc")
 * differ, as lower-case hex. */
void ledger_key(const char *source, const char *id, char out[LEDGER_KEY_HEX + 1]);

/* Opens the ledger at URL, which must exist: a SQLite file that is missing, empty or holds no
 * ledger is refused with LEDGER_ERR_UNAVAILABLE, never created, so that a ledger deleted or
 * replaced under a running pool is reported instead of silently begun again empty (a
 * redelivery would then run a second time). An older schema is migrated. ERR gets a message
 * without secrets. */
ledger_status ledger_open(const char *url, ledger **out, char err[LEDGER_ERR_MAX]);
/* The same, creating the SQLite file (and its directory) and the schema when the file is
 * missing or empty: for the one place that decides a ledger begins here, the pool's start. */
ledger_status ledger_create(const char *url, ledger **out, char err[LEDGER_ERR_MAX]);
/* Closes L (NULL is fine). A handle lost to a fault is left as it stands (see ledger_lost). */
void ledger_close(ledger *l);

/* True when this process must stop using the ledger: L's SQLite file was deleted or replaced
 * under it, or SQLite faulted on a mapped file in this process (L may be NULL for that alone).
 * Every call on L then fails with LEDGER_ERR_UNAVAILABLE; the process should answer what it
 * holds with 503 and exit, and a fresh process open the ledger at its path again. Never true
 * for PostgreSQL, whose lost connections come back by themselves. */
bool ledger_lost(const ledger *l);

/* Claims KEY for LEASE_S seconds. On LEDGER_DONE, REC (if not NULL) receives the stored record;
 * on NEW/RECLAIMED/BUSY it receives the record as it now stands. */
ledger_status ledger_claim(ledger *l, const char *key, const ledger_event *ev, int lease_s,
                           ledger_claim_result *result, ledger_record *rec);

/* Records the final STATUS ("done", "failed", "coalesced", "ignored") with OUTCOME (JSON text,
 * may be NULL) and ERROR (may be NULL; NULL keeps an earlier error) on the record HOLD holds
 * (its lease live or expired). LEDGER_ERR_STATE when the record is final or another claim has
 * taken it over since; LEDGER_ERR_NOT_FOUND when there is none. */
ledger_status ledger_finish(ledger *l, const ledger_hold *hold, const char *status,
                            const char *outcome, const char *error);

/* Gives HOLD's claim back (transient failure): the record stays, with ERROR noted and its lease
 * expired, so the next delivery reclaims it at once. LEDGER_ERR_STATE as for finish. */
ledger_status ledger_release(ledger *l, const ledger_hold *hold, const char *error);

/* Makes HOLD's lease run LEASE_S seconds from now (longer or shorter than it did), and moves
 * HOLD's until_ms. LEDGER_ERR_STATE when HOLD no longer holds the event: the caller must not
 * act on it. */
ledger_status ledger_renew(ledger *l, ledger_hold *hold, int lease_s);

/* Whether a record in STATUS can be re-opened: failed (a dead letter) or expired (of a batch
 * that timed out). Such a record may still change, so its answer is not kept. */
bool ledger_status_replayable(const char *status);

/* Re-opens a replayable record as claimed by the caller for LEASE_S (for `retrainctl replay`);
 * attempts + 1; it names no run any more (the replay begins a new one; the old run keeps it); HOLD
 * (may be NULL) receives the new hold. LEDGER_ERR_STATE unless the record is replayable. */
ledger_status ledger_reopen(ledger *l, const char *key, int lease_s, ledger_hold *hold);

ledger_status ledger_get(ledger *l, const char *key, ledger_record *rec);
/* Up to q->limit records, ordered by first_seen then key; *N is set to how many were filled. */
ledger_status ledger_list(ledger *l, const ledger_query *q, ledger_record *recs, size_t cap,
                          size_t *n);
/* How many records have STATUS ("failed": the dead letters), into *N. */
ledger_status ledger_count_status(ledger *l, const char *status, int64_t *n);
/* Deletes final records whose last_seen is older than OLDER_THAN_S seconds; *REMOVED counts. */
ledger_status ledger_gc(ledger *l, int64_t older_than_s, int64_t *removed);
/* Cheap liveness check (for /readyz); reconnects when the connection was lost. */
ledger_status ledger_ping(ledger *l);

/* The last error message (no secrets), for logs. */
const char *ledger_last_error(const ledger *l);

/* ---- burst control: one submission slot per rule ------------------------------------------
 *
 * A rule's slot names the event that last submitted work for the rule, the resource that work
 * became (once known) and when it was taken. ledger_rule_slot() is one atomic statement, so among
 * any number of workers on any number of hosts asking at once exactly one gets LEDGER_SLOT_TAKEN;
 * the others get LEDGER_SLOT_HELD with the holder. The slot is taken when it is free, when it was
 * taken at least MIN_INTERVAL_S seconds ago, when EVENT_KEY already holds it (a retry or a
 * reclaimed delivery of the holder), or when REPLACE (may be NULL) holds it: the caller found
 * the holder's work finished and replaces it. Taking it from another event clears its resource
 * and restarts its clock (the store's clock, so hosts agree). RULE is any non-empty name of at
 * most LEDGER_SLOT_RULE_MAX bytes (rule names, or a pseudo-rule such as a quota's name). */
#define LEDGER_SLOT_RULE_MAX 255

typedef enum {
    LEDGER_SLOT_TAKEN, /* the caller submits; the slot now names EVENT_KEY */
    LEDGER_SLOT_HELD,  /* another event holds it: see the slot */
} ledger_slot_result;

typedef struct {
    char event_key[LEDGER_KEY_HEX + 1]; /* the holder */
    char *resource;                     /* what the holder submitted; NULL until set */
    int64_t submitted_ms;               /* when the holder took it (the store's clock) */
    int64_t age_ms;                     /* how long ago, by the store's clock */
} ledger_slot;

/* Takes RULE's slot for EVENT_KEY or reports its holder in SLOT (may be NULL; release it with
 * ledger_slot_clear). MIN_INTERVAL_S >= 0. */
ledger_status ledger_rule_slot(ledger *l, const char *rule, int min_interval_s,
                               const char *event_key, const char *replace,
                               ledger_slot_result *result, ledger_slot *slot);
/* Records RESOURCE as what EVENT_KEY submitted under RULE and restarts the slot's clock: the
 * interval counts from when the work exists (Google's answer), not from when it was asked for,
 * so a quota such as "one upload every 2 s" holds however long each request took.
 * LEDGER_ERR_STATE when the slot no longer names EVENT_KEY (another event took it meanwhile);
 * LEDGER_ERR_NOT_FOUND when free. */
ledger_status ledger_rule_slot_set_resource(ledger *l, const char *rule, const char *event_key,
                                            const char *resource);
/* Frees RULE's slot when EVENT_KEY holds it (its submission failed, so the next event may
 * submit at once); OK as well when it does not. */
ledger_status ledger_rule_slot_free(ledger *l, const char *rule, const char *event_key);
/* Reads RULE's slot: LEDGER_ERR_NOT_FOUND when free. */
ledger_status ledger_rule_slot_get(ledger *l, const char *rule, ledger_slot *slot);

void ledger_slot_clear(ledger_slot *slot);
/* On the request path: a zeroed slot in A, cleared when A is reset. Pass each to one call (a
 * call overwrites what it is given). NULL when memory runs out. */
ledger_slot *ledger_slot_in(arena *a);
const char *ledger_slot_result_name(ledger_slot_result r);

void ledger_record_clear(ledger_record *rec);
const char *ledger_claim_result_name(ledger_claim_result r);
const char *ledger_status_name(ledger_status s);

#endif
