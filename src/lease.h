/* lease — one delivery's hold on its event in the ledger, from the claim to the record.
 *
 *   lease_take()    claims the event by its key. OURS: a new record, or one whose holder's
 *                   lease ran out (reclaimed: that attempt may have acted, so the function looks
 *                   for what it left before acting); a finished failure that the delivery which
 *                   made it caused ("redeliverable", see function.h) is reopened and OURS too.
 *                   DUPLICATE: finished; the stored record comes with it. BUSY: another delivery
 *                   holds it now. UNAVAILABLE: the store cannot say (logged).
 *   lease_reopen()  a failed record claimed again: `retrainctl replay` (OURS, BUSY when the
 *                   record is not failed, UNAVAILABLE).
 *   lease_run()     runs the function under the hold and records what became of it: a final
 *                   result is finished in the ledger and answered 200; a transient one releases
 *                   the lease and is answered 503 with Retry-After; an outcome that cannot be
 *                   recorded is answered 503, so the retry finds the work instead of redoing it.
 *   lease_end()     frees what the lease holds (lease_in: the request's arena does it).
 *
 * The request path (service.c) and the replay (retrainctl.c) both go through here, so a
 * replayed dead letter takes exactly the steps a delivery does. The hold (ledger.h's
 * ledger_hold) fences every write: a delivery taken over can no longer record or release. */
#ifndef RT_LEASE_H
#define RT_LEASE_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "cloudevent.h"
#include "config.h"
#include "function.h"
#include "ledger.h"

typedef enum { LEASE_OURS, LEASE_DUPLICATE, LEASE_BUSY, LEASE_UNAVAILABLE } lease_verdict;

typedef struct {
    ledger *ledger;       /* borrowed */
    ledger_hold hold;     /* OURS */
    bool reclaimed;       /* OURS: an earlier attempt held the event and may have acted */
    ledger_record record; /* DUPLICATE: the finished record (owned; lease_end frees it) */
} lease;

/* What a run says to the caller, who turns it into HTTP or the CLI's output. */
typedef struct {
    int http_status;         /* 200 (202: queued), or 503 when the delivery must be retried */
    const char *retry_after; /* with 503: seconds, in the arena or static */
    const char *code;        /* with 503: the error code ("retry", "ledger_unavailable") */
    const char *message;     /* with 503: why */
    json_t *body;            /* with 200: the answer (new reference, caller decrefs) */
} lease_answer;

lease_verdict lease_take(lease *ls, ledger *l, int lease_s, const char *key,
                         const ledger_event *ev);
lease_verdict lease_reopen(lease *ls, ledger *l, int lease_s, const char *key);

/* Runs FN (with its per-process STATE) on EV under HELD (which must be OURS). */
void lease_run(lease *held, const fn_def *fn, void *state, const config *cfg, const cloudevent *ev,
               arena *a, lease_answer *out);

void lease_end(lease *ls);

/* On the request path: a zeroed lease in A that ends (lease_end) when A is reset; pass it to
 * one lease_take. NULL when memory runs out. */
lease *lease_in(arena *a);

/* For a function, before anything it cannot take back (a create, an upload) that may last
 * BUDGET_MS: makes sure HOLD outlasts the call. When the lease taken already does, by this
 * process's clock, nothing is written; otherwise the lease is renewed for the budget plus
 * LEASE_S. LEDGER_OK; LEDGER_ERR_STATE when another delivery took the event over (do not act);
 * another status when the store failed. */
ledger_status lease_hold_for(ledger *l, ledger_hold *hold, long budget_ms, int lease_s);

/* After that call: a lease renewed past its usual length gets LEASE_S again, so a worker that
 * dies now is replaced as soon as ever. */
void lease_hold_done(ledger *l, ledger_hold *hold, int lease_s);

/* The answer body's shape: OUTCOME's members, then "status" and "event" on top. Steals
 * OUTCOME. */
json_t *lease_answer_body(const char *status, json_t *outcome, const cloudevent *ev,
                          const char *key);

#endif
