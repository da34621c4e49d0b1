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
#include "template.h"
#include "vertex_schema.h"

/* ---- the CustomJob schema (vertex_schema.h) ------------------------------------------------ */

static const vs_field pipeline_overrides[] = {VS_F("displayName", VS_STRING),
                                              VS_F("labels", VS_LABELS), VS_END};

void rules_walk_strings(problems *p, const char *path, const json_t *v,
                        void (*check)(problems *p, const char *path, const char *s))
{
    char sub[PROBLEM_PATH_MAX];
    if (json_is_string(v)) {
        check(p, path, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            problem_path(sub, path, "[%zu]", i);
            rules_walk_strings(p, sub, item, check);
        }
    } else if (json_is_object(v)) {
        const char *key;
        const json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            problem_path(sub, path, ".%.64s", key);
            rules_walk_strings(p, sub, item, check);
        }
    }
}

static void check_template(problems *p, const char *path, const char *s)
{
    char msg[256];
    if (template_check(s, msg, sizeof msg) != 0)
        problem_add(p, path, "%s", msg);
}

/* Every string below V is a template: check its placeholders. */
void rules_check_templates(problems *p, const char *path, const json_t *v)
{
    rules_walk_strings(p, path, v, check_template);
}

void rules_check_labels(problems *p, const char *path, const json_t *v)
{
    char msg[256];
    if (labels_validate(v, msg, sizeof msg) != 0)
        problem_add(p, path, "%s", msg);
}

static void check_schema(problems *p, const char *path, const json_t *v, const vs_field *s);

/* Google's types, where every string is a template: a value that comes from the event is
 * checked by Vertex when it is sent; a literal is checked here. */
static void check_node(problems *p, const char *path, const json_t *v, const vs_field *f)
{
    char sub[PROBLEM_PATH_MAX];
    const char *text = json_string_value(v);
    switch (f->type) {
    case VS_STRING:
    case VS_DURATION:
        if (!json_is_string(v))
            problem_add(p, path, "must be a string");
        else if ((f->flags & VS_REQUIRED) && json_string_length(v) == 0)
            problem_add(p, path, "must be a non-empty string");
        else if (f->type == VS_DURATION && !strstr(text, "${") && !vs_duration_valid(text))
            problem_add(p, path, "must be a duration in seconds, such as \"3600s\"");
        else
            rules_check_templates(p, path, v);
        break;
    case VS_STRING_LIST: {
        bool ok = json_is_array(v);
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) ok &= json_is_string(item);
        if (!ok)
            problem_add(p, path, "must be an array of strings");
        else
            rules_check_templates(p, path, v);
        break;
    }
    case VS_INT64:
    case VS_INT32:
        if (!(json_is_integer(v) && json_integer_value(v) >= 0) &&
            !(text && *text && strspn(text, "0123456789") == strlen(text)))
            problem_add(p, path, "must be an integer >= 0 (or a string of digits)");
        break;
    case VS_BOOL:
        if (!json_is_boolean(v))
            problem_add(p, path, "must be true or false");
        break;
    case VS_ANY:
        rules_check_templates(p, path, v);
        break;
    case VS_LABELS:
        rules_check_labels(p, path, v);
        break;
    case VS_MESSAGE:
        if (!json_is_object(v))
            problem_add(p, path, "must be an object");
        else
            check_schema(p, path, v, f->fields);
        break;
    case VS_MESSAGE_LIST:
        if (!json_is_array(v)) {
            problem_add(p, path, "must be an array");
            break;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            problem_path(sub, path, "[%zu]", i);
            if (!json_is_object(item))
                problem_add(p, sub, "must be an object");
            else
                check_schema(p, sub, item, f->fields);
        }
        break;
    }
}

static void check_schema(problems *p, const char *path, const json_t *v, const vs_field *s)
{
    char sub[PROBLEM_PATH_MAX];
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item)
    {
        problem_path(sub, path, ".%.64s", key);
        const vs_field *f = NULL;
        for (const vs_field *c = s; c->name && !f; c++)
            if (strcmp(c->name, key) == 0)
                f = c;
        if (!f)
            problem_add(p, sub, "unknown key");
        else if (f->flags & VS_OUTPUT_ONLY)
            problem_add(p, sub, "is output only: Vertex AI sets it");
        else
            check_node(p, sub, item, f);
    }
    for (const vs_field *c = s; c->name; c++)
        if ((c->flags & VS_REQUIRED) && !json_object_get(v, c->name)) {
            problem_path(sub, path, ".%s", c->name);
            problem_add(p, sub, "required");
        }
}

/* The CustomJob template: the schema (which knows what is required), plus the rules a table
 * cannot say: at least one worker pool, each with exactly one kind of code. */
void rules_check_job(problems *p, const char *path, const json_t *job)
{
    char sub[PROBLEM_PATH_MAX], pool_path[PROBLEM_PATH_MAX];
    if (!json_is_object(job)) {
        problem_add(p, path, "must be an object (a Vertex AI CustomJob)");
        return;
    }
    check_schema(p, path, job, vs_custom_job);
    const json_t *pools = json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs");
    problem_path(sub, path, ".jobSpec.workerPoolSpecs");
    if (json_is_array(pools) && json_array_size(pools) == 0)
        problem_add(p, sub, "must hold at least one worker pool");
    size_t i;
    const json_t *pool;
    json_array_foreach(pools, i, pool)
    {
        problem_path(pool_path, sub, "[%zu]", i);
        if (json_is_object(pool) && (json_object_get(pool, "containerSpec") != NULL) ==
                                        (json_object_get(pool, "pythonPackageSpec") != NULL))
            problem_add(p, pool_path, "needs exactly one of containerSpec and pythonPackageSpec");
    }
}

void rules_check_pipeline(problems *p, const char *path, const json_t *pipeline)
{
    if (!json_is_object(pipeline))
        problem_add(p, path, "must be an object");
    else
        check_schema(p, path, pipeline, pipeline_overrides);
}
