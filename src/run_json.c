/* run_json — see run_json.h. */
#include "run_json.h"

#include "cmd_ledger.h"

json_t *run_json(const run_record *r)
{
    json_t *error = r->error_code || r->error_message
                        ? json_pack("{s:i, s:o}", "code", r->error_code, "message",
                                    cmd_string_or_null(r->error_message))
                        : json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", r->id, "rule", r->rule ? r->rule : "", "action",
                     r->action ? r->action : "", "state", run_state_name(r->state), "resource",
                     cmd_string_or_null(r->resource), "events", r->events, "queued",
                     cmd_time_json(r->queued_ms), "submitted", cmd_time_json(r->submitted_ms),
                     "started", cmd_time_json(r->started_ms), "ended", cmd_time_json(r->ended_ms),
                     "updated", cmd_time_json(r->updated_ms), "error", error, "model_version",
                     cmd_string_or_null(r->model_version), "model_version_id",
                     cmd_string_or_null(r->model_version_id), "after_run",
                     cmd_string_or_null(r->after_run[0] ? r->after_run : NULL));
}
