/* retrain_body — what the retrain function sends to Vertex AI for one matched event: the
 * CustomJob (train), the TrainingPipeline (train_and_register) or the UploadModelRequest
 * (register), built from the rule's templates with the event's values and labelled so that the
 * work can be found again after a crash.
 *
 * Labels. Everything created — job, pipeline, model version — carries
 * retrain-event=<the event's label> and retrain-rule=<the rule's name>, over the rule's
 * "labels", over the template's own labels (the more specific wins; ours win over both). Google
 * caps a label value at 63 characters, one short of a ledger key, so the event's label is the
 * key's first 63 hex digits (252 bits of BLAKE2b: still unique).
 *
 * Every builder returns a new reference (the caller json_decref's it) or NULL with a message in
 * ERR naming what is wrong (a label, an alias, a missing field; the caller names the rule); strings
 * the builders need beyond the call come from the arena A. Rules and vars are borrowed. */
#ifndef RT_RETRAIN_BODY_H
#define RT_RETRAIN_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "rules.h"

#define RETRAIN_LABEL_EVENT "retrain-event"
#define RETRAIN_LABEL_RULE "retrain-rule"
#define RETRAIN_EVENT_LABEL_LEN 63

/* The retrain-event label value of EVENT_KEY (a ledger key) into OUT. */
void retrain_event_label(const char *event_key, char out[RETRAIN_EVENT_LABEL_LEN + 1]);

/* A new labels object: RULE_LABELS, then OWN (both objects or NULL), then retrain-event and
 * retrain-rule. NULL with ERR when the result breaks Google's label rules. */
json_t *retrain_labels(const json_t *rule_labels, const json_t *own, const char *rule_name,
                       const char *event_key, char *err, size_t errlen);

/* The request body of R's action for the event VARS describes (vars->event_key must be set):
 *   train               the job template expanded, labels merged;
 *   train_and_register  a custom-training TrainingPipeline: trainingTaskInputs = the expanded
 *                       job's jobSpec, modelToUpload from the rule's model, parentModel or
 *                       modelId, the pipeline's displayName (else the job's) and labels;
 *   register            an UploadModelRequest of the event's artifact directory (or
 *                       model.artifact_uri) as a new version of model.parent (or a new model
 *                       model.model_id), with the model's aliases and labels. */
json_t *retrain_request_body(const rule *r, const template_vars *vars, arena *a, char *err,
                             size_t errlen);

/* BODY (an UploadModelRequest or TrainingPipeline naming a new model's modelId) as a new version
 * of that model instead: modelId replaced by parentModel VERTEX_PARENT/models/ID, where
 * VERTEX_PARENT is "projects/P/locations/L". For the events after the one that created the
 * model (Vertex answers 409 ALREADY_EXISTS to a second modelId). New reference; NULL when BODY
 * names no modelId or memory runs out. */
json_t *retrain_body_as_version(const json_t *body, const char *vertex_parent);

#endif
