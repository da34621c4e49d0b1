/* retrain — the built-in function "retrain": a Cloud Storage object lands, a rule matches, and
 * Vertex AI trains (a CustomJob), trains and registers (a TrainingPipeline whose product is a
 * new model version), or registers (models.upload of the object's directory).
 *
 * One event, top to bottom (retrain.c): parse the StorageObjectData of a storage event, match
 * the rules (none: "ignored", nothing created), build the body (retrain_body.h), then submit
 * (retrain_submit.c):
 *
 *   exactly once   everything created carries retrain-event=<the event's label> and
 *                  retrain-rule=<rule>. A reclaimed event (an earlier attempt may have acted)
 *                  first looks for a job, pipeline or model version with its label and adopts
 *                  it.
 *   burst control  a rule with min_interval_s > 0 submits through its ledger slot
 *                  (ledger_rule_slot): within the interval, while the holder's run is going
 *                  (as the ledger has it), an event is "coalesced" into the rule's follow-up
 *                  run instead (runs_follow_up), which the follower submits once the holder's
 *                  run has ended, covering every such event. Atomic across workers and hosts:
 *                  any number of simultaneous events start one job, and one follow-up.
 *   queued         when Google keeps failing until the deadline (5xx, 429, timeouts, the token
 *                  endpoint), the create budget (follow.creates_per_minute) is spent, or other
 *                  uploads go first, the begun run is left queued for the follower
 *                  (retrain_queued.c) and the event answers 202 "queued".
 *   uploads        models.upload is spaced RETRAIN_UPLOAD_SPACING_S apart per project and
 *                  region, through the ledger slot "models.upload/<project>/<region>", as
 *                  Google asks; the upload's operation is followed until done within the
 *                  request's budget, else the outcome is recorded as pending with the
 *                  operation's name (Vertex finishes it on its own; `retrainctl events show`
 *                  names the operation to look at). The uploaded version carries the labels
 *                  too, and the client finds it by them before any second upload: a version
 *                  with the event's label is adopted ("adopted":true, no operation), and a
 *                  reclaimed event first waits for an upload to the model that is still
 *                  running (vtx_upload_model). An upload whose outcome cannot be told within
 *                  the budget is queued for the follower, which looks the same way first: never
 *                  a second upload.
 *   model_id       a rule naming a new model's model_id creates it with the first event;
 *                  Vertex answers 409 to the next ones, which are then sent again as new
 *                  versions of that model (parentModel).
 *
 * Outcomes (stored in the ledger and answered with 200, queued with 202; each names its "run"):
 *   {"status":"submitted","rule","action","resource","adopted"}   ("operation" for register,
 *                                                                   "pending":true unfinished)
 *   {"status":"coalesced","rule","resource","into_event","after_run","pending":true}
 *   {"status":"queued","rule","action","reason"}
 *   {"status":"ignored"}            ("reason" when a rule refused the object's unsafe name)
 *   {"status":"failed","rule","action","http_status","google_status","message"}
 * Google's 400/403/404 is final (FN_FAILED: the dead letter, replayable); 429, 5xx, network and
 * token trouble leave a begun run queued (FN_QUEUED: 202), and ask for a retry (FN_RETRY: 503
 * with Retry-After) only before there is one (or when the ledger cannot hand it on).
 *
 * Test hooks (test_hook.h): with RETRAIN_TEST_HOOKS=1, RETRAIN_TEST_CRASH_AFTER_CREATE=1 (or
 * =RULE[,RULE...], for those rules only) makes the worker SIGKILL itself right after Google
 * created the resource, before anything is recorded; RETRAIN_TEST_CRASH_AFTER_DECISION makes
 * the follower SIGKILL itself after the promotion gate recorded a decision to promote and before
 * it moved the alias (on the first pass of each run only, so the next pass converges). */
#ifndef RT_RETRAIN_H
#define RT_RETRAIN_H

#include <jansson.h>
#include <stdbool.h>

#include "function.h"
#include "promote.h"
#include "vertex.h"

#define RETRAIN_UPLOAD_SPACING_S 2

/* The function, registered as "retrain" by function.c. */
extern const fn_def retrain_function;

/* The outcome shapes (new references; NULL on OOM). */
json_t *retrain_outcome_submitted(const char *rule, const char *action, const char *resource,
                                  bool adopted);
json_t *retrain_outcome_coalesced(const char *rule, const char *resource, const char *into_event);
json_t *retrain_outcome_pending(const char *rule, const char *operation);
json_t *retrain_outcome_queued(const char *rule, const char *action, const char *reason);
/* A batched event: it joined BATCH (the key), which has EVENTS now and is CLOSED or open. */
json_t *retrain_outcome_batched(const char *rule, const char *action, const char *batch, int events,
                                bool closed);
json_t *retrain_outcome_failed(const char *rule, const char *action, const vtx_result *res);

/* What the promotion gate works with in a worker state STATE made by retrain_function.init,
 * on ledger L (retrainctl's promote, rollback and models history). */
promote_env retrain_gate_env(void *state, ledger *l);

/* True for a job or pipeline state that will not change again (SUCCEEDED, FAILED, CANCELLED,
 * EXPIRED, PARTIALLY_SUCCEEDED); false for PENDING, QUEUED, RUNNING, ... and NULL. */
bool retrain_state_is_terminal(const char *state);

#endif
