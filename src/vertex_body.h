/* vertex_body — request bodies for Vertex AI REST v1, built with jansson to the exact schema.
 *
 * The schema's conventions: camelCase names, int64 values as JSON strings ("replicaCount": "1"),
 * int32 as numbers ("containerPort": 8080), durations as seconds with an "s" ("3600s"). A
 * CustomJobSpec usually comes from a rule's template JSON and is used as is; these helpers build
 * the fixed parts around it and check what Vertex would refuse (labels, version aliases).
 *
 * Every builder returns a new reference (the caller json_decref's it) or NULL with a message in
 * ERR naming the bad argument. Arguments are borrowed; JSON arguments are deep-copied. */
#ifndef RT_VERTEX_BODY_H
#define RT_VERTEX_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The task definition of a custom-training pipeline (Vertex's published schema). */
#define VTX_CUSTOM_TASK_DEFINITION                                                                 \
    "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"

/* Writes "3600s" for 3600 into BUF; returns BUF. */
char *vtx_duration(char buf[24], long long seconds);

/* A version alias as Vertex accepts it: [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]. With ALLOW_REMOVAL,
 * a leading '-' (remove the alias, in mergeVersionAliases) is accepted too. */
bool vtx_version_alias_valid(const char *alias, bool allow_removal);

/* One worker pool running a container, for jobs not given as a template. */
typedef struct {
    const char *machine_type;     /* required, "n1-standard-4" */
    long long replica_count;      /* >= 1 */
    const char *accelerator_type; /* NULL: none */
    int accelerator_count;
    const char *image_uri;       /* required */
    const char *const *args;     /* NULL-terminated; may be NULL */
    long long timeout_s;         /* scheduling.timeout; 0: Vertex's default */
    const char *base_output_uri; /* baseOutputDirectory.outputUriPrefix; may be NULL */
} vtx_worker_pool;

/* A CustomJobSpec with one worker pool. */
json_t *vtx_job_spec_json(const vtx_worker_pool *p, char *err, size_t errlen);

/* A CustomJob: {"displayName", "jobSpec": JOB_SPEC, "labels"}. LABELS may be NULL. */
json_t *vtx_custom_job_json(const char *display_name, const json_t *job_spec, const json_t *labels,
                            char *err, size_t errlen);

/* A Model with its serving container. */
typedef struct {
    const char *display_name;           /* required */
    const char *description;            /* may be NULL */
    const char *artifact_uri;           /* gs://... ; may be NULL */
    const char *image_uri;              /* containerSpec.imageUri, required */
    const char *predict_route;          /* may be NULL */
    const char *health_route;           /* may be NULL */
    int port;                           /* containerSpec.ports[0].containerPort; 0: none */
    const char *const *version_aliases; /* NULL-terminated; may be NULL */
    const json_t *labels;               /* may be NULL */
} vtx_model_spec;

json_t *vtx_model_json(const vtx_model_spec *m, char *err, size_t errlen);

/* An UploadModelRequest: {"model", "parentModel"?, "modelId"?}. PARENT_MODEL (a model's full
 * resource name: the upload becomes its new version) and MODEL_ID may be NULL. */
json_t *vtx_upload_body(const vtx_model_spec *m, const char *parent_model, const char *model_id,
                        char *err, size_t errlen);

/* A custom-training TrainingPipeline: {"displayName", "trainingTaskDefinition",
 * "trainingTaskInputs": JOB_SPEC, "modelToUpload", "parentModel"?, "modelId"?, "labels"?}. */
json_t *vtx_pipeline_json(const char *display_name, const json_t *job_spec,
                          const vtx_model_spec *model, const char *parent_model,
                          const char *model_id, const json_t *labels, char *err, size_t errlen);

/* {"versionAliases": [...]}, for models.mergeVersionAliases. ALIASES is NULL-terminated. */
json_t *vtx_merge_aliases_body(const char *const *aliases, char *err, size_t errlen);

/* Returns a deep copy of RESOURCE with labels[KEY] = VALUE added, after checking the merged
 * labels as Vertex would. */
json_t *vtx_with_label(const json_t *resource, const char *key, const char *value, char *err,
                       size_t errlen);

#endif
