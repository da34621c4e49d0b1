/* scoreboard — the pool's shared memory: each worker's state and the request counters.
 *
 * The master creates it before forking (an anonymous MAP_SHARED mapping, inherited by every
 * worker); each worker writes only its own slot and the shared counters, with lock-free atomics,
 * so no worker ever waits on another to count a request. Any worker renders the whole pool's
 * view: GET /status (JSON) and GET /metrics (Prometheus text, see metrics.h).
 *
 * Ownership: one mapping for the pool's lifetime; scoreboard_destroy() unmaps it. */
#ifndef RT_SCOREBOARD_H
#define RT_SCOREBOARD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SB_MAX_WORKERS 256

typedef enum { SB_EMPTY = 0, SB_STARTING, SB_IDLE, SB_BUSY, SB_STOPPING } sb_state;

/* Routes and statuses counted for /metrics: small fixed sets, so counters are plain arrays. */
typedef enum {
    SB_ROUTE_EVENT,
    SB_ROUTE_HEALTHZ,
    SB_ROUTE_READYZ,
    SB_ROUTE_STATUS,
    SB_ROUTE_METRICS,
    SB_ROUTE_UI, /* /ui/ and every page below it */
    SB_ROUTE_OTHER,
    SB_ROUTES
} sb_route;
#define SB_STATUSES 14 /* 200 202 204 400 401 404 405 413 415 429 500 503 504, other */
#define SB_BUCKETS 14  /* latency histogram upper bounds, see sb_bucket_bounds_s */

typedef struct {
    _Atomic int pid;
    _Atomic int state;             /* sb_state */
    _Atomic uint64_t requests;     /* served by the current process in this slot */
    _Atomic int64_t busy_since_ms; /* CLOCK_MONOTONIC ms of the current request; 0 when idle */
    _Atomic int64_t started_ms;    /* CLOCK_MONOTONIC ms the process started */
    _Atomic uint32_t generation;   /* config generation it runs (SIGHUP bumps it) */
    _Atomic int connections;       /* FastCGI connections it holds */
} sb_slot;

/* Outbound calls (to Vertex AI), by name ("GET customJobs") and HTTP status (0: no answer):
 * a small table of names claimed on first use by any process of the pool. */
#define SB_CALLS 48
#define SB_CALL_NAME 48
#define SB_CALL_CODES 13 /* 0 200 400 401 403 404 409 429 500 502 503 504, other */
typedef struct {
    _Atomic int used; /* 0 free, 1 being named, 2 named */
    char name[SB_CALL_NAME];
    _Atomic uint64_t by_code[SB_CALL_CODES];
} sb_call;

/* What became of one delivery (retrain_events_total{rule,outcome}), counted by rule name. */
typedef enum {
    SB_EVENT_SUBMITTED, /* a run was started, or a version registered */
    SB_EVENT_DUPLICATE, /* the ledger had finished it already */
    SB_EVENT_COALESCED, /* folded into work already going */
    SB_EVENT_BATCHED,   /* joined a batch */
    SB_EVENT_QUEUED,    /* its run waits for the follower (Google unavailable, a budget) */
    SB_EVENT_IGNORED,   /* no rule wanted it */
    SB_EVENT_FAILED,    /* a dead letter */
    SB_EVENT_RETRIED,   /* answered 503: Eventarc delivers it again */
    SB_EVENT_MALFORMED, /* not a CloudEvent we accept (400, 415) */
    SB_EVENT_DONE,      /* another function's success */
    SB_EVENT_OUTCOMES
} sb_event_outcome;
#define SB_RULES 64     /* rules counted by name; the last entry counts the rest as "other" */
#define SB_RULE_NAME 64 /* rule names are at most 63 bytes */
typedef struct {
    _Atomic int used; /* as sb_call's */
    char name[SB_RULE_NAME];
    _Atomic uint64_t by_outcome[SB_EVENT_OUTCOMES];
} sb_rule_events;

/* The request path's ledger calls, timed (retrain_ledger_call_duration_seconds{call}). */
typedef enum {
    SB_LEDGER_CLAIM,
    SB_LEDGER_FINISH,
    SB_LEDGER_RELEASE,
    SB_LEDGER_CALLS
} sb_ledger_call;

#define SB_AUTH_REASONS 16 /* auth_result values (auth.h); 0, AUTH_OK, is never counted */

typedef struct scoreboard {
    _Atomic int master_pid;
    _Atomic int64_t started_ms;
    _Atomic uint32_t generation;
    _Atomic uint64_t restarts; /* workers started to replace one that died */
    _Atomic uint64_t recycled; /* workers that exited after max_requests */
    _Atomic uint64_t timeouts; /* workers killed for a request stuck past request_timeout_s */
    _Atomic uint64_t crashes;  /* workers that died on a signal or a non-zero exit */
    _Atomic uint64_t reloads;  /* SIGHUP reloads that took effect */
    _Atomic uint64_t reload_failures; /* reloads refused by the check, or rolled back */
    int n_slots;
    _Atomic uint64_t requests[SB_ROUTES][SB_STATUSES];
    _Atomic uint64_t latency[SB_ROUTES][SB_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t latency_sum_us[SB_ROUTES];
    sb_call calls[SB_CALLS];
    sb_rule_events events[SB_RULES];
    _Atomic uint64_t auth_refusals[SB_AUTH_REASONS];
    _Atomic uint64_t token_refreshes[2]; /* [0] ok, [1] failed */
    _Atomic uint64_t jwks_refreshes[2];  /* [0] ok, [1] failed */
    _Atomic int64_t jwks_fetched_s;      /* wall-clock s the key set in use was fetched; 0: none */
    _Atomic int jwks_keys;               /* keys in that set */
    _Atomic uint64_t ledger_latency[SB_LEDGER_CALLS][SB_BUCKETS + 1];
    _Atomic uint64_t ledger_latency_sum_us[SB_LEDGER_CALLS];
    _Atomic uint64_t ledger_errors[SB_LEDGER_CALLS];
    sb_slot slots[SB_MAX_WORKERS];
} scoreboard;

extern const double sb_bucket_bounds_s[SB_BUCKETS];
extern const int sb_status_codes[SB_STATUSES - 1];
extern const char *const sb_route_names[SB_ROUTES];
extern const int sb_call_codes[SB_CALL_CODES - 1];
extern const char *const sb_event_outcome_names[SB_EVENT_OUTCOMES];
extern const char *const sb_ledger_call_names[SB_LEDGER_CALLS];

/* A shared mapping for N_SLOTS workers (1..SB_MAX_WORKERS); NULL on failure. */
scoreboard *scoreboard_create(int n_slots);
void scoreboard_destroy(scoreboard *sb);

sb_route sb_route_of(const char *path);
/* Counts one answered request. */
void scoreboard_record(scoreboard *sb, sb_route route, int status, int64_t latency_us);

/* What the library counts goes to SB from now on, from this process and the processes it forks
 * (the master sets it before forking); until then, and with NULL, the scoreboard_count_*
 * functions below do nothing. All are lock-free. */
void scoreboard_count_in(scoreboard *sb);
/* One outbound call NAME ("GET customJobs", "GET storage.objects.get"; at most SB_CALL_NAME - 1
 * bytes are kept) answered with HTTP STATUS (0: no answer). Names past the table's first
 * SB_CALLS - 1 are counted as "other". */
void scoreboard_count_call(const char *name, long status);
/* One delivery of rule RULE (NULL or "": none matched, or unknown) that ended as OUTCOME. */
void scoreboard_count_event(const char *rule, sb_event_outcome outcome);
/* The outcome an answer's status word names ("submitted", …); SB_EVENT_DONE for any other. */
sb_event_outcome sb_event_outcome_of(const char *word);
/* One delivery refused at authentication for REASON (an auth_result other than AUTH_OK). */
void scoreboard_count_auth_refusal(int reason);
/* One access-token fetch for the service account, OK or failed. */
void scoreboard_count_token_refresh(bool ok);
/* One fetch of Google's signing keys, OK or failed. */
void scoreboard_count_jwks_refresh(bool ok);
/* The key set now in use: fetched at wall-clock FETCHED_S, holding KEYS keys. */
void scoreboard_jwks_in_use(int64_t fetched_s, int keys);
/* One ledger call of the request path: CALL took US microseconds, and FAILED or not. */
void scoreboard_time_ledger(sb_ledger_call call, int64_t us, bool failed);

/* The pool as JSON: {"master_pid", "uptime_s", "generation", "restarts", ..., "slots",
 * "workers": [{"slot","pid","state","requests","busy_ms","age_s","generation","connections"}]}:
 * the workers that live now (a slot with no process in it is not listed). New reference. */
json_t *scoreboard_status_json(scoreboard *sb);

const char *sb_state_name(sb_state s);

#endif
