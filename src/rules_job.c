/* rules_job — validation helpers of the rules module: problem lines, the CustomJob schema,
 * template and label checks (see rules.h for the rule format).
 *
 * The CustomJob is checked against a table of the fields Vertex AI v1 documents, with their
 * JSON types and which are required: the emulator and Vertex both reject unknown fields and
 * wrong types, and it is better to learn that from check-config than from the first event of
 * the day. Every string value is a template. Semantic checks (is this machine type real?) stay
 * with Vertex. */
#include "rules_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"

void rules_problem(rules_problems *p, const char *path, const char *fmt, ...)
{
    p->count++;
    if (!p->buf || p->cap == 0 || p->len + 1 >= p->cap)
        return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int n = snprintf(p->buf + p->len, p->cap - p->len, "%s%s: %s", p->len ? "\n" : "", path, line);
    if (n > 0)
        p->len += (size_t)n < p->cap - p->len ? (size_t)n : p->cap - p->len - 1;
}

void rules_path(char out[RULES_PATH_MAX], const char *base, const char *fmt, ...)
{
    size_t n = strnlen(base, RULES_PATH_MAX - 1);
    memmove(out, base, n);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, RULES_PATH_MAX - n, fmt, ap);
    va_end(ap);
}

/* ---- the CustomJob schema --------------------------------------------------------------- */

typedef enum {
    S_STRING,  /* a string (a template) */
    S_STRINGS, /* an array of strings (templates) */
    S_INT,     /* an integer >= 0, or a string of digits (protobuf int64 in JSON) */
    S_BOOL,
    S_ANY,    /* any JSON; strings in it are templates */
    S_OBJECT, /* an object with the listed keys */
    S_ARRAY,  /* an array of objects with the listed keys */
    S_LABELS, /* Google labels, literal */
} schema_kind;

typedef struct schema {
    const char *key;
    schema_kind kind;
    const struct schema *children; /* S_OBJECT, S_ARRAY: terminated by a NULL key */
    bool required;
} schema;

#define F(k, kind)                                                                                 \
    {                                                                                              \
        k, kind, NULL, false                                                                       \
    }
#define FR(k, kind)                                                                                \
    {                                                                                              \
        k, kind, NULL, true                                                                        \
    }
#define M(k, kind, sub)                                                                            \
    {                                                                                              \
        k, kind, sub, false                                                                        \
    }
#define MR(k, kind, sub)                                                                           \
    {                                                                                              \
        k, kind, sub, true                                                                         \
    }
#define END                                                                                        \
    {                                                                                              \
        NULL, S_ANY, NULL, false                                                                   \
    }

static const schema env_var[] = {FR("name", S_STRING), F("value", S_STRING), END};
static const schema container_spec[] = {FR("imageUri", S_STRING), F("command", S_STRINGS),
                                        F("args", S_STRINGS), M("env", S_ARRAY, env_var), END};
static const schema python_package_spec[] = {
    FR("executorImageUri", S_STRING), FR("packageUris", S_STRINGS),
    FR("pythonModule", S_STRING),     F("args", S_STRINGS),
    M("env", S_ARRAY, env_var),       END};
static const schema reservation_affinity[] = {FR("reservationAffinityType", S_STRING),
                                              F("key", S_STRING), F("values", S_STRINGS), END};
static const schema machine_spec[] = {FR("machineType", S_STRING),
                                      F("acceleratorType", S_STRING),
                                      F("acceleratorCount", S_INT),
                                      F("tpuTopology", S_STRING),
                                      M("reservationAffinity", S_OBJECT, reservation_affinity),
                                      END};
static const schema disk_spec[] = {F("bootDiskType", S_STRING), F("bootDiskSizeGb", S_INT), END};
static const schema nfs_mount[] = {FR("server", S_STRING), FR("path", S_STRING),
                                   FR("mountPoint", S_STRING), END};
static const schema worker_pool_spec[] = {M("containerSpec", S_OBJECT, container_spec),
                                          M("pythonPackageSpec", S_OBJECT, python_package_spec),
                                          MR("machineSpec", S_OBJECT, machine_spec),
                                          F("replicaCount", S_INT),
                                          M("nfsMounts", S_ARRAY, nfs_mount),
                                          M("diskSpec", S_OBJECT, disk_spec),
                                          END};
static const schema scheduling[] = {
    F("timeout", S_STRING),      F("restartJobOnWorkerRestart", S_BOOL), F("strategy", S_STRING),
    F("disableRetries", S_BOOL), F("maxWaitDuration", S_STRING),         END};
static const schema gcs_destination[] = {FR("outputUriPrefix", S_STRING), END};
static const schema job_spec[] = {MR("workerPoolSpecs", S_ARRAY, worker_pool_spec),
                                  M("scheduling", S_OBJECT, scheduling),
                                  F("serviceAccount", S_STRING),
                                  F("network", S_STRING),
                                  F("reservedIpRanges", S_STRINGS),
                                  M("baseOutputDirectory", S_OBJECT, gcs_destination),
                                  F("protectedArtifactLocationId", S_STRING),
                                  F("tensorboard", S_STRING),
                                  F("enableWebAccess", S_BOOL),
                                  F("enableDashboardAccess", S_BOOL),
                                  F("experiment", S_STRING),
                                  F("experimentRun", S_STRING),
                                  F("models", S_STRINGS),
                                  F("persistentResourceId", S_STRING),
                                  END};
static const schema encryption_spec[] = {FR("kmsKeyName", S_STRING), END};
static const schema custom_job[] = {FR("displayName", S_STRING), MR("jobSpec", S_OBJECT, job_spec),
                                    F("labels", S_LABELS),
                                    M("encryptionSpec", S_OBJECT, encryption_spec), END};
static const schema pipeline_overrides[] = {F("displayName", S_STRING), F("labels", S_LABELS), END};

/* Every string below V is a template: check its placeholders. */
void rules_check_templates(rules_problems *p, const char *path, const json_t *v)
{
    char sub[RULES_PATH_MAX], msg[256];
    if (json_is_string(v)) {
        if (rules_template_check(json_string_value(v), msg, sizeof msg) != 0)
            rules_problem(p, path, "%s", msg);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            rules_path(sub, path, "[%zu]", i);
            rules_check_templates(p, sub, item);
        }
    } else if (json_is_object(v)) {
        const char *key;
        const json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            rules_path(sub, path, ".%.64s", key);
            rules_check_templates(p, sub, item);
        }
    }
}

void rules_check_labels(rules_problems *p, const char *path, const json_t *v)
{
    char msg[256];
    if (labels_validate(v, msg, sizeof msg) != 0)
        rules_problem(p, path, "%s", msg);
}

static void check_schema(rules_problems *p, const char *path, const json_t *v, const schema *s);

static void check_node(rules_problems *p, const char *path, const json_t *v, const schema *node)
{
    char sub[RULES_PATH_MAX];
    switch (node->kind) {
    case S_STRING:
        if (!json_is_string(v))
            rules_problem(p, path, "must be a string");
        else if (node->required && json_string_length(v) == 0)
            rules_problem(p, path, "must be a non-empty string");
        else
            rules_check_templates(p, path, v);
        break;
    case S_STRINGS: {
        bool ok = json_is_array(v);
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) ok &= json_is_string(item);
        if (!ok)
            rules_problem(p, path, "must be an array of strings");
        else
            rules_check_templates(p, path, v);
        break;
    }
    case S_INT: {
        const char *s = json_string_value(v);
        if (!(json_is_integer(v) && json_integer_value(v) >= 0) &&
            !(s && *s && strspn(s, "0123456789") == strlen(s)))
            rules_problem(p, path, "must be an integer >= 0 (or a string of digits)");
        break;
    }
    case S_BOOL:
        if (!json_is_boolean(v))
            rules_problem(p, path, "must be true or false");
        break;
    case S_ANY:
        rules_check_templates(p, path, v);
        break;
    case S_LABELS:
        rules_check_labels(p, path, v);
        break;
    case S_OBJECT:
        if (!json_is_object(v))
            rules_problem(p, path, "must be an object");
        else
            check_schema(p, path, v, node->children);
        break;
    case S_ARRAY:
        if (!json_is_array(v)) {
            rules_problem(p, path, "must be an array");
            break;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            rules_path(sub, path, "[%zu]", i);
            if (!json_is_object(item))
                rules_problem(p, sub, "must be an object");
            else
                check_schema(p, sub, item, node->children);
        }
        break;
    }
}

static void check_schema(rules_problems *p, const char *path, const json_t *v, const schema *s)
{
    char sub[RULES_PATH_MAX];
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item)
    {
        rules_path(sub, path, ".%.64s", key);
        const schema *node = NULL;
        for (const schema *c = s; c->key && !node; c++)
            if (strcmp(c->key, key) == 0)
                node = c;
        if (!node)
            rules_problem(p, sub, "unknown key");
        else
            check_node(p, sub, item, node);
    }
    for (const schema *c = s; c->key; c++)
        if (c->required && !json_object_get(v, c->key)) {
            rules_path(sub, path, ".%s", c->key);
            rules_problem(p, sub, "required");
        }
}

/* The CustomJob template: the schema (which knows what is required), plus the rules a table
 * cannot say: at least one worker pool, each with exactly one kind of code. */
void rules_check_job(rules_problems *p, const char *path, const json_t *job)
{
    char sub[RULES_PATH_MAX], pool_path[RULES_PATH_MAX];
    if (!json_is_object(job)) {
        rules_problem(p, path, "must be an object (a Vertex AI CustomJob)");
        return;
    }
    check_schema(p, path, job, custom_job);
    const json_t *pools = json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs");
    rules_path(sub, path, ".jobSpec.workerPoolSpecs");
    if (json_is_array(pools) && json_array_size(pools) == 0)
        rules_problem(p, sub, "must hold at least one worker pool");
    size_t i;
    const json_t *pool;
    json_array_foreach(pools, i, pool)
    {
        rules_path(pool_path, sub, "[%zu]", i);
        if (json_is_object(pool) && (json_object_get(pool, "containerSpec") != NULL) ==
                                        (json_object_get(pool, "pythonPackageSpec") != NULL))
            rules_problem(p, pool_path, "needs exactly one of containerSpec and pythonPackageSpec");
    }
}

void rules_check_pipeline(rules_problems *p, const char *path, const json_t *pipeline)
{
    if (!json_is_object(pipeline))
        rules_problem(p, path, "must be an object");
    else
        check_schema(p, path, pipeline, pipeline_overrides);
}
