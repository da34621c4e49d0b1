/* rules_job — validation helpers of the rules module: problem lines, the CustomJob schema,
 * template and label checks (see rules.h for the rule format).
 *
 * The CustomJob is checked against a small table of the fields Vertex AI v1 documents: the
 * emulator and Vertex both reject unknown fields, and it is better to learn that from
 * check-config than from the first event of the day. Values below a known key are not typed
 * beyond object/array shape (Vertex checks those); their strings are templates. */
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

static bool nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* ---- the CustomJob schema --------------------------------------------------------------- */

typedef enum {
    S_ANY,    /* any JSON; strings in it are templates */
    S_OBJECT, /* an object with the listed keys */
    S_ARRAY,  /* an array of objects with the listed keys */
    S_LABELS, /* Google labels, literal */
} schema_kind;

typedef struct schema {
    const char *key;
    schema_kind kind;
    const struct schema *children; /* S_OBJECT, S_ARRAY: terminated by a NULL key */
} schema;

static const schema env_var[] = {{"name", S_ANY, NULL}, {"value", S_ANY, NULL}, {NULL, 0, NULL}};
static const schema container_spec[] = {{"imageUri", S_ANY, NULL},
                                        {"command", S_ANY, NULL},
                                        {"args", S_ANY, NULL},
                                        {"env", S_ARRAY, env_var},
                                        {NULL, 0, NULL}};
static const schema python_package_spec[] = {
    {"executorImageUri", S_ANY, NULL}, {"packageUris", S_ANY, NULL},
    {"pythonModule", S_ANY, NULL},     {"args", S_ANY, NULL},
    {"env", S_ARRAY, env_var},         {NULL, 0, NULL}};
static const schema reservation_affinity[] = {{"reservationAffinityType", S_ANY, NULL},
                                              {"key", S_ANY, NULL},
                                              {"values", S_ANY, NULL},
                                              {NULL, 0, NULL}};
static const schema machine_spec[] = {{"machineType", S_ANY, NULL},
                                      {"acceleratorType", S_ANY, NULL},
                                      {"acceleratorCount", S_ANY, NULL},
                                      {"tpuTopology", S_ANY, NULL},
                                      {"reservationAffinity", S_OBJECT, reservation_affinity},
                                      {NULL, 0, NULL}};
static const schema disk_spec[] = {
    {"bootDiskType", S_ANY, NULL}, {"bootDiskSizeGb", S_ANY, NULL}, {NULL, 0, NULL}};
static const schema nfs_mount[] = {
    {"server", S_ANY, NULL}, {"path", S_ANY, NULL}, {"mountPoint", S_ANY, NULL}, {NULL, 0, NULL}};
static const schema worker_pool_spec[] = {{"containerSpec", S_OBJECT, container_spec},
                                          {"pythonPackageSpec", S_OBJECT, python_package_spec},
                                          {"machineSpec", S_OBJECT, machine_spec},
                                          {"replicaCount", S_ANY, NULL},
                                          {"nfsMounts", S_ARRAY, nfs_mount},
                                          {"diskSpec", S_OBJECT, disk_spec},
                                          {NULL, 0, NULL}};
static const schema scheduling[] = {
    {"timeout", S_ANY, NULL},         {"restartJobOnWorkerRestart", S_ANY, NULL},
    {"strategy", S_ANY, NULL},        {"disableRetries", S_ANY, NULL},
    {"maxWaitDuration", S_ANY, NULL}, {NULL, 0, NULL}};
static const schema job_spec[] = {{"workerPoolSpecs", S_ARRAY, worker_pool_spec},
                                  {"scheduling", S_OBJECT, scheduling},
                                  {"serviceAccount", S_ANY, NULL},
                                  {"network", S_ANY, NULL},
                                  {"reservedIpRanges", S_ANY, NULL},
                                  {"baseOutputDirectory", S_ANY, NULL},
                                  {"protectedArtifactLocationId", S_ANY, NULL},
                                  {"tensorboard", S_ANY, NULL},
                                  {"enableWebAccess", S_ANY, NULL},
                                  {"enableDashboardAccess", S_ANY, NULL},
                                  {"experiment", S_ANY, NULL},
                                  {"experimentRun", S_ANY, NULL},
                                  {"models", S_ANY, NULL},
                                  {"persistentResourceId", S_ANY, NULL},
                                  {NULL, 0, NULL}};
static const schema encryption_spec[] = {{"kmsKeyName", S_ANY, NULL}, {NULL, 0, NULL}};
static const schema custom_job[] = {{"displayName", S_ANY, NULL},
                                    {"jobSpec", S_OBJECT, job_spec},
                                    {"labels", S_LABELS, NULL},
                                    {"encryptionSpec", S_OBJECT, encryption_spec},
                                    {NULL, 0, NULL}};
static const schema pipeline_overrides[] = {
    {"displayName", S_ANY, NULL}, {"labels", S_LABELS, NULL}, {NULL, 0, NULL}};

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
}

/* The CustomJob template: the schema, plus what Vertex requires of it. */
void rules_check_job(rules_problems *p, const char *path, const json_t *job)
{
    char sub[RULES_PATH_MAX], pool_path[RULES_PATH_MAX];
    if (!json_is_object(job)) {
        rules_problem(p, path, "must be an object (a Vertex AI CustomJob)");
        return;
    }
    check_schema(p, path, job, custom_job);
    if (!nonempty_string(json_object_get(job, "displayName"))) {
        rules_path(sub, path, ".displayName");
        rules_problem(p, sub, "required, a non-empty string");
    }
    const json_t *spec = json_object_get(job, "jobSpec");
    rules_path(sub, path, ".jobSpec");
    if (!spec) {
        rules_problem(p, sub, "required, an object with workerPoolSpecs");
        return;
    }
    if (!json_is_object(spec))
        return; /* reported by the schema */
    const json_t *pools = json_object_get(spec, "workerPoolSpecs");
    rules_path(sub, sub, ".workerPoolSpecs");
    if (!json_is_array(pools) || json_array_size(pools) == 0) {
        if (!pools || json_is_array(pools))
            rules_problem(p, sub, "required, a non-empty array");
        return;
    }
    size_t i;
    const json_t *pool;
    json_array_foreach(pools, i, pool)
    {
        rules_path(pool_path, sub, "[%zu]", i);
        if (!json_is_object(pool))
            continue; /* reported by the schema */
        bool container = json_object_get(pool, "containerSpec") != NULL;
        bool python = json_object_get(pool, "pythonPackageSpec") != NULL;
        if (container == python)
            rules_problem(p, pool_path, "needs exactly one of containerSpec and pythonPackageSpec");
        const json_t *machine = json_object_get(pool, "machineSpec");
        if (!json_is_object(machine) || !nonempty_string(json_object_get(machine, "machineType"))) {
            char m[RULES_PATH_MAX];
            rules_path(m, pool_path, ".machineSpec.machineType");
            if (!machine || json_is_object(machine))
                rules_problem(p, m, "required, a non-empty string");
        }
    }
}

void rules_check_pipeline(rules_problems *p, const char *path, const json_t *pipeline)
{
    if (!json_is_object(pipeline))
        rules_problem(p, path, "must be an object");
    else
        check_schema(p, path, pipeline, pipeline_overrides);
}
