/* function — the Cloud Functions-style programming model.
 *
 * A function receives one CloudEvent that the framework has already authenticated, parsed and
 * claimed in the ledger, and says what became of it. The framework owns everything else:
 * transport, auth, de-duplication, retries, status codes, logs and metrics. So a function is a
 * few lines (see fn_echo in function.c) and never sees HTTP:
 *
 *   FN_DONE       processed                  200, ledger "done"
 *   FN_IGNORED    nothing to do              200, ledger "ignored"
 *   FN_COALESCED  folded into earlier work   200, ledger "coalesced"
 *   FN_QUEUED     accepted, done later       202, ledger "done": the function keeps the work
 *                                            in the ledger and finishes it on its own (follow)
 *   FN_FAILED     permanent failure          200, ledger "failed" with the error (dead letter);
 *                                            with .redeliverable, the next delivery runs again
 *   FN_RETRY      transient failure          503 + Retry-After, claim released for the retry
 *
 * Functions are registered by name (the binaries' mains call builtins_register, others
 * fn_register, before the config is loaded and the pool forks) and chosen by the config's
 * "function" key. A function owns its part of the config: the top-level keys it names. */
#ifndef RT_FUNCTION_H
#define RT_FUNCTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "cloudevent.h"
#include "config.h"
#include "ledger.h"

typedef enum { FN_DONE, FN_IGNORED, FN_COALESCED, FN_FAILED, FN_RETRY, FN_QUEUED } fn_status;

typedef struct {
    fn_status status;
    /* A JSON object (new reference, owned by the result; the framework decrefs it). It is stored
     * in the ledger and merged into the answer; a "status" member overrides the word the answer
     * uses ("submitted" rather than "processed"). May stay NULL. */
    json_t *outcome;
    const char *error; /* FN_FAILED / FN_RETRY: why, in the arena; no secrets */
    int retry_after_s; /* FN_RETRY: 0 means the framework's default */
    /* FN_FAILED: the failure lies in how this delivery presented the event (its data could not
     * be read as it declared), not in the event. It is acknowledged and recorded as failed like
     * any dead letter (its outcome says "redeliverable": true), but it does not shadow a later
     * delivery of the same event: that one runs the function again instead of answering
     * duplicate. */
    bool redeliverable;
} fn_result;

typedef struct {
    arena *arena;          /* the request's arena */
    const config *cfg;     /* the worker's config */
    const char *event_key; /* the ledger key (hex) of this event */
    /* This delivery's claim: before anything it cannot take back, a function extends it over
     * the call (ledger_renew) and does not act when that fails (another delivery holds it). */
    ledger_hold *hold;
    bool reclaimed; /* an earlier attempt held this event and may have acted */
    void *state;    /* what init() returned for this worker */
    ledger *ledger; /* the worker's ledger (borrowed), for state shared across workers */
} fn_context;

typedef struct fn_def {
    const char *name;
    const char *summary;
    /* The top-level config keys this function owns (NULL-terminated; may be NULL): the config
     * keeps them in cfg->sections for it (config.h), whichever function is chosen. */
    const char *const *config_keys;
    /* Optional: checks those keys in SECTIONS (an object; a key may be absent), every problem
     * into P with its JSON path, as init will read them. Returns how many rules they hold, for
     * check-config's summary. Run by config_check for every registered function, so a file
     * that passes can switch to any of them. */
    size_t (*check_config)(const json_t *sections, problems *p);
    /* Optional, once per worker after fork: sets *STATE. 0, or -1 with ERR. */
    int (*init)(const config *cfg, void **state, char *err, size_t errlen);
    void (*fini)(void *state); /* optional */
    void (*handle)(const cloudevent *ev, fn_context *ctx, fn_result *out);
    /* Optional: work that outlives the requests, done by the pool's follower (follower.h) in a
     * process of its own, with a state init made there and the follower's ledger: does what is
     * due now, returning early once STOP() is true, and returns how many milliseconds it may
     * sleep before the next call. */
    int (*follow)(void *state, ledger *l, bool (*stop)(void));
    /* Optional: cancels run ID (runs.h) where its work runs, and records what became of it (for
     * `retrainctl runs cancel`). 0 done or asked for; 1 it cannot be (it ended, or its kind of
     * work has no cancel), 2 the ledger or the service failed; WHY says so. */
    int (*cancel)(void *state, ledger *l, const char *id, char *why, size_t whylen);
} fn_def;

/* The function registered as NAME, or NULL. */
const fn_def *fn_lookup(const char *name);

/* Registers DEF (which must outlive the program) and claims its config keys. 0, or -1 when the
 * name is taken or a table is full. */
int fn_register(const fn_def *def);

/* Calls EACH for every registered function, in registration order. */
void fn_foreach(void (*each)(const fn_def *def, void *arg), void *arg);

/* "processed", "ignored", "coalesced", "failed", "retry", "queued": the answer's default
 * status word. */
const char *fn_status_word(fn_status s);
/* The ledger status a final result is recorded with: "done", "ignored", ...; NULL for RETRY. */
const char *fn_status_ledger(fn_status s);

#endif
