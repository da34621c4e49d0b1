/* rules_internal — what rules.c, rules_job.c, rules_name.c and rules_vars.c share; not a
 * public API.
 *
 * Problems are collected with problems.h, so check-config shows every problem in one run. */
#ifndef RT_RULES_INTERNAL_H
#define RT_RULES_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "cloudevent.h"
#include "glob.h"
#include "problems.h"
#include "rules.h"
#include "storage_object.h"

/* CHECK on every string under V, with its JSON path (PATH, then [i] and .key below it). */
void rules_walk_strings(problems *p, const char *path, const json_t *v,
                        void (*check)(problems *p, const char *path, const char *s));
/* Every string under V is a template: reports unknown placeholders under their paths. */
void rules_check_templates(problems *p, const char *path, const json_t *v);
/* Google's label rules (labels.h), reported under PATH. */
void rules_check_labels(problems *p, const char *path, const json_t *v);
/* A CustomJob template: known keys, displayName, jobSpec.workerPoolSpecs. */
void rules_check_job(problems *p, const char *path, const json_t *job);
/* The pipeline overrides of a train_and_register rule: displayName, labels. */
void rules_check_pipeline(problems *p, const char *path, const json_t *pipeline);

/* A rule's "batch" section into B (its key "${rule}" unless set), the marker's glob into
 * *MARKER. */
void rules_compile_batch(problems *p, const char *path, const json_t *obj, rules_batch *b,
                         glob_pattern **marker);
/* A registering rule's "promote" section into OUT. */
void rules_compile_promote(problems *p, const char *path, const json_t *obj, rules_promote *out);
/* Reports each string under V naming ${batch_manifest_uri} (for a rule with no manifest). */
void rules_check_no_manifest(problems *p, const char *path, const json_t *v);

/* The event's bucket: OBJ's (may be NULL), else the `bucket` extension; NULL when neither. */
const char *rules_event_bucket(const cloudevent *ev, const storage_object *obj);
/* The object name: OBJ's, else the subject "objects/NAME"; NULL when neither. */
const char *rules_event_object_name(const cloudevent *ev, const storage_object *obj);

#endif
