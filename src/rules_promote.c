/* rules_promote — a registering rule's "promote" section: the evaluation gate between a new
 * model version and the alias that serves (see rules.h, "Promotion"). Compiled with the rule;
 * every problem is reported under its JSON path. */
#include "rules.h"
#include "rules_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "template.h"
#include "vertex_body.h"

#define METRIC_MAX 128
#define URI_MAX 1024

static const char *const promote_keys[] = {
    "alias", "metric", "goal", "min_delta", "candidate_alias", "require_evaluation", "metrics_uri"};

/* A valid Vertex alias member NAME of OBJ into *OUT (DEFLT when absent). */
static void alias(problems *p, const char *path, const json_t *obj, const char *name,
                  const char *deflt, const char **out)
{
    const json_t *v = json_object_get(obj, name);
    char sub[PROBLEM_PATH_MAX];
    problem_path(sub, path, ".%s", name);
    *out = deflt;
    if (!v) {
        if (!deflt)
            problem_add(p, sub, "required: the alias the gate moves, such as \"production\"");
        return;
    }
    const char *s = json_string_value(v);
    if (!s || !vtx_version_alias_valid(s, false))
        problem_add(p, sub, "not a valid Vertex alias: [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]");
    else
        *out = s;
}

static void check_uri(problems *p, const char *path, const char *s)
{
    char msg[512];
    if (strncmp(s, "gs://", 5) != 0 && strncmp(s, "${artifact_uri}", 15) != 0)
        problem_add(p, path, "must be a gs:// URI (a template: ${artifact_uri}/metrics.json)");
    else if (strlen(s) > URI_MAX)
        problem_add(p, path, "is longer than %d bytes", URI_MAX);
    else if (template_check_version(s, msg, sizeof msg) != 0)
        problem_add(p, path, "%s", msg);
}

void rules_compile_promote(problems *p, const char *path, const json_t *obj, rules_promote *out)
{
    char sub[PROBLEM_PATH_MAX];
    memset(out, 0, sizeof *out);
    out->require_evaluation = true;
    out->metrics_uri = "${artifact_uri}/metrics.json";
    if (!json_is_object(obj)) {
        problem_add(p, path, "must be an object");
        return;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof promote_keys / sizeof promote_keys[0]; i++)
            known |= strcmp(promote_keys[i], name) == 0;
        if (!known) {
            problem_path(sub, path, ".%.64s", name);
            problem_add(p, sub,
                        "unknown key (known: alias, metric, goal, min_delta, candidate_alias, "
                        "require_evaluation, metrics_uri)");
        }
    }
    alias(p, path, obj, "alias", NULL, &out->alias);
    alias(p, path, obj, "candidate_alias", "candidate", &out->candidate_alias);
    if (out->alias && out->candidate_alias && strcmp(out->alias, out->candidate_alias) == 0) {
        problem_path(sub, path, ".candidate_alias");
        problem_add(p, sub,
                    "must differ from alias \"%s\": a new version would serve before the gate "
                    "decides",
                    out->alias);
    } else if (out->candidate_alias && strcmp(out->candidate_alias, "default") == 0) {
        problem_path(sub, path, ".candidate_alias");
        problem_add(p, sub,
                    "must not be \"default\": the default version is what serving uses, so the "
                    "new version would serve before the gate decides");
    }

    problem_path(sub, path, ".metric");
    v = json_object_get(obj, "metric");
    if (!v)
        problem_add(p, sub, "required: the metric's name in the evaluation, such as \"auRoc\"");
    else if (!json_is_string(v) || json_string_length(v) == 0 ||
             json_string_length(v) > METRIC_MAX || strpbrk(json_string_value(v), " \t\r\n\"\\"))
        problem_add(p, sub, "must be a metric's name: 1-%d bytes, no spaces or quotes", METRIC_MAX);
    else
        out->metric = json_string_value(v);

    problem_path(sub, path, ".goal");
    v = json_object_get(obj, "goal");
    const char *goal = json_string_value(v);
    if (!v)
        problem_add(p, sub, "required: \"maximize\" (such as auRoc) or \"minimize\" (logLoss)");
    else if (goal && strcmp(goal, "maximize") == 0)
        out->minimize = false;
    else if (goal && strcmp(goal, "minimize") == 0)
        out->minimize = true;
    else
        problem_add(p, sub, "unknown goal \"%.64s\": \"maximize\" or \"minimize\"",
                    goal ? goal : "(not a string)");

    if ((v = json_object_get(obj, "min_delta"))) {
        problem_path(sub, path, ".min_delta");
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d) || d < 0)
            problem_add(p, sub,
                        "must be a number >= 0: how much better a new version must be to serve");
        else
            out->min_delta = d;
    }
    if ((v = json_object_get(obj, "require_evaluation"))) {
        problem_path(sub, path, ".require_evaluation");
        if (!json_is_boolean(v))
            problem_add(p, sub, "must be true or false");
        else
            out->require_evaluation = json_is_true(v);
    }
    if ((v = json_object_get(obj, "metrics_uri"))) {
        problem_path(sub, path, ".metrics_uri");
        if (!json_is_string(v))
            problem_add(p, sub, "must be a gs:// URI template");
        else {
            int before = p->count;
            check_uri(p, sub, json_string_value(v));
            if (p->count == before)
                out->metrics_uri = json_string_value(v);
        }
    }
}

bool rules_promote_wins(const rules_promote *pr, double candidate, double champion)
{
    double by = pr->minimize ? champion - candidate : candidate - champion;
    return by > pr->min_delta;
}
