/* rules — see rules.h.
 *
 * Compilation is validation: every rule is walked completely and each problem is recorded
 * under its JSON path, so check-config shows them all in one run (the CustomJob schema lives
 * in rules_job.c, placeholders in rules_template.c). A compiled rule keeps a private deep
 * copy of its JSON; every string it hands out points into that copy. */
#include "rules.h"
#include "rules_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "labels.h"
#include "template.h"
#include "vertex_body.h"

struct rule {
    json_t *src; /* deep copy of the rule object */
    const char *name;
    rules_action action;
    const char *type, *bucket, *source; /* match; NULL: any (type is required) */
    glob_pattern *name_glob, *subject_glob;
    bool allow_unsafe_names;
    const json_t *job, *pipeline, *labels;
    int min_interval_s;
    bool uses_run_id; /* a template names ${run_id}: the body is built once the run has one */
    bool batched;
    rules_batch batch;
    bool promotes;
    rules_promote promote;
    glob_pattern *marker;
    bool registers;
    rules_model model;
    const char **aliases;
};

struct rules {
    rule *items;
    size_t n;
};

static bool nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* ---- the model section ------------------------------------------------------------------ */

static bool id_chars(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c)) || c == 0)
            return false;
    }
    return true;
}

/* projects/P/locations/L/models/M, each segment a non-empty id. */
static bool valid_model_name(const char *s)
{
    static const char *const fixed[] = {"projects", "locations", "models"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(fixed[i]);
        if (strncmp(s, fixed[i], n) != 0 || s[n] != '/')
            return false;
        s += n + 1;
        size_t seg = strcspn(s, "/");
        if (seg == 0 || seg > 128 || !id_chars(s, seg, "-_"))
            return false;
        s += seg;
        if (i < 2 && *s++ != '/')
            return false;
    }
    return *s == '\0';
}

/* Vertex: up to 63 of [a-z0-9_-], not starting with a digit or '-'. */
static bool valid_model_id(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' && id_chars(s, n, "-_");
}

/* The Vertex client's own rule, so a rule that passes check-config is one Vertex accepts. */
static bool valid_alias(const char *s)
{
    return vtx_version_alias_valid(s, false);
}

/* A literal string setting: non-empty, no placeholder. Returns it, or NULL after a problem. */
static const char *literal_string(problems *p, const char *path, const json_t *v)
{
    if (!nonempty_string(v)) {
        problem_add(p, path, "must be a non-empty string");
        return NULL;
    }
    if (template_has_placeholder(json_string_value(v))) {
        problem_add(p, path, "placeholders are not expanded here; write the value itself");
        return NULL;
    }
    return json_string_value(v);
}

static const char *template_string(problems *p, const char *path, const json_t *v)
{
    if (!nonempty_string(v)) {
        problem_add(p, path, "must be a non-empty string");
        return NULL;
    }
    rules_check_templates(p, path, v);
    return json_string_value(v);
}

static void compile_model(problems *p, const char *path, const json_t *m, rule *r)
{
    char sub[PROBLEM_PATH_MAX];
    if (!json_is_object(m)) {
        problem_add(p, path, "must be an object");
        return;
    }
    rules_model *out = &r->model;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        problem_path(sub, path, ".%.64s", key);
        if (strcmp(key, "parent") == 0) {
            if ((out->parent = literal_string(p, sub, v)) && !valid_model_name(out->parent)) {
                problem_add(p, sub, "must look like projects/PROJECT/locations/REGION/models/ID");
                out->parent = NULL;
            }
        } else if (strcmp(key, "model_id") == 0) {
            if ((out->model_id = literal_string(p, sub, v)) && !valid_model_id(out->model_id))
                problem_add(
                    p, sub,
                    "must be 1-63 of [a-z0-9_-], starting with a letter (Vertex model ids)");
        } else if (strcmp(key, "container_image") == 0) {
            if ((out->container_image = literal_string(p, sub, v)) &&
                strpbrk(out->container_image, " \t\r\n"))
                problem_add(p, sub, "must be an image URI without spaces");
        } else if (strcmp(key, "display_name") == 0) {
            out->display_name = template_string(p, sub, v);
        } else if (strcmp(key, "description") == 0) {
            out->description = template_string(p, sub, v);
        } else if (strcmp(key, "artifact_uri") == 0) {
            out->artifact_uri = template_string(p, sub, v);
        } else if (strcmp(key, "labels") == 0) {
            rules_check_labels(p, sub, v);
            out->labels = v;
        } else if (strcmp(key, "aliases") == 0) {
            if (!json_is_array(v)) {
                problem_add(p, sub, "must be an array of strings");
                continue;
            }
            size_t n = json_array_size(v);
            r->aliases = calloc(n ? n : 1, sizeof *r->aliases);
            if (!r->aliases) {
                problem_add(p, sub, "out of memory");
                continue;
            }
            size_t i;
            const json_t *a;
            json_array_foreach(v, i, a)
            {
                char apath[PROBLEM_PATH_MAX];
                problem_path(apath, sub, "[%zu]", i);
                const char *s = json_string_value(a);
                if (!json_is_string(a) || !valid_alias(s)) {
                    problem_add(p, apath,
                                "not a valid Vertex alias: [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]");
                    continue;
                }
                bool dup = false;
                for (size_t j = 0; j < out->n_aliases; j++)
                    dup |= strcmp(r->aliases[j], s) == 0;
                if (dup)
                    problem_add(p, apath, "duplicate alias \"%s\"", s);
                else
                    r->aliases[out->n_aliases++] = s;
            }
            out->aliases = r->aliases;
        } else {
            problem_add(p, sub, "unknown key");
        }
    }
    if (json_object_get(m, "parent") && json_object_get(m, "model_id"))
        problem_add(
            p, path,
            "give parent (a new version of that model) or model_id (a new model), not both");
    else if (!json_object_get(m, "parent") && !json_object_get(m, "model_id")) {
        problem_path(sub, path, ".parent");
        problem_add(p, sub,
                    "required: projects/P/locations/L/models/ID (or model_id for a new model)");
    }
    if (!json_object_get(m, "container_image")) {
        problem_path(sub, path, ".container_image");
        problem_add(p, sub, "required: Vertex AI registers no model without a serving container");
    }
}

/* ---- one rule --------------------------------------------------------------------------- */

static void compile_glob(problems *p, const char *path, const json_t *v, glob_pattern **out)
{
    char msg[256];
    if (!nonempty_string(v)) {
        problem_add(p, path, "must be a non-empty string (a glob)");
        return;
    }
    if (glob_compile(json_string_value(v), out, msg, sizeof msg) != GLOB_OK)
        problem_add(p, path, "unsupported glob: %s", msg);
}

static void compile_match(problems *p, const char *path, const json_t *m, rule *r)
{
    char sub[PROBLEM_PATH_MAX];
    if (!json_is_object(m)) {
        problem_add(p, path, "must be an object with at least \"type\"");
        return;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        problem_path(sub, path, ".%.64s", key);
        const char **exact = strcmp(key, "type") == 0     ? &r->type
                             : strcmp(key, "bucket") == 0 ? &r->bucket
                             : strcmp(key, "source") == 0 ? &r->source
                                                          : NULL;
        if (exact) {
            if (!nonempty_string(v))
                problem_add(p, sub, "must be a non-empty string");
            else
                *exact = json_string_value(v);
        } else if (strcmp(key, "name") == 0) {
            compile_glob(p, sub, v, &r->name_glob);
        } else if (strcmp(key, "subject") == 0) {
            compile_glob(p, sub, v, &r->subject_glob);
        } else if (strcmp(key, "allow_unsafe_names") == 0) {
            if (!json_is_boolean(v))
                problem_add(p, sub, "must be true or false");
            r->allow_unsafe_names = json_is_true(v);
        } else {
            problem_add(p, sub, "unknown key");
        }
    }
    if (!json_object_get(m, "type")) {
        problem_path(sub, path, ".type");
        problem_add(p, sub, "required, e.g. \"google.cloud.storage.object.v1.finalized\"");
    }
}

static const char *const rule_keys[] = {"name",  "match",          "action", "job",   "pipeline",
                                        "model", "min_interval_s", "labels", "batch", "promote"};

/* The action and the sections it needs. When the action is missing or unknown, the sections
 * present are still checked on their own, so one run reports their problems too. */
static void compile_action(problems *p, const char *path, const json_t *obj, rule *r)
{
    char sub[PROBLEM_PATH_MAX];
    const json_t *action = json_object_get(obj, "action");
    const char *a = json_string_value(action);
    bool known = true;
    problem_path(sub, path, ".action");
    if (!action) {
        problem_add(p, sub, "required: train, train_and_register or register");
        known = false;
    } else if (a && strcmp(a, "train") == 0) {
        r->action = RULES_TRAIN;
    } else if (a && strcmp(a, "train_and_register") == 0) {
        r->action = RULES_TRAIN_AND_REGISTER;
    } else if (a && strcmp(a, "register") == 0) {
        r->action = RULES_REGISTER;
    } else {
        problem_add(p, sub, "unknown action \"%.64s\" (train, train_and_register or register)",
                    a ? a : "(not a string)");
        known = false;
    }
    const char *name = rules_action_name(r->action);
    bool wants_job = r->action != RULES_REGISTER;
    r->registers = r->action != RULES_TRAIN;
    const json_t *job = json_object_get(obj, "job");
    const json_t *model = json_object_get(obj, "model");
    const json_t *pipeline = json_object_get(obj, "pipeline");

    problem_path(sub, path, ".job");
    if (known && wants_job && !job)
        problem_add(p, sub, "required for action %s (a Vertex AI CustomJob)", name);
    else if (known && !wants_job && job)
        problem_add(p, sub, "not used by action %s", name);
    else if (job)
        rules_check_job(p, sub, job);
    r->job = job;

    problem_path(sub, path, ".model");
    if (known && r->registers && !model)
        problem_add(p, sub, "required for action %s", name);
    else if (known && !r->registers && model)
        problem_add(p, sub, "not used by action %s", name);
    else if (model)
        compile_model(p, sub, model, r);

    problem_path(sub, path, ".pipeline");
    if (known && pipeline && r->action != RULES_TRAIN_AND_REGISTER)
        problem_add(p, sub, "only used by action train_and_register");
    else if (pipeline)
        rules_check_pipeline(p, sub, pipeline);
    r->pipeline = pipeline;
}

static void compile_rule(problems *p, const char *path, const json_t *obj, rule *r)
{
    char sub[PROBLEM_PATH_MAX];
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof rule_keys / sizeof rule_keys[0]; i++)
            known |= strcmp(rule_keys[i], key) == 0;
        if (!known) {
            problem_path(sub, path, ".%.64s", key);
            problem_add(p, sub, "unknown key");
        }
    }

    const json_t *name = json_object_get(obj, "name");
    problem_path(sub, path, ".name");
    if (!name)
        problem_add(p, sub, "required");
    else if (!nonempty_string(name) || !labels_value_valid(json_string_value(name)))
        problem_add(p, sub,
                    "must be 1-63 lower-case letters, digits, '_' or '-' (it becomes a label "
                    "value on what the rule creates)");
    else
        r->name = json_string_value(name);

    const json_t *match = json_object_get(obj, "match");
    problem_path(sub, path, ".match");
    if (!match)
        problem_add(p, sub, "required, an object with at least \"type\"");
    else
        compile_match(p, sub, match, r);

    compile_action(p, path, obj, r);

    const json_t *interval = json_object_get(obj, "min_interval_s");
    if (interval) {
        problem_path(sub, path, ".min_interval_s");
        if (!json_is_integer(interval) || json_integer_value(interval) < 0 ||
            json_integer_value(interval) > INT_MAX)
            problem_add(p, sub, "must be an integer >= 0 (seconds)");
        else
            r->min_interval_s = (int)json_integer_value(interval);
    }

    const json_t *labels = json_object_get(obj, "labels");
    if (labels) {
        problem_path(sub, path, ".labels");
        rules_check_labels(p, sub, labels);
        r->labels = labels;
    }

    const json_t *batch = json_object_get(obj, "batch");
    if (batch) {
        problem_path(sub, path, ".batch");
        rules_compile_batch(p, sub, batch, &r->batch, &r->marker);
        r->batched = true;
        if (interval) {
            problem_path(sub, path, ".min_interval_s");
            problem_add(p, sub,
                        "not with batch: a batched rule submits once per batch (use "
                        "batch.quiet_period_s to wait for a pause)");
        }
    }
    const json_t *promote = json_object_get(obj, "promote");
    if (promote) {
        problem_path(sub, path, ".promote");
        if (json_object_get(obj, "action") && !r->registers)
            problem_add(p, sub,
                        "only for actions that register a model version (train_and_register, "
                        "register)");
        rules_compile_promote(p, sub, promote, &r->promote);
        r->promotes = true;
        if (json_object_get(json_object_get(obj, "model"), "aliases")) {
            problem_path(sub, path, ".model.aliases");
            problem_add(p, sub,
                        "not with promote: a new version carries promote.candidate_alias only, "
                        "and the gate moves promote.alias when it wins");
        }
    }
    if (!r->batched || !r->batch.manifest) {
        static const char *const sections[] = {"job", "pipeline", "model"};
        for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
            problem_path(sub, path, ".%s", sections[i]);
            rules_check_no_manifest(p, sub, json_object_get(obj, sections[i]));
        }
    }
}

static void rule_clear(rule *r)
{
    glob_free(r->marker);
    glob_free(r->name_glob);
    glob_free(r->subject_glob);
    free(r->aliases);
    json_decref(r->src);
}

void rules_free(rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        rule_clear(&rs->items[i]);
    free(rs->items);
    free(rs);
}

int rules_compile(const json_t *rules_array, rules **out, char *err, size_t errlen)
{
    problems p = {.buf = err, .cap = errlen};
    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    if (rules_array && !json_is_array(rules_array)) {
        problem_add(&p, "rules", "must be an array");
        return -1;
    }
    size_t n = rules_array ? json_array_size(rules_array) : 0;
    rules *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->items = calloc(n ? n : 1, sizeof *rs->items))) {
        free(rs);
        problem_add(&p, "rules", "out of memory");
        return -1;
    }
    rs->n = n;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "rules[%zu]", i);
        rule *r = &rs->items[i];
        const json_t *obj = json_array_get(rules_array, i);
        if (!json_is_object(obj)) {
            problem_add(&p, path, "must be an object");
            continue;
        }
        if (!(r->src = json_deep_copy(obj))) {
            problem_add(&p, path, "out of memory");
            continue;
        }
        compile_rule(&p, path, r->src, r);
        char *text = json_dumps(r->src, JSON_COMPACT);
        r->uses_run_id = !text || strstr(text, "${run_id}"); /* unsure: build it again */
        free(text);
        for (size_t j = 0; r->name && j < i; j++)
            if (rs->items[j].name && strcmp(rs->items[j].name, r->name) == 0) {
                char sub[PROBLEM_PATH_MAX];
                problem_path(sub, path, ".name");
                problem_add(&p, sub, "duplicate of rules[%zu].name \"%s\"", j, r->name);
                break;
            }
    }
    if (p.count) {
        rules_free(rs);
        return -1;
    }
    *out = rs;
    return 0;
}

/* ---- matching and accessors ------------------------------------------------------------- */

/* The same lookup as ce_extension(); kept here so that the rules module needs only the
 * cloudevent struct, not its parser. */
static const char *event_extension(const cloudevent *ev, const char *name)
{
    for (size_t i = 0; i < ev->n_extensions; i++)
        if (strcmp(ev->extensions[i].name, name) == 0)
            return ev->extensions[i].value;
    return NULL;
}

const char *rules_event_bucket(const cloudevent *ev, const storage_object *obj)
{
    return obj ? obj->bucket : event_extension(ev, "bucket");
}

const char *rules_event_object_name(const cloudevent *ev, const storage_object *obj)
{
    if (obj)
        return obj->name;
    if (ev->subject && strncmp(ev->subject, "objects/", 8) == 0 && ev->subject[8])
        return ev->subject + 8;
    return NULL;
}

static bool rule_matches(const rule *r, const cloudevent *ev, const storage_object *obj)
{
    if (strcmp(r->type, ev->type) != 0)
        return false;
    if (r->source && strcmp(r->source, ev->source) != 0)
        return false;
    if (r->bucket) {
        const char *bucket = rules_event_bucket(ev, obj);
        if (!bucket || strcmp(r->bucket, bucket) != 0)
            return false;
    }
    if (r->name_glob) {
        const char *name = rules_event_object_name(ev, obj);
        if (!name || !glob_match(r->name_glob, name))
            return false;
    }
    if (r->subject_glob && (!ev->subject || !glob_match(r->subject_glob, ev->subject)))
        return false;
    return true;
}

/* What is unsafe about the event's bucket or object name, or NULL. */
static const char *unsafe_event(const cloudevent *ev, const storage_object *obj, size_t *offset,
                                const char **what)
{
    const char *bucket = rules_event_bucket(ev, obj), *name = rules_event_object_name(ev, obj);
    *offset = 0;
    const char *why = bucket ? rules_unsafe_bucket(bucket, offset) : NULL;
    *what = "bucket";
    if (!why && name) {
        why = rules_unsafe_name(name, offset);
        *what = "object name";
    }
    return why;
}

const rule *rules_match_why(const rules *rs, const cloudevent *ev, const storage_object *obj,
                            char *why, size_t whylen)
{
    size_t offset;
    const char *what, *unsafe = unsafe_event(ev, obj, &offset, &what);
    const rule *refused = NULL;
    if (why && whylen)
        why[0] = '\0';
    for (size_t i = 0; i < rs->n; i++) {
        const rule *r = &rs->items[i];
        if (!rule_matches(r, ev, obj))
            continue;
        if (!unsafe || r->allow_unsafe_names)
            return r;
        if (!refused)
            refused = r;
    }
    if (refused && why && whylen)
        snprintf(why, whylen,
                 "rule %s would match, but the %s has %s (at byte %zu), which no rule takes "
                 "unless its match sets allow_unsafe_names",
                 refused->name, what, unsafe, offset);
    return NULL;
}

const rule *rules_match(const rules *rs, const cloudevent *ev, const storage_object *obj)
{
    return rules_match_why(rs, ev, obj, NULL, 0);
}

size_t rules_count(const rules *rs)
{
    return rs->n;
}

const rule *rules_at(const rules *rs, size_t i)
{
    return i < rs->n ? &rs->items[i] : NULL;
}

const rule *rules_find(const rules *rs, const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->items[i].name, name) == 0)
            return &rs->items[i];
    return NULL;
}

const char *rules_name(const rule *r)
{
    return r->name;
}

rules_action rules_action_of(const rule *r)
{
    return r->action;
}

const json_t *rules_job(const rule *r)
{
    return r->job;
}

const json_t *rules_pipeline(const rule *r)
{
    return r->pipeline;
}

const rules_model *rules_model_of(const rule *r)
{
    return r->registers ? &r->model : NULL;
}

const json_t *rules_labels(const rule *r)
{
    return r->labels;
}

const rules_promote *rules_promote_of(const rule *r)
{
    return r->promotes ? &r->promote : NULL;
}

const rules_batch *rules_batch_of(const rule *r)
{
    return r->batched ? &r->batch : NULL;
}

char *rules_batch_manifest_uri(const rule *r, const char *run_id, arena *a)
{
    const rules_batch *b = rules_batch_of(r);
    if (!b || !b->manifest)
        return NULL;
    return arena_printf(a, "%s/%s/%s.jsonl", b->manifest, r->name, run_id);
}

bool rules_batch_marks(const rule *r, const char *name)
{
    return r->marker && name && glob_match(r->marker, name);
}

bool rules_uses_run_id(const rule *r)
{
    return r->uses_run_id;
}

int rules_min_interval_s(const rule *r)
{
    return r->min_interval_s;
}

const char *rules_action_name(rules_action a)
{
    switch (a) {
    case RULES_TRAIN:
        return "train";
    case RULES_TRAIN_AND_REGISTER:
        return "train_and_register";
    case RULES_REGISTER:
        return "register";
    }
    return "unknown";
}
