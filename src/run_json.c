/* run_json — see run_json.h. */
#include "run_json.h"

#include "json_time.h"

json_t *run_json(const run_record *r)
{
    json_t *error = r->error_code || r->error_message
                        ? json_pack("{s:i, s:o}", "code", r->error_code, "message",
                                    json_string_or_null(r->error_message))
                        : json_null();
    json_t *batch =
        r->batch_key
            ? json_pack("{s:s, s:b, s:o, s:o, s:o}", "key", r->batch_key, "open", r->collecting,
                        "last_event", json_time_ms(r->last_event_ms), "closed_by",
                        json_string_or_null(r->batch_closed[0] ? r->batch_closed : NULL), "closed",
                        json_time_ms(r->closed_ms))
            : json_null();
    /* The promotion gate's decision: its state, and the details recorded with it. */
    json_t *details = r->decision_json ? json_loads(r->decision_json, 0, NULL) : NULL;
    json_t *promotion = r->decision[0] ? json_pack("{s:s, s:o}", "decision", r->decision, "details",
                                                   details ? details : json_null())
                                       : (json_decref(details), json_null());
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                     "s:o, s:o, s:o}",
                     "id", r->id, "rule", r->rule ? r->rule : "", "action",
                     r->action ? r->action : "", "state", run_state_name(r->state), "resource",
                     json_string_or_null(r->resource), "events", r->events, "queued",
                     json_time_ms(r->queued_ms), "submitted", json_time_ms(r->submitted_ms),
                     "started", json_time_ms(r->started_ms), "ended", json_time_ms(r->ended_ms),
                     "updated", json_time_ms(r->updated_ms), "error", error, "model_version",
                     json_string_or_null(r->model_version), "model_version_id",
                     json_string_or_null(r->model_version_id), "after_run",
                     json_string_or_null(r->after_run[0] ? r->after_run : NULL), "batch", batch,
                     "promotion", promotion, "trace", json_string_or_null(r->trace));
}
