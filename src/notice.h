/* notice — tells the user's endpoint (config notify.url) that a run ended: one POST per run, a
 * CloudEvent in HTTP binary mode (CloudEvents HTTP binding v1.0.2):
 *
 *   ce-specversion: 1.0
 *   ce-type:        dev.eventarc-retrain.run.v1.succeeded | .failed | .cancelled
 *   ce-source:      //eventarc-retrain/projects/P/locations/L   (the Vertex location it ran in)
 *   ce-id:          the run id (a redelivery of the same notice has the same id)
 *   ce-subject:     rules/RULE/runs/ID
 *   ce-time:        when it ended (RFC 3339, UTC)
 *   Content-Type:   application/json; the body is the run record (run_json.h)
 *
 * The notice of a run behind a promotion gate waits for the gate's decision (runs.h,
 * runs_notice_lease), so its body says whether the new version serves ("promotion").
 *
 * A 2xx answer takes the notice; anything else (another status, no answer) leaves it to be sent
 * again, so a receiver sees a notice at least once and de-duplicates by (source, id) as it would
 * any CloudEvent. The URL may carry a secret (a token in its query): it never reaches a log or an
 * error message here; errors name the HTTP status or the transport failure only.
 *
 * Ownership: everything is borrowed; nothing is kept after the call. */
#ifndef RT_NOTICE_H
#define RT_NOTICE_H

#include <stddef.h>

#include "fetch.h"
#include "runs.h"

typedef struct {
    const char *url;      /* http:// or https:// */
    const char *location; /* "projects/P/locations/L" */
    long timeout_ms;      /* the whole POST */
} notice_target;

/* POSTs RUN's notice (RUN has ended). 0 when the endpoint took it (2xx); -1 with WHY otherwise
 * (*STATUS the HTTP status, 0 when none arrived). */
int notice_send(fetch_client *http, const notice_target *t, const run_record *run, long *status,
                char *why, size_t whylen);

/* The ce-type of a notice for a run in state S ("dev.eventarc-retrain.run.v1.failed"); NULL when
 * S is not an end. */
const char *notice_type(run_state s);

#endif
