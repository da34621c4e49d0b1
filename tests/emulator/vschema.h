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

typedef enum {
    VS_STRING,
    VS_INT64, /* number or decimal string */
    VS_INT32,
    VS_BOOL,
    VS_DURATION, /* "3600s", "1.5s" */
    VS_MESSAGE,
    VS_STRING_LIST,
    VS_MESSAGE_LIST,
    VS_LABELS, /* map<string,string> checked with labels.h */
    VS_ANY,    /* google.protobuf.Value / Struct, or an output-only field */
} vs_type;

#define VS_REQUIRED 1u

typedef struct vs_field {
    const char *name; /* lowerCamelCase JSON name; NULL ends a table */
    vs_type type;
    const struct vs_field *fields; /* for messages and message lists */
    unsigned flags;
} vs_field;

typedef enum {
    VS_OK = 0,
    VS_UNKNOWN_FIELD, /* a member no field matches */
    VS_BAD_VALUE,     /* wrong JSON type, bad duration, bad number */
    VS_MISSING,       /* a required field is absent */
    VS_BAD_LABELS,    /* labels that break Google's rules */
} vs_status;

const char *vs_status_name(vs_status s);

/* The message schemas. */
extern const vs_field vs_custom_job[];
extern const vs_field vs_training_pipeline[];
extern const vs_field vs_model[];
extern const vs_field vs_upload_model_request[];
extern const vs_field vs_merge_aliases_request[];

/* Checks OBJECT against SCHEMA; ROOT is the proto name of the top ("custom_job"). On failure
 * writes Google's message into MSG and the proto path of the field into FIELD. */
vs_status vs_check(const json_t *object, const vs_field *schema, const char *root, char *msg,
                   size_t msglen, char *field, size_t fieldlen);

#endif
