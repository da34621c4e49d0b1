/* dispatch — runs a function on one claimed event and records what became of it.
 *
 * Shared by the request path (service.c) and `retrainctl replay`, so a replayed dead letter
 * goes through exactly the steps a delivery does: the function runs, a final result is written
 * to the ledger (done, ignored, coalesced, failed), a transient one releases the claim. The
 * caller turns the answer into HTTP or into the CLI's output and exit status. */
#ifndef RT_DISPATCH_H
#define RT_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "cloudevent.h"
#include "config.h"
#include "function.h"
#include "ledger.h"

typedef struct {
    int http_status;         /* 200, or 503 when the delivery must be retried */
    const char *retry_after; /* with 503: seconds, in the arena or static */
    const char *code;        /* with 503: the error code ("retry", "ledger_unavailable") */
    const char *message;     /* with 503: why */
    json_t *body;            /* with 200: the answer (new reference, caller decrefs) */
} dispatch_answer;

/* Runs FN (with its per-process STATE) on EV, which the caller holds a claim on (HOLD). */
void dispatch_event(const fn_def *fn, void *state, const config *cfg, ledger *l,
                    const cloudevent *ev, const ledger_hold *hold, bool reclaimed, arena *a,
                    dispatch_answer *out);

/* The answer body shape: OUTCOME's members, then "status" and "event" on top. Steals OUTCOME. */
json_t *dispatch_body(const char *status, json_t *outcome, const cloudevent *ev, const char *key);

#endif
