/* rules_batch — a rule's "batch" section: the conditions that close a batch, its key and where
 * its manifest goes (see rules.h, "Batches"). Compiled with the rule; every problem is reported
 * under its JSON path. */
#include "rules.h"
#include "rules_internal.h"

#include <stdio.h>
#include <string.h>

#include "glob.h"
#include "template.h"

#define MAX_PERIOD_S (7 * 86400) /* the ledger keeps finished records 7 days by default */
#define MAX_MIN_EVENTS 100000
#define KEY_MAX 512

static const char *const batch_keys[] = {"quiet_period_s", "min_events", "marker",  "max_wait_s",
                                         "on_timeout",     "key",        "manifest"};

/* An integer member NAME of OBJ in 1..MAX into *OUT (0 when absent). */
static void seconds(problems *p, const char *path, const json_t *obj, const char *name, int max,
                    const char *unit, int *out)
{
    const json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v)
        return;
    char sub[PROBLEM_PATH_MAX];
    problem_path(sub, path, ".%s", name);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
        problem_add(p, sub, "must be an integer from 1 to %d (%s)", max, unit);
    else
        *out = (int)json_integer_value(v);
}

/* Cloud Storage's bucket names: 3-63 of [a-z0-9_.-] (222 with dots), starting and ending with
 * a letter or digit. */
static bool bucket_valid(const char *s, size_t n)
{
    if (n < 3 || n > 222 || (n > 63 && !memchr(s, '.', n)))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && ((i == 0 || i == n - 1) || !strchr("-_.", c)))
            return false;
    }
    return true;
}

/* "gs://BUCKET" or "gs://BUCKET/PREFIX" (no empty segment, no trailing '/'). */
static const char *manifest_problem(const char *uri)
{
    if (strncmp(uri, "gs://", 5) != 0)
        return "must be gs://BUCKET or gs://BUCKET/PREFIX";
    const char *bucket = uri + 5, *slash = strchr(bucket, '/');
    size_t n = slash ? (size_t)(slash - bucket) : strlen(bucket);
    if (!bucket_valid(bucket, n))
        return "names no valid Cloud Storage bucket";
    if (template_has_placeholder(uri))
        return "is literal: a placeholder is not expanded here (the manifest is PREFIX/RULE/RUN_ID"
               ".jsonl)";
    if (slash && (!slash[1] || strstr(slash, "//") || uri[strlen(uri) - 1] == '/'))
        return "has an empty path segment (write gs://BUCKET/PREFIX without a trailing '/')";
    if (strlen(uri) > 512)
        return "is longer than 512 bytes";
    return NULL;
}

void rules_compile_batch(problems *p, const char *path, const json_t *obj, rules_batch *b,
                         glob_pattern **marker)
{
    char sub[PROBLEM_PATH_MAX];
    memset(b, 0, sizeof *b);
    b->key = "${rule}";
    if (!json_is_object(obj)) {
        problem_add(p, path, "must be an object");
        return;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof batch_keys / sizeof batch_keys[0]; i++)
            known |= strcmp(batch_keys[i], name) == 0;
        if (!known) {
            problem_path(sub, path, ".%.64s", name);
            problem_add(p, sub,
                        "unknown key (known: quiet_period_s, min_events, marker, "
                        "max_wait_s, on_timeout, key, manifest)");
        }
    }
    seconds(p, path, obj, "quiet_period_s", MAX_PERIOD_S, "seconds", &b->quiet_period_s);
    seconds(p, path, obj, "max_wait_s", MAX_PERIOD_S, "seconds", &b->max_wait_s);
    seconds(p, path, obj, "min_events", MAX_MIN_EVENTS, "events", &b->min_events);

    if ((v = json_object_get(obj, "marker"))) {
        problem_path(sub, path, ".marker");
        char msg[256];
        if (!json_is_string(v))
            problem_add(p, sub, "must be a glob over object names, such as \"**/_SUCCESS\"");
        else if (glob_compile(json_string_value(v), marker, msg, sizeof msg) != GLOB_OK)
            problem_add(p, sub, "%s", msg);
        else
            b->marker = json_string_value(v);
    }
    if (json_object_get(obj, "marker"))
        b->key = "${rule}/${name_dir}"; /* a marker closes the batch of its own directory */
    if ((v = json_object_get(obj, "on_timeout"))) {
        problem_path(sub, path, ".on_timeout");
        const char *t = json_string_value(v);
        if (!t || (strcmp(t, "submit") != 0 && strcmp(t, "expire") != 0))
            problem_add(p, sub, "must be \"submit\" or \"expire\"");
        else if (!json_object_get(obj, "max_wait_s"))
            problem_add(p, sub,
                        "needs max_wait_s: a batch times out only after max_wait_s, so "
                        "\"%s\" would never apply%s",
                        t, b->marker ? " (a batch whose marker never lands stays open)" : "");
        else
            b->expire = strcmp(t, "expire") == 0;
    }
    if (b->quiet_period_s && b->max_wait_s && b->quiet_period_s >= b->max_wait_s) {
        problem_path(sub, path, ".quiet_period_s");
        problem_add(p, sub,
                    "must be shorter than max_wait_s (%d): the deadline would always close the "
                    "batch first",
                    b->max_wait_s);
    }
    if ((v = json_object_get(obj, "key"))) {
        problem_path(sub, path, ".key");
        char msg[512];
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > KEY_MAX)
            problem_add(p, sub, "must be a template of 1-%d bytes, such as \"${rule}/${name_dir}\"",
                        KEY_MAX);
        else if (template_check_event(json_string_value(v), msg, sizeof msg) != 0)
            problem_add(p, sub, "%s", msg);
        else
            b->key = json_string_value(v);
    }
    if ((v = json_object_get(obj, "manifest"))) {
        problem_path(sub, path, ".manifest");
        const char *why = json_is_string(v) ? manifest_problem(json_string_value(v))
                                            : "must be gs://BUCKET or gs://BUCKET/PREFIX";
        if (why)
            problem_add(p, sub, "%s", why);
        else
            b->manifest = json_string_value(v);
    }
    if (!json_object_get(obj, "quiet_period_s") && !json_object_get(obj, "max_wait_s") &&
        !json_object_get(obj, "min_events") && !json_object_get(obj, "marker"))
        problem_add(p, path,
                    "closes never: set at least one of quiet_period_s, min_events, marker and "
                    "max_wait_s");
}

static void check_no_manifest(problems *p, const char *path, const char *s)
{
    if (template_names(s, "batch_manifest_uri"))
        problem_add(p, path,
                    "${batch_manifest_uri} needs the rule's batch.manifest (the gs:// location its "
                    "manifests are written to)");
}

/* Reports every string under V that names ${batch_manifest_uri}. */
void rules_check_no_manifest(problems *p, const char *path, const json_t *v)
{
    rules_walk_strings(p, path, v, check_no_manifest);
}
