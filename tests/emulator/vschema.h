/* vschema — strict checks of request bodies against the subset of the Vertex AI v1 schema the
 * emulator knows, with Google's error wording.
 *
 * Google's JSON parser rejects any member it cannot map to a proto field, accepts both the
 * lowerCamelCase JSON name and the proto snake_case name, takes int64 (and int32) as a JSON
 * number or a decimal string, and names the offending place by the proto path
 * ("custom_job.job_spec.worker_pool_specs[0]"). Output-only fields are accepted and ignored. */
#ifndef EMU_VSCHEMA_H
#define EMU_VSCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "vertex_schema.h" /* the tables and their types, shared with check-config */

typedef enum {
    VS_OK = 0,
    VS_UNKNOWN_FIELD, /* a member no field matches */
    VS_BAD_VALUE,     /* wrong JSON type, bad duration, bad number */
    VS_MISSING,       /* a required field is absent */
    VS_BAD_LABELS,    /* labels that break Google's rules */
} vs_status;

const char *vs_status_name(vs_status s);

/* The message schemas (vs_custom_job is in vertex_schema.h). */
extern const vs_field vs_training_pipeline[];
extern const vs_field vs_model[];
extern const vs_field vs_upload_model_request[];
extern const vs_field vs_merge_aliases_request[];
extern const vs_field vs_model_evaluation[];
extern const vs_field vs_import_model_evaluation_request[];

/* Checks OBJECT against SCHEMA; ROOT is the proto name of the top ("custom_job"). On failure
 * writes Google's message into MSG and the proto path of the field into FIELD. */
vs_status vs_check(const json_t *object, const vs_field *schema, const char *root, char *msg,
                   size_t msglen, char *field, size_t fieldlen);

/* Removes OBJECT's top-level members that SCHEMA marks output only (VS_FO): what a client may
 * echo back of a resource it read, which Google ignores and sets itself. */
void vs_drop_output_only(json_t *object, const vs_field *schema);

#endif
