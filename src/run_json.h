/* run_json — a run record as the JSON object operators and notices see: id, rule, action, state,
 * resource, events (how many it covers), its times (RFC 3339 UTC with milliseconds, null until
 * then), error ({code, message} as Google gave them, or null), model_version and
 * model_version_id, after_run (a follow-up's run before it, or null), batch, promotion, and
 * trace (the W3C traceparent of the delivery that began it, or null).
 *
 * Returns a new reference (NULL on OOM); RUN is borrowed. */
#ifndef RT_RUN_JSON_H
#define RT_RUN_JSON_H

#include <jansson.h>

#include "runs.h"

json_t *run_json(const run_record *r);

#endif
