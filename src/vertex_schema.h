/* vertex_schema — the Vertex AI v1 messages we write, as data: field names (the lowerCamelCase
 * JSON names), their types, which are required and which are output only.
 *
 * One table serves both sides of the wire: check-config walks it to refuse a rule's CustomJob
 * template that Google would refuse (rules_job.c), and the emulator's strict parser walks it to
 * refuse what Google refuses (tests/emulator/vschema.c). So the two cannot drift apart: a field
 * added here is known to both. The fields are those of the v1 REST reference (CustomJob,
 * CustomJobSpec, WorkerPoolSpec, MachineSpec, ReservationAffinity, DiskSpec, NfsMount,
 * ContainerSpec, PythonPackageSpec, EnvVar, Scheduling, GcsDestination, EncryptionSpec).
 *
 * The tables are static, constant data; nothing to free. */
#ifndef RT_VERTEX_SCHEMA_H
#define RT_VERTEX_SCHEMA_H

#include <stdbool.h>

typedef enum {
    VS_STRING,
    VS_INT64, /* a JSON number or a decimal string */
    VS_INT32,
    VS_BOOL,
    VS_DURATION, /* google.protobuf.Duration in JSON: "3600s", "1.5s" */
    VS_MESSAGE,
    VS_STRING_LIST,
    VS_MESSAGE_LIST,
    VS_LABELS, /* map<string,string>, Google's label rules (labels.h) */
    VS_ANY,    /* google.protobuf.Value / Struct */
} vs_type;

#define VS_REQUIRED 1u /* a create without it is refused */
#define VS_OUTPUT_ONLY                                                                             \
    2u /* Google sets it: accepted and ignored in a request, never ours to send */

typedef struct vs_field {
    const char *name; /* NULL ends a table */
    vs_type type;
    const struct vs_field *fields; /* VS_MESSAGE, VS_MESSAGE_LIST */
    unsigned flags;
} vs_field;

/* Table entries: a field, a required one, an output-only one, a message (list) with its fields,
 * a required one, and the end of a table. */
#define VS_F(n, t)                                                                                 \
    {                                                                                              \
        n, t, NULL, 0                                                                              \
    }
#define VS_FR(n, t)                                                                                \
    {                                                                                              \
        n, t, NULL, VS_REQUIRED                                                                    \
    }
#define VS_FO(n)                                                                                   \
    {                                                                                              \
        n, VS_ANY, NULL, VS_OUTPUT_ONLY                                                            \
    }
/* The output-only fields of every resource that runs (CustomJob, TrainingPipeline). */
#define VS_RUN_OUTPUT_ONLY                                                                         \
    VS_FO("name"), VS_FO("state"), VS_FO("createTime"), VS_FO("startTime"), VS_FO("endTime"),      \
        VS_FO("updateTime"), VS_FO("error")
#define VS_M(n, t, sub)                                                                            \
    {                                                                                              \
        n, t, sub, 0                                                                               \
    }
#define VS_MR(n, t, sub)                                                                           \
    {                                                                                              \
        n, t, sub, VS_REQUIRED                                                                     \
    }
#define VS_END                                                                                     \
    {                                                                                              \
        NULL, VS_ANY, NULL, 0                                                                      \
    }

extern const vs_field vs_custom_job[];
extern const vs_field vs_env_var[];
extern const vs_field vs_encryption_spec[];

/* Whether TEXT is a non-negative google.protobuf.Duration in JSON: seconds with up to nine
 * fractional digits and an "s" ("3600s", "1.5s"). */
bool vs_duration_valid(const char *text);

#endif
