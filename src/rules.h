/* rules — what to do when an object lands: match an event, then fill a template.
 *
 * The config's "rules" array is compiled once at start. Each rule is
 *
 *   {"name": "churn",                       required; a label value: [a-z0-9_-]{1,63}
 *    "match": {"type": "...finalized",      required, exact
 *              "bucket": "acme-data",       optional, exact
 *              "name": "<glob>",            optional, glob.h syntax, against the object name
 *              "source": "//storage...",    optional, exact, against the CloudEvent source
 *              "subject": "<glob>",         optional, glob.h syntax, against the subject
 *              "allow_unsafe_names": true}, optional boolean, default false (below)
 *    "action": "train" | "train_and_register" | "register",
 *    "job": {CustomJob},                    train, train_and_register: displayName + jobSpec
 *    "pipeline": {"displayName", "labels"}, optional, train_and_register only
 *    "model": {parent | model_id, container_image, display_name, description, artifact_uri,
 *              aliases, labels},             train_and_register, register
 *    "min_interval_s": 600,                 optional integer >= 0 (default 0)
 *    "batch": {...},                        optional (below); not with min_interval_s
 *    "promote": {...},                      optional (below), train_and_register and register
 *    "labels": {...}}                       optional, added to what the rule creates
 *
 * Batches. A rule with "batch" submits one run per batch of events instead of one per event:
 *   {"quiet_period_s": 300,     close once no event joined for this long (trailing edge)
 *    "min_events": 100,         close as soon as this many events joined (the batch is full)
 *    "marker": "**\/_SUCCESS",   the event whose object name matches closes its batch (and is in
 * it) "max_wait_s": 3600,        the longest a batch stays open after its first event; then
 *    "on_timeout": "submit",    submit it (default), or "expire": nothing is submitted and its
 *                               events are recorded expired (replayable); needs max_wait_s
 *    "key": "${rule}",          a template of the event's placeholders: one batch per value
 *                               (such as "${rule}/${name_dir}": one per directory, the default
 *                               of a batch with a marker, which closes its own directory's)
 *    "manifest": "gs://B/P"}    where ${batch_manifest_uri} is written: P/RULE/RUN_ID.jsonl,
 *                               one JSON line per event (bucket, name, generation, size,
 *                               event_id)
 * At least one condition is needed; each is 1 to 604800 s (min_events 1 to 100000), and
 * quiet_period_s is shorter than max_wait_s.
 *
 * Promotion. A registering rule with "promote" puts an evaluation gate between a new version
 * and the alias that serves:
 *   {"alias": "production",         required: the alias the gate moves ("default" is allowed:
 *                                   what serving and batch prediction use)
 *    "metric": "auRoc",             required: the metric's name in the evaluation's metrics
 *    "goal": "maximize",            required: "maximize" or "minimize"
 *    "min_delta": 0.0,              a win is by more than this (default 0; >= 0)
 *    "candidate_alias": "candidate",  the only alias a new version is uploaded with (not alias,
 *                                   not "default")
 *    "require_evaluation": true,    a version without an evaluation is held (false: promoted)
 *    "metrics_uri": "${artifact_uri}/metrics.json"}  where the training wrote its metrics when
 *                                   the version has no ModelEvaluation (a gs:// template of the
 *                                   version: ${artifact_uri} ${model} ${version_id} ${rule}
 *                                   ${run_id})
 * With it, model.aliases is refused: the version carries candidate_alias only.
 *
 * Unsafe names. By default a rule matches no event whose object name has a "." or ".." segment,
 * an empty segment (a leading '/' or "//"; a trailing '/', a folder placeholder, is fine), a
 * control character (C0, DEL, C1) or bytes that are not UTF-8, nor whose bucket has a
 * character other than [A-Za-z0-9._-] or is "." or "..": Cloud Storage names are literal, but
 * a training job that maps gs:// paths to files (gcsfuse) would resolve them and read outside
 * the dataset. "allow_unsafe_names": true makes the rule take them like any other name.
 *
 * Unknown keys are refused everywhere in a rule, including the CustomJob's own fields (those
 * Vertex AI v1 documents, with their JSON types and required fields), so a typo fails
 * check-config rather than the first event.
 *
 * Templates. Every string in job, pipeline, model.display_name, model.description and
 * model.artifact_uri may hold placeholders, replaced per event: ${bucket} ${name}
 * ${generation} ${event_id} ${event_key} ${event_time} ${rule} ${gcs_uri}, and of the run:
 * ${run_id} ${batch_size} ${batch_first_name} ${batch_last_name} ${batch_prefix} (see
 * rules_vars_batch; a follow-up run covering many events expands the others with its first
 * event's values). "$${" writes a
 * literal "${"; a '$' not followed by '{' is literal. Unknown placeholders and an unterminated
 * "${" are compile errors. Keys, labels, model.parent, model.model_id, model.container_image
 * and model.aliases are literal (a placeholder there is an error: they are checked against
 * Google's rules once, at compile time).
 *
 * Ownership: rules_compile() copies what it needs; the caller keeps its array. Everything a
 * rule hands out (strings, JSON) is borrowed and lives until rules_free(). */
#ifndef RT_RULES_H
#define RT_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "template.h"
#include "cloudevent.h"
#include "storage_object.h"

typedef struct rules rules;
typedef struct rule rule;

typedef enum {
    RULES_TRAIN,              /* a CustomJob */
    RULES_TRAIN_AND_REGISTER, /* a TrainingPipeline: the job's jobSpec, then a model upload */
    RULES_REGISTER,           /* models.upload of the object's directory */
} rules_action;

/* The model settings of a registering rule; absent strings are NULL. */
typedef struct {
    const char *parent;          /* projects/P/locations/L/models/M: upload a new version */
    const char *model_id;        /* or the id of a new model */
    const char *container_image; /* serving container; always set for registering rules */
    const char *display_name;    /* template; NULL: the rule's name */
    const char *description;     /* template */
    const char *artifact_uri;    /* template; NULL: the directory holding the object */
    const char *const *aliases;  /* valid Vertex aliases */
    size_t n_aliases;
    const json_t *labels; /* object, or NULL */
} rules_model;

/* Validates and compiles RULES_ARRAY (a JSON array; NULL is an empty set). Returns 0 with *OUT
 * set, or -1 with every problem written into ERR, one per line, each starting with its JSON
 * path: "rules[0].match.name: unsupported glob: ...". */
int rules_compile(const json_t *rules_array, rules **out, char *err, size_t errlen);
void rules_free(rules *r);

size_t rules_count(const rules *r);
const rule *rules_at(const rules *r, size_t i);
/* The rule named NAME, or NULL (replay finds the rule an event was matched to). */
const rule *rules_find(const rules *r, const char *name);

/* The first rule, in file order, that EV matches, or NULL. The bucket comes from OBJ (may be
 * NULL) or else the event's `bucket` extension; the object name from OBJ or else the subject
 * "objects/NAME". A rule that tests a value the event does not carry does not match. */
const rule *rules_match(const rules *r, const cloudevent *ev, const storage_object *obj);

/* rules_match(), and when it finds no rule, why in WHY (WHYLEN bytes; may be NULL): "" when no
 * rule matches the event, or, when a rule would match it but for an unsafe name, a sentence
 * naming the rule, the kind of problem and its byte offset (never the name itself). */
const rule *rules_match_why(const rules *r, const cloudevent *ev, const storage_object *obj,
                            char *why, size_t whylen);

/* What makes NAME unsafe (see "Unsafe names" above), or NULL when it is safe. Static text;
 * *OFFSET (may be NULL) gets the byte offset of the problem. */
const char *rules_unsafe_name(const char *name, size_t *offset);
/* The same for a bucket name; NULL when it is safe. */
const char *rules_unsafe_bucket(const char *bucket, size_t *offset);

const char *rules_name(const rule *r);
rules_action rules_action_of(const rule *r);
const json_t *rules_job(const rule *r);           /* the CustomJob template, or NULL */
const json_t *rules_pipeline(const rule *r);      /* the pipeline overrides, or NULL */
const rules_model *rules_model_of(const rule *r); /* NULL unless the rule registers */
const json_t *rules_labels(const rule *r);        /* object, or NULL */
int rules_min_interval_s(const rule *r);
/* Whether any of R's templates names ${run_id} (then its body can be built only once the run is
 * begun; a body without it is the same before and after). */
bool rules_uses_run_id(const rule *r);

/* A batched rule's batch section; NULL when R is not batched. Strings are borrowed. */
typedef struct {
    int quiet_period_s, min_events, max_wait_s; /* 0: not a condition */
    bool expire;                                /* on_timeout "expire" (else "submit") */
    const char *marker;                         /* the marker glob, or NULL */
    const char *key;      /* template; "${rule}", or "${rule}/${name_dir}" with a marker */
    const char *manifest; /* gs://BUCKET[/PREFIX], or NULL */
} rules_batch;
const rules_batch *rules_batch_of(const rule *r);
/* Whether object NAME (may be NULL) is R's batch marker. */
bool rules_batch_marks(const rule *r, const char *name);
/* Where the manifest of R's run RUN_ID goes (gs://…/RULE/RUN_ID.jsonl), in A; NULL when R
 * writes none, or on OOM. */
char *rules_batch_manifest_uri(const rule *r, const char *run_id, arena *a);

/* Fills VARS for an event matched to R (its templates expand with template.h). Strings come
 * from EV, OBJ (may be NULL), EVENT_KEY (the ledger key) and R's name; gcs_uri is built in A.
 * Returns 0, or -1 on OOM. */
int rules_vars_for_event(const rule *r, const cloudevent *ev, const storage_object *obj,
                         const char *event_key, arena *a, template_vars *vars);

/* The batch placeholders of a run covering SIZE events whose object names are NAMES (N of them,
 * in arrival order; the run's own events): ${batch_size} SIZE, ${batch_first_name} and
 * ${batch_last_name} the first and last, ${batch_prefix} their longest common prefix cut after
 * its last '/' ("" when none). rules_vars_for_event sets them for a run of that one event.
 * Returns 0, or -1 on OOM. */
int rules_vars_batch(template_vars *vars, const char *const *names, size_t n, size_t size,
                     arena *a);

/* The model's artifact URI for this event: model.artifact_uri expanded, or else the directory
 * of gs://bucket/name with a trailing '/' ("" when the event names no object). In A; NULL on
 * OOM. */
char *rules_artifact_uri(const rule *r, const template_vars *vars, arena *a);

/* A registering rule's promotion gate (see "Promotion" above); strings are borrowed. */
typedef struct {
    const char *alias, *candidate_alias, *metric;
    bool minimize; /* goal "minimize" (else "maximize") */
    double min_delta;
    bool require_evaluation;
    const char *metrics_uri; /* template of the version's placeholders */
} rules_promote;
/* NULL when R has no promote section. */
const rules_promote *rules_promote_of(const rule *r);
/* Whether CANDIDATE beats CHAMPION by more than min_delta, in the direction of the goal. */
bool rules_promote_wins(const rules_promote *p, double candidate, double champion);

/* "train", "train_and_register", "register". */
const char *rules_action_name(rules_action a);

#endif
