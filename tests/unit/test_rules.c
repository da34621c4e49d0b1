/* Unit tests for src/rules: compiling (every malformed rule with its JSON path), matching
 * events, and expanding templates. Events are built by hand: cloudevent is a plain struct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define FINALIZED "google.cloud.storage.object.v1.finalized"

/* The rule from the config documentation: train_and_register on churn CSVs. */
static const char churn_rule[] =
    "{\"name\": \"churn\","
    " \"match\": {\"type\": \"" FINALIZED "\", \"bucket\": \"acme-data\","
    "             \"name\": \"datasets/churn/**.csv\"},"
    " \"action\": \"train_and_register\","
    " \"job\": {\"displayName\": \"churn-${event_key}\", \"jobSpec\": {\"workerPoolSpecs\": [{"
    "   \"machineSpec\": {\"machineType\": \"n1-standard-4\"}, \"replicaCount\": \"1\","
    "   \"containerSpec\": {\"imageUri\": \"us-docker.pkg.dev/p/r/train:latest\","
    "                       \"args\": [\"--data=${gcs_uri}\"]}}]}},"
    " \"model\": {\"parent\": \"projects/p/locations/us-central1/models/123\","
    "            \"aliases\": [\"default\"],"
    "            \"container_image\": \"us-docker.pkg.dev/p/r/serve:latest\","
    "            \"display_name\": \"churn\"},"
    " \"min_interval_s\": 600}";

static const char register_rule[] =
    "{\"name\": \"saved-models\","
    " \"match\": {\"type\": \"" FINALIZED "\", \"name\": \"models/**/saved_model.pb\"},"
    " \"action\": \"register\","
    " \"model\": {\"model_id\": \"saved-models\","
    "            \"container_image\": \"us-docker.pkg.dev/p/r/serve:latest\"},"
    " \"labels\": {\"team\": \"ml\"}}";

static const char train_rule[] =
    "{\"name\": \"nightly\","
    " \"match\": {\"type\": \"" FINALIZED "\", \"bucket\": \"other\"},"
    " \"action\": \"train\","
    " \"job\": {\"displayName\": \"nightly-${generation}\", \"jobSpec\": {\"workerPoolSpecs\": [{"
    "   \"machineSpec\": {\"machineType\": \"n1-standard-4\"}, \"replicaCount\": 1,"
    "   \"containerSpec\": {\"imageUri\": \"img\"}}]}}}";

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON: %s at %d:%d", e.text, e.line, e.column);
    return v;
}

/* An array of the given rule texts. */
static json_t *array_of(const char *a, const char *b, const char *c)
{
    json_t *arr = json_array();
    const char *items[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (items[i])
            json_array_append_new(arr, load(items[i]));
    return arr;
}

/* ---- compiling valid rules -------------------------------------------------------------- */

static void test_compile_valid_rules(void **state)
{
    (void)state;
    json_t *arr = array_of(churn_rule, register_rule, train_rule);
    rules *rs;
    char err[4096];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr); /* the compiled rules keep their own copy */
    assert_int_equal(rules_count(rs), 3);

    const rule *churn = rules_at(rs, 0);
    assert_string_equal(rules_name(churn), "churn");
    assert_int_equal(rules_action_of(churn), RULES_TRAIN_AND_REGISTER);
    assert_int_equal(rules_min_interval_s(churn), 600);
    assert_string_equal(json_string_value(json_object_get(rules_job(churn), "displayName")),
                        "churn-${event_key}");
    assert_null(rules_pipeline(churn));
    assert_null(rules_labels(churn));
    const rules_model *m = rules_model_of(churn);
    assert_non_null(m);
    assert_string_equal(m->parent, "projects/p/locations/us-central1/models/123");
    assert_null(m->model_id);
    assert_string_equal(m->container_image, "us-docker.pkg.dev/p/r/serve:latest");
    assert_string_equal(m->display_name, "churn");
    assert_int_equal(m->n_aliases, 1);
    assert_string_equal(m->aliases[0], "default");

    const rule *reg = rules_find(rs, "saved-models");
    assert_ptr_equal(reg, rules_at(rs, 1));
    assert_int_equal(rules_action_of(reg), RULES_REGISTER);
    assert_null(rules_job(reg));
    assert_string_equal(rules_model_of(reg)->model_id, "saved-models");
    assert_null(rules_model_of(reg)->parent);
    assert_string_equal(json_string_value(json_object_get(rules_labels(reg), "team")), "ml");
    assert_int_equal(rules_min_interval_s(reg), 0);

    const rule *nightly = rules_find(rs, "nightly");
    assert_int_equal(rules_action_of(nightly), RULES_TRAIN);
    assert_null(rules_model_of(nightly));
    assert_null(rules_find(rs, "absent"));
    assert_null(rules_at(rs, 3));
    rules_free(rs);
}

static void test_compile_empty(void **state)
{
    (void)state;
    rules *rs;
    char err[64];
    json_t *arr = json_array();
    assert_int_equal(rules_compile(arr, &rs, err, sizeof err), 0);
    assert_int_equal(rules_count(rs), 0);
    rules_free(rs);
    json_decref(arr);
    assert_int_equal(rules_compile(NULL, &rs, err, sizeof err), 0);
    assert_int_equal(rules_count(rs), 0);
    rules_free(rs);
    rules_free(NULL);
}

static void test_pipeline_and_model_templates(void **state)
{
    (void)state;
    json_t *r = load(churn_rule);
    json_object_set_new(r, "pipeline",
                        load("{\"displayName\": \"churn-pipeline-${event_key}\","
                             " \"labels\": {\"kind\": \"pipeline\"}}"));
    json_t *model = json_object_get(r, "model");
    json_object_set_new(model, "artifact_uri", json_string("gs://${bucket}/out/${generation}/"));
    json_object_set_new(model, "description", json_string("from ${name}; cost $5, $${x}"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    const rule *churn = rules_at(rs, 0);
    assert_string_equal(json_string_value(json_object_get(rules_pipeline(churn), "displayName")),
                        "churn-pipeline-${event_key}");
    assert_string_equal(rules_model_of(churn)->artifact_uri, "gs://${bucket}/out/${generation}/");
    rules_free(rs);
    json_decref(arr);
}

/* ---- problems --------------------------------------------------------------------------- */

/* Compiles ARR (stolen) and checks the error lists exactly the N expected lines, in any
 * order; each expected line must equal a reported line up to the expected text's length. */
static void expect_problems(json_t *arr, int n, ...)
{
    rules *rs = (rules *)1;
    char err[8192];
    int rc = rules_compile(arr, &rs, err, sizeof err);
    json_decref(arr);
    if (rc == 0)
        fail_msg("compiled, but %d problems were expected", n);
    assert_null(rs);
    int lines = 1;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        bool found = false;
        for (const char *line = err; line && *line;) {
            if (strncmp(line, want, strlen(want)) == 0)
                found = true;
            line = strchr(line, '\n');
            line = line ? line + 1 : NULL;
        }
        if (!found)
            fail_msg("expected a line starting \"%s\" in:\n%s", want, err);
    }
    va_end(ap);
    if (lines != n)
        fail_msg("expected %d problems, got %d:\n%s", n, lines, err);
}

/* One rule: the churn rule with KEY (a dotted path of objects) set to VALUE_JSON, or removed
 * when VALUE_JSON is NULL. */
static json_t *churn_with(const char *key, const char *value_json)
{
    json_t *r = load(churn_rule);
    char path[256];
    snprintf(path, sizeof path, "%s", key);
    json_t *obj = r;
    char *last = path, *dot;
    while ((dot = strchr(last, '.'))) {
        *dot = '\0';
        obj = json_object_get(obj, last);
        if (json_is_array(obj))
            obj = json_array_get(obj, 0);
        assert_non_null(obj);
        last = dot + 1;
    }
    if (value_json)
        json_object_set_new(obj, last, load(value_json));
    else
        json_object_del(obj, last);
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    return arr;
}

static void test_not_an_array(void **state)
{
    (void)state;
    expect_problems(load("{\"name\": \"x\"}"), 1, "rules: must be an array");
    expect_problems(load("[1, \"x\"]"), 2, "rules[0]: must be an object",
                    "rules[1]: must be an object");
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_problems(churn_with("actoin", "\"train\""), 1, "rules[0].actoin: unknown key");
    expect_problems(churn_with("match.size", "\"1\""), 1, "rules[0].match.size: unknown key");
    expect_problems(churn_with("model.version", "\"2\""), 1, "rules[0].model.version: unknown key");
    expect_problems(churn_with("job.name", "\"x\""), 1, "rules[0].job.name: is output only");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.image", "\"x\""), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.image: unknown key");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.machineSpec.gpus", "2"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].machineSpec.gpus: unknown key");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.env",
                               "[{\"name\": \"A\", \"valu\": \"1\"}]"),
                    1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.env[0].valu: "
                    "unknown key");
    expect_problems(churn_with("pipeline", "{\"displayName\": \"p\", \"trainingTaskInputs\": {}}"),
                    1, "rules[0].pipeline.trainingTaskInputs: unknown key");
}

static void test_name_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("name", NULL), 1, "rules[0].name: required");
    expect_problems(churn_with("name", "7"), 1, "rules[0].name: must be 1-63 lower-case");
    expect_problems(churn_with("name", "\"\""), 1, "rules[0].name: must be 1-63 lower-case");
    expect_problems(churn_with("name", "\"Churn\""), 1, "rules[0].name: must be 1-63 lower-case");
    expect_problems(churn_with("name", "\"churn model\""), 1, "rules[0].name: must be 1-63");
    expect_problems(
        churn_with("name", "\"a123456789012345678901234567890123456789012345678901234567890123\""),
        1, "rules[0].name: must be 1-63");
    /* Exactly 63 characters is a valid label value. */
    json_t *arr =
        churn_with("name", "\"a12345678901234567890123456789012345678901234567890123456789012\"");
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    rules_free(rs);
    json_decref(arr);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    json_t *arr = array_of(churn_rule, train_rule, churn_rule);
    expect_problems(arr, 1, "rules[2].name: duplicate of rules[0].name \"churn\"");
}

static void test_match_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("match", NULL), 1, "rules[0].match: required");
    expect_problems(churn_with("match", "\"x\""), 1, "rules[0].match: must be an object");
    expect_problems(churn_with("match.type", NULL), 1, "rules[0].match.type: required");
    expect_problems(churn_with("match.type", "\"\""), 1,
                    "rules[0].match.type: must be a non-empty string");
    expect_problems(churn_with("match.bucket", "[\"a\"]"), 1,
                    "rules[0].match.bucket: must be a non-empty string");
    expect_problems(churn_with("match.source", "\"\""), 1,
                    "rules[0].match.source: must be a non-empty string");
    expect_problems(churn_with("match.name", "\"datasets/***.csv\""), 1,
                    "rules[0].match.name: unsupported glob: '***' at offset 9");
    expect_problems(churn_with("match.name", "\"data[0-9].csv\""), 1,
                    "rules[0].match.name: unsupported glob: '[' at offset 4: character classes");
    expect_problems(churn_with("match.name", "3"), 1,
                    "rules[0].match.name: must be a non-empty string (a glob)");
    expect_problems(churn_with("match.subject", "\"objects/{a,b}\""), 1,
                    "rules[0].match.subject: unsupported glob: '{' at offset 8");
}

static void test_placeholder_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("job.displayName", "\"churn-${event}\""), 1,
                    "rules[0].job.displayName: unknown placeholder ${event}");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.args",
                               "[\"--ok=${name}\", \"--bad=${object}\"]"),
                    1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.args[1]: unknown "
                    "placeholder ${object}");
    expect_problems(churn_with("job.displayName", "\"churn-${event_key\""), 1,
                    "rules[0].job.displayName: unterminated ${");
    expect_problems(churn_with("pipeline", "{\"displayName\": \"${BUCKET}\"}"), 1,
                    "rules[0].pipeline.displayName: unknown placeholder ${BUCKET}");
    expect_problems(churn_with("model.display_name", "\"m-${date}\""), 1,
                    "rules[0].model.display_name: unknown placeholder ${date}");
    expect_problems(churn_with("model.artifact_uri", "\"gs://${bucket}/${dir}\""), 1,
                    "rules[0].model.artifact_uri: unknown placeholder ${dir}");
    /* Literal settings refuse placeholders, known or not. */
    expect_problems(churn_with("model.container_image", "\"img:${generation}\""), 1,
                    "rules[0].model.container_image: placeholders are not expanded here");
    expect_problems(churn_with("model.parent", "\"projects/${bucket}/locations/l/models/m\""), 1,
                    "rules[0].model.parent: placeholders are not expanded here");
}

static void test_escaped_placeholder_accepted(void **state)
{
    (void)state;
    json_t *arr = churn_with("job.displayName", "\"churn-$${not_a_placeholder}-$x-$\"");
    rules *rs;
    char err[512];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    rules_free(rs);
    json_decref(arr);
}

static void test_label_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("labels", "{\"Team\": \"ml\"}"), 1,
                    "rules[0].labels: label key \"Team\" must be");
    expect_problems(churn_with("labels", "{\"team\": \"ML Team\"}"), 1,
                    "rules[0].labels: label \"team\": the value must be");
    expect_problems(churn_with("labels", "{\"goog-x\": \"a\"}"), 1,
                    "rules[0].labels: label key \"goog-x\"");
    expect_problems(churn_with("labels", "[\"a\"]"), 1,
                    "rules[0].labels: labels must be an object");
    expect_problems(churn_with("job.labels", "{\"run\": \"${event_key}\"}"), 1,
                    "rules[0].job.labels: label \"run\": the value must be");
    expect_problems(churn_with("model.labels", "{\"a\": 1}"), 1,
                    "rules[0].model.labels: label \"a\": the value must be");
    expect_problems(churn_with("pipeline", "{\"labels\": {\"1x\": \"a\"}}"), 1,
                    "rules[0].pipeline.labels: label key \"1x\"");
}

static void test_action_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("action", NULL), 1,
                    "rules[0].action: required: train, train_and_register or register");
    expect_problems(churn_with("action", "\"retrain\""), 1,
                    "rules[0].action: unknown action \"retrain\"");
    expect_problems(churn_with("action", "1"), 1,
                    "rules[0].action: unknown action \"(not a string)\"");
    expect_problems(churn_with("action", "\"train\""), 1,
                    "rules[0].model: not used by action train");
    expect_problems(churn_with("action", "\"register\""), 1,
                    "rules[0].job: not used by action register");
    json_t *arr = churn_with("action", "\"train\"");
    json_t *r = json_array_get(arr, 0);
    json_object_del(r, "model");
    json_object_set_new(r, "pipeline", load("{\"displayName\": \"p\"}"));
    expect_problems(arr, 1, "rules[0].pipeline: only used by action train_and_register");
    expect_problems(churn_with("job", NULL), 1,
                    "rules[0].job: required for action train_and_register");
    expect_problems(churn_with("model", NULL), 1,
                    "rules[0].model: required for action train_and_register");
    expect_problems(churn_with("pipeline", "[]"), 1, "rules[0].pipeline: must be an object");
}

static void test_job_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("job", "\"a job\""), 1,
                    "rules[0].job: must be an object (a Vertex AI CustomJob)");
    expect_problems(churn_with("job.displayName", NULL), 1, "rules[0].job.displayName: required");
    expect_problems(churn_with("job.displayName", "\"\""), 1,
                    "rules[0].job.displayName: must be a non-empty string");
    expect_problems(churn_with("job.jobSpec", NULL), 1, "rules[0].job.jobSpec: required");
    expect_problems(churn_with("job.jobSpec", "[]"), 1, "rules[0].job.jobSpec: must be an object");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs", NULL), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs: required");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs", "[]"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs: must hold at least one worker pool");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs", "{}"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs: must be an array");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec", NULL), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0]: needs exactly one of containerSpec "
                    "and pythonPackageSpec");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.pythonPackageSpec",
                               "{\"executorImageUri\": \"x\", \"packageUris\": [\"gs://b/p.tgz\"],"
                               " \"pythonModule\": \"trainer.task\"}"),
                    1, "rules[0].job.jobSpec.workerPoolSpecs[0]: needs exactly one");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.machineSpec", NULL), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].machineSpec: required");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.machineSpec.machineType", NULL), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].machineSpec.machineType: required");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.machineSpec", "\"n1\""), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].machineSpec: must be an object");
    expect_problems(churn_with("job.jobSpec.scheduling", "\"1h\""), 1,
                    "rules[0].job.jobSpec.scheduling: must be an object");
}

/* Leaves are typed as Vertex types them, so a string where a list belongs fails here. */
static void test_job_field_types(void **state)
{
    (void)state;
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.args", "\"--x\""), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.args: must be an "
                    "array of strings");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.args", "[\"a\", 1]"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.args: must be an "
                    "array of strings");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.imageUri", "5"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.imageUri: must be a "
                    "string");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.containerSpec.imageUri", NULL), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.imageUri: required");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.replicaCount", "\"one\""), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].replicaCount: must be an integer "
                    ">= 0 (or a string of digits)");
    expect_problems(churn_with("job.jobSpec.workerPoolSpecs.replicaCount", "-1"), 1,
                    "rules[0].job.jobSpec.workerPoolSpecs[0].replicaCount: must be an integer");
    expect_problems(churn_with("job.jobSpec.scheduling", "{\"disableRetries\": \"yes\"}"), 1,
                    "rules[0].job.jobSpec.scheduling.disableRetries: must be true or false");
    expect_problems(
        churn_with("job.jobSpec.workerPoolSpecs.containerSpec.env", "[{\"value\": \"x\"}]"), 1,
        "rules[0].job.jobSpec.workerPoolSpecs[0].containerSpec.env[0].name: required");
    expect_problems(churn_with("job.jobSpec.baseOutputDirectory", "\"gs://b/out\""), 1,
                    "rules[0].job.jobSpec.baseOutputDirectory: must be an object");

    json_t *arr = churn_with("job.jobSpec.workerPoolSpecs.containerSpec", NULL);
    json_t *pool = json_array_get(
        json_object_get(json_object_get(json_object_get(json_array_get(arr, 0), "job"), "jobSpec"),
                        "workerPoolSpecs"),
        0);
    json_object_set_new(pool, "pythonPackageSpec", load("{\"executorImageUri\": \"img\"}"));
    expect_problems(
        arr, 2, "rules[0].job.jobSpec.workerPoolSpecs[0].pythonPackageSpec.packageUris: required",
        "rules[0].job.jobSpec.workerPoolSpecs[0].pythonPackageSpec.pythonModule: required");
}

static void test_model_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("model", "[]"), 1, "rules[0].model: must be an object");
    expect_problems(churn_with("model.container_image", NULL), 1,
                    "rules[0].model.container_image: required: Vertex AI registers no model "
                    "without a serving container");
    expect_problems(churn_with("model.container_image", "\"a b\""), 1,
                    "rules[0].model.container_image: must be an image URI without spaces");
    expect_problems(churn_with("model.parent", "\"models/123\""), 1,
                    "rules[0].model.parent: must look like projects/PROJECT/locations/REGION/"
                    "models/ID");
    expect_problems(churn_with("model.parent", "\"projects/p/locations/l/models/\""), 1,
                    "rules[0].model.parent: must look like");
    expect_problems(churn_with("model.parent", "\"projects/p/locations/l/models/1/versions/2\""), 1,
                    "rules[0].model.parent: must look like");
    expect_problems(churn_with("model.parent", "\"projects/p/regions/l/models/1\""), 1,
                    "rules[0].model.parent: must look like");
    expect_problems(churn_with("model.parent", NULL), 1,
                    "rules[0].model.parent: required: projects/P/locations/L/models/ID (or "
                    "model_id for a new model)");
    expect_problems(churn_with("model.model_id", "\"churn\""), 1,
                    "rules[0].model: give parent (a new version of that model) or model_id");
    json_t *arr = churn_with("model.parent", NULL);
    json_object_set_new(json_object_get(json_array_get(arr, 0), "model"), "model_id",
                        json_string("1churn"));
    expect_problems(arr, 1, "rules[0].model.model_id: must be 1-63 of [a-z0-9_-]");
}

static void test_alias_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("model.aliases", "\"default\""), 1,
                    "rules[0].model.aliases: must be an array of strings");
    expect_problems(churn_with("model.aliases", "[\"Default\", \"123\", \"a_b\", 4, \"ok-1\"]"), 4,
                    "rules[0].model.aliases[0]: not a valid Vertex alias",
                    "rules[0].model.aliases[1]: not a valid Vertex alias",
                    "rules[0].model.aliases[2]: not a valid Vertex alias",
                    "rules[0].model.aliases[3]: not a valid Vertex alias");
    /* What the Vertex client would refuse is refused here already: one letter, a '-' at the end. */
    expect_problems(churn_with("model.aliases", "[\"b\", \"ab-\", \"ok\"]"), 2,
                    "rules[0].model.aliases[0]: not a valid Vertex alias",
                    "rules[0].model.aliases[1]: not a valid Vertex alias");
    expect_problems(churn_with("model.aliases", "[\"prod\", \"prod\"]"), 1,
                    "rules[0].model.aliases[1]: duplicate alias \"prod\"");
}

static void test_min_interval_problems(void **state)
{
    (void)state;
    expect_problems(churn_with("min_interval_s", "-1"), 1,
                    "rules[0].min_interval_s: must be an integer >= 0");
    expect_problems(churn_with("min_interval_s", "\"600\""), 1,
                    "rules[0].min_interval_s: must be an integer >= 0");
    expect_problems(churn_with("min_interval_s", "1.5"), 1,
                    "rules[0].min_interval_s: must be an integer >= 0");
    expect_problems(churn_with("min_interval_s", "99999999999"), 1,
                    "rules[0].min_interval_s: must be an integer >= 0");
}

static void test_every_problem_reported(void **state)
{
    (void)state;
    json_t *bad = load("{\"name\": \"Bad Name\", \"colour\": \"red\","
                       " \"match\": {\"type\": \"t\", \"name\": \"a/***\"},"
                       " \"job\": {\"displayName\": \"${nope}\"}}");
    json_t *arr = array_of(churn_rule, NULL, NULL);
    json_array_append_new(arr, bad);
    json_array_append_new(arr, load(train_rule));
    json_t *third = load(register_rule);
    json_object_set_new(third, "name", json_string("churn"));
    json_array_append_new(arr, third);
    expect_problems(arr, 7, "rules[1].colour: unknown key", "rules[1].name: must be 1-63",
                    "rules[1].match.name: unsupported glob", "rules[1].action: required",
                    "rules[1].job.displayName: unknown placeholder ${nope}",
                    "rules[1].job.jobSpec: required", "rules[3].name: duplicate of rules[0].name");
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    json_t *arr = churn_with("match.name", "\"***\"");
    rules *rs;
    char err[16];
    memset(err, 'x', sizeof err);
    assert_int_equal(rules_compile(arr, &rs, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), -1);
    json_decref(arr);
}

/* ---- matching --------------------------------------------------------------------------- */

typedef struct {
    rules *rs;
    arena *a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    json_t *arr = array_of(churn_rule, register_rule, train_rule);
    char err[1024];
    if (!f || !arr || rules_compile(arr, &f->rs, err, sizeof err) != 0 || !(f->a = arena_new(0)))
        return -1;
    json_decref(arr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rules_free(f->rs);
    arena_free(f->a);
    free(f);
    return 0;
}

static cloudevent event(const char *type, const char *subject)
{
    return (cloudevent){.id = "4242",
                        .source = "//storage.googleapis.com/projects/_/buckets/acme-data",
                        .specversion = "1.0",
                        .type = type,
                        .subject = subject,
                        .time = "2026-11-26T07:00:00Z"};
}

static storage_object object(const char *bucket, const char *name)
{
    return (storage_object){.bucket = bucket, .name = name, .generation = "17"};
}

static const char *matched(const fixture *f, const cloudevent *ev, const storage_object *obj)
{
    const rule *r = rules_match(f->rs, ev, obj);
    return r ? rules_name(r) : NULL;
}

static void test_match_by_object(void **state)
{
    fixture *f = *state;
    cloudevent ev = event(FINALIZED, NULL);
    storage_object o = object("acme-data", "datasets/churn/2026/11/a.csv");
    assert_string_equal(matched(f, &ev, &o), "churn");
    o.name = "datasets/churn/a.csv";
    assert_string_equal(matched(f, &ev, &o), "churn");
    o.name = "datasets/churn/a.json"; /* no rule for that name in acme-data */
    assert_null(matched(f, &ev, &o));
    o.name = "models/m1/saved_model.pb"; /* any bucket */
    assert_string_equal(matched(f, &ev, &o), "saved-models");
    o.bucket = "elsewhere";
    assert_string_equal(matched(f, &ev, &o), "saved-models");
    o = object("other", "anything/at/all");
    assert_string_equal(matched(f, &ev, &o), "nightly");
    o = object("acme-datas", "datasets/churn/a.csv"); /* bucket is exact, not a prefix */
    assert_null(matched(f, &ev, &o));
}

static void test_match_type_exact(void **state)
{
    fixture *f = *state;
    cloudevent ev = event("google.cloud.storage.object.v1.deleted", NULL);
    storage_object o = object("acme-data", "datasets/churn/a.csv");
    assert_null(matched(f, &ev, &o));
    ev.type = "google.cloud.storage.object.v1.finalized.x";
    assert_null(matched(f, &ev, &o));
}

static void test_first_match_wins(void **state)
{
    (void)state;
    json_t *second = load(churn_rule);
    json_object_set_new(second, "name", json_string("churn-2"));
    json_t *arr = array_of(churn_rule, NULL, NULL);
    json_array_append_new(arr, second);
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    json_decref(arr);
    cloudevent ev = event(FINALIZED, NULL);
    storage_object o = object("acme-data", "datasets/churn/a.csv");
    assert_ptr_equal(rules_match(rs, &ev, &o), rules_at(rs, 0));
    rules_free(rs);
}

static void test_match_without_data(void **state)
{
    fixture *f = *state;
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = event(FINALIZED, "objects/datasets/churn/x/y.csv");
    ev.extensions = ext;
    ev.n_extensions = 1;
    assert_string_equal(matched(f, &ev, NULL), "churn");
    ev.subject = "datasets/churn/x/y.csv"; /* not "objects/...": no object name */
    assert_null(matched(f, &ev, NULL));
    ev.subject = NULL;
    assert_null(matched(f, &ev, NULL));
    ev.subject = "objects/datasets/churn/x/y.csv";
    ev.n_extensions = 0; /* no bucket anywhere: a rule testing the bucket cannot match */
    assert_null(matched(f, &ev, NULL));
    /* The object data, when present, wins over the extension and the subject. */
    ev.extensions = ext;
    ev.n_extensions = 1;
    storage_object o = object("other", "z");
    assert_string_equal(matched(f, &ev, &o), "nightly");
}

static void test_match_source_and_subject(void **state)
{
    (void)state;
    json_t *arr = json_array();
    json_array_append_new(
        arr, load("{\"name\": \"by-source\", \"action\": \"register\","
                  " \"match\": {\"type\": \"t\", \"source\": \"//storage.googleapis.com/x\","
                  "             \"subject\": \"objects/exports/*.pb\"},"
                  " \"model\": {\"model_id\": \"m\", \"container_image\": \"img\"}}"));
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr);
    cloudevent ev = event("t", "objects/exports/m.pb");
    ev.source = "//storage.googleapis.com/x";
    assert_non_null(rules_match(rs, &ev, NULL));
    ev.subject = "objects/exports/deep/m.pb";
    assert_null(rules_match(rs, &ev, NULL));
    ev.subject = "objects/exports/m.pb";
    ev.source = "//storage.googleapis.com/y";
    assert_null(rules_match(rs, &ev, NULL));
    rules_free(rs);
}

/* Names that would read outside the dataset once a training container maps gs:// paths to
 * files (gcsfuse), and names Cloud Storage itself never makes: no rule matches them. */
static const char *const unsafe_names[] = {
    /* "." and ".." segments, anywhere */
    "datasets/churn/../../secrets/x.csv",
    "datasets/churn/./a.csv",
    "datasets/churn/..",
    "datasets/churn/a/../../../etc/passwd.csv",
    "../datasets/churn/a.csv",
    "./datasets/churn/a.csv",
    /* empty segments */
    "datasets/churn//a.csv",
    "/datasets/churn/a.csv",
    "datasets/churn/a//b.csv",
    /* control characters: C0, DEL, C1 (U+0080-U+009F) */
    "datasets/churn/a\n.csv",
    "datasets/churn/a\r.csv",
    "datasets/churn/\x01.csv",
    "datasets/churn/a\t.csv",
    "datasets/churn/a\x1b[2J.csv",
    "datasets/churn/a\x7f.csv",
    "datasets/churn/a\xc2\x85.csv",
    "datasets/churn/a\xc2\x9f.csv",
    /* not UTF-8: a lone byte, an overlong '/', a surrogate, a truncated sequence */
    "datasets/churn/\xff.csv",
    "datasets/churn/..\xc0\xaf..\xc0\xafx.csv",
    "datasets/churn/\xed\xa0\x80.csv",
    "datasets/churn/a\xe2\x82.csv",
};

/* Names that look odd but stay inside the dataset: they still match. */
static const char *const safe_names[] = {
    "datasets/churn/a.csv",
    "datasets/churn/..a.csv",
    "datasets/churn/a...csv",
    "datasets/churn/.hidden.csv",
    "datasets/churn/.../x.csv",
    "datasets/churn/données été.csv",
    "datasets/churn/#1 [copy] *?.csv",
    "datasets/churn/a\\..\\..\\b.csv",
    "datasets/churn/\xc2\xa0nbsp.csv",
};

static void test_unsafe_names_match_no_rule(void **state)
{
    fixture *f = *state;
    cloudevent ev = event(FINALIZED, NULL);
    for (size_t i = 0; i < sizeof unsafe_names / sizeof unsafe_names[0]; i++) {
        storage_object o = object("acme-data", unsafe_names[i]);
        if (matched(f, &ev, &o))
            fail_msg("unsafe name #%zu matched rule %s", i, matched(f, &ev, &o));
        /* The same name from the subject (no data). */
        char subject[256];
        snprintf(subject, sizeof subject, "objects/%s", unsafe_names[i]);
        ce_attr ext[] = {{"bucket", "acme-data"}};
        cloudevent bare = event(FINALIZED, subject);
        bare.extensions = ext;
        bare.n_extensions = 1;
        if (matched(f, &bare, NULL))
            fail_msg("unsafe subject #%zu matched", i);
    }
    for (size_t i = 0; i < sizeof safe_names / sizeof safe_names[0]; i++) {
        storage_object o = object("acme-data", safe_names[i]);
        if (!matched(f, &ev, &o))
            fail_msg("safe name #%zu matched no rule", i);
    }
    /* A rule without a name glob refuses them too: the name still reaches the job. */
    storage_object o = object("other", "x/../../y");
    assert_null(matched(f, &ev, &o));
    o.name = "x/y";
    assert_string_equal(matched(f, &ev, &o), "nightly");
}

static void expect_unsafe(const char *name, const char *why_prefix, size_t at)
{
    size_t offset = 999;
    const char *why = rules_unsafe_name(name, &offset);
    if (!why || strncmp(why, why_prefix, strlen(why_prefix)) != 0)
        fail_msg("name \"%s\": got %s, want %s", name, why ? why : "(safe)", why_prefix);
    assert_int_equal(offset, at);
}

static void test_unsafe_name_classes(void **state)
{
    (void)state;
    const char *dots = "a \".\" or \"..\" segment", *empty = "an empty segment",
               *control = "a control character", *utf8 = "bytes that are not UTF-8";
    expect_unsafe("..", dots, 0);
    expect_unsafe(".", dots, 0);
    expect_unsafe("a/../b", dots, 2);
    expect_unsafe("a/./b", dots, 2);
    expect_unsafe("a/b/..", dots, 4);
    expect_unsafe("a/b/../", dots, 4);
    expect_unsafe("/a", empty, 0);
    expect_unsafe("a//b", empty, 2);
    expect_unsafe("//", empty, 0);
    expect_unsafe("a\nb", control, 1);
    expect_unsafe("ab\r", control, 2);
    expect_unsafe("\x1f", control, 0);
    expect_unsafe("a\x7f", control, 1);
    expect_unsafe("a\xc2\x80", control, 1);
    expect_unsafe("a\xc2\x9f", control, 1);
    expect_unsafe("a\xff", utf8, 1);
    expect_unsafe("a\xc0\xaf", utf8, 1);         /* overlong '/' */
    expect_unsafe("a\xe0\x80\xaf", utf8, 1);     /* overlong '/', three bytes */
    expect_unsafe("a\xed\xbf\xbf", utf8, 1);     /* a surrogate */
    expect_unsafe("a\xf4\x90\x80\x80", utf8, 1); /* past U+10FFFF */
    expect_unsafe("a\xe2\x82", utf8, 1);         /* truncated */
    expect_unsafe("a\x80", utf8, 1);             /* a lone continuation byte */
    const char *safe[] = {"a",
                          "a/",
                          "a/b/",
                          "...",
                          ".a/..b/c..",
                          "a b/c\xc2\xa0",
                          "\xe2\x82\xac",
                          "\xf0\x9f\x98\x80",
                          "#[]*?\\"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (rules_unsafe_name(safe[i], NULL))
            fail_msg("\"%s\" is safe, got %s", safe[i], rules_unsafe_name(safe[i], NULL));
    assert_null(rules_unsafe_bucket("acme-data", NULL));
    assert_null(rules_unsafe_bucket("b", NULL));
    assert_null(rules_unsafe_bucket("my.bucket_1", NULL));
    assert_non_null(rules_unsafe_bucket("..", NULL));
    assert_non_null(rules_unsafe_bucket(".", NULL));
    assert_non_null(rules_unsafe_bucket("a/..", NULL));
    assert_non_null(rules_unsafe_bucket("a\n", NULL));
    assert_non_null(rules_unsafe_bucket("", NULL));
}

static void test_unsafe_bucket_matches_no_rule(void **state)
{
    fixture *f = *state;
    cloudevent ev = event(FINALIZED, NULL);
    /* saved-models takes any bucket: gs://acme/../x/... would climb out of it. */
    storage_object o = object("acme/../x", "models/m1/saved_model.pb");
    char why[512];
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "rule saved-models would match, but the bucket has characters Cloud "
                             "Storage does not allow in a bucket name (at byte 4), which no rule "
                             "takes unless its match sets allow_unsafe_names");
    o.bucket = "..";
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_non_null(strstr(why, "the bucket has the name \".\" or \"..\" (at byte 0)"));
    o.bucket = "acme";
    assert_string_equal(matched(f, &ev, &o), "saved-models");
}

static void test_unsafe_name_reason(void **state)
{
    fixture *f = *state;
    cloudevent ev = event(FINALIZED, NULL);
    storage_object o = object("acme-data", "datasets/churn/../../secrets/x.csv");
    char why[512];
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "rule churn would match, but the object name has a \".\" or \"..\" "
                             "segment (at byte 15), which no rule takes unless its match sets "
                             "allow_unsafe_names");
    o.name = "datasets/churn/a\x1b[31m.csv"; /* the name itself never reaches the reason */
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_non_null(strstr(why, "a control character (at byte 16)"));
    assert_null(strchr(why, '\x1b'));
    /* No rule at all: no reason beyond that. */
    o.name = "elsewhere/a.csv";
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "");
    o.name = "elsewhere/../a.csv"; /* unsafe, but no rule would take it anyway */
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "");
    /* A small buffer is truncated, never overrun; no buffer is fine. */
    o.name = "datasets/churn/../x.csv";
    char tiny[8];
    assert_null(rules_match_why(f->rs, &ev, &o, tiny, sizeof tiny));
    assert_string_equal(tiny, "rule ch");
    assert_null(rules_match_why(f->rs, &ev, &o, NULL, 0));
}

static void test_allow_unsafe_names(void **state)
{
    (void)state;
    /* The churn rule, then the same with the opt-in: a safe name takes the first, an unsafe
     * one skips it for the second. */
    json_t *second = load(churn_rule);
    json_object_set_new(second, "name", json_string("churn-any-name"));
    json_object_set_new(json_object_get(second, "match"), "allow_unsafe_names", json_true());
    json_t *arr = array_of(churn_rule, NULL, NULL);
    json_array_append_new(arr, second);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr);
    cloudevent ev = event(FINALIZED, NULL);
    storage_object o = object("acme-data", "datasets/churn/a.csv");
    assert_ptr_equal(rules_match(rs, &ev, &o), rules_at(rs, 0));
    for (size_t i = 0; i < sizeof unsafe_names / sizeof unsafe_names[0]; i++) {
        o.name = unsafe_names[i];
        size_t n = strlen(o.name);
        if (strncmp(o.name, "datasets/churn/", 15) != 0 || strcmp(o.name + n - 4, ".csv") != 0)
            continue; /* not the glob's shape */
        char why[256] = "x";
        if (rules_match_why(rs, &ev, &o, why, sizeof why) != rules_at(rs, 1))
            fail_msg("unsafe name #%zu not taken by the opted-in rule", i);
    }
    /* The glob still applies to an opted-in rule. */
    o.name = "other/../a.csv";
    assert_null(rules_match(rs, &ev, &o));
    rules_free(rs);
    /* false is the default, and allowed. */
    arr = churn_with("match.allow_unsafe_names", "false");
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    o.name = "datasets/churn/../a.csv";
    assert_null(rules_match(rs, &ev, &o));
    rules_free(rs);
    json_decref(arr);
    expect_problems(churn_with("match.allow_unsafe_names", "\"yes\""), 1,
                    "rules[0].match.allow_unsafe_names: must be true or false");
    expect_problems(churn_with("match.allow_unsafe_names", "1"), 1,
                    "rules[0].match.allow_unsafe_names: must be true or false");
}

/* ---- expansion -------------------------------------------------------------------------- */

static void test_expand_job(void **state)
{
    fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    cloudevent ev = event(FINALIZED, NULL);
    storage_object o = object("acme-data", "datasets/churn/a.csv");
    template_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, &o, "abc123", f->a, &v), 0);
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    json_t *job = template_expand(rules_job(churn), &v);
    assert_non_null(job);
    assert_string_equal(json_string_value(json_object_get(job, "displayName")), "churn-abc123");
    json_t *pool =
        json_array_get(json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs"), 0);
    json_t *args = json_object_get(json_object_get(pool, "containerSpec"), "args");
    assert_string_equal(json_string_value(json_array_get(args, 0)),
                        "--data=gs://acme-data/datasets/churn/a.csv");
    assert_string_equal(json_string_value(json_object_get(pool, "replicaCount")), "1");
    /* The template itself is untouched. */
    assert_string_equal(json_string_value(json_object_get(rules_job(churn), "displayName")),
                        "churn-${event_key}");
    json_decref(job);
}

static void test_expand_every_placeholder(void **state)
{
    fixture *f = *state;
    template_vars v = {.bucket = "b",
                       .name = "n/o.csv",
                       .generation = "17",
                       .event_id = "id-1",
                       .event_key = "k",
                       .event_time = "2026-11-26T07:00:00Z",
                       .rule = "churn",
                       .gcs_uri = "gs://b/n/o.csv"};
    json_t *tmpl = load("{\"s\": \"${bucket}|${name}|${generation}|${event_id}|${event_key}|"
                        "${event_time}|${rule}|${gcs_uri}\","
                        " \"esc\": \"$${bucket} $$ $x ${}x\", \"n\": 5, \"b\": true, \"z\": null,"
                        " \"a\": [\"${generation}\", 1.5]}");
    json_t *out = template_expand(tmpl, &v);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "s")),
                        "b|n/o.csv|17|id-1|k|2026-11-26T07:00:00Z|churn|gs://b/n/o.csv");
    assert_string_equal(json_string_value(json_object_get(out, "esc")), "${bucket} $$ $x ${}x");
    assert_int_equal(json_integer_value(json_object_get(out, "n")), 5);
    assert_true(json_is_true(json_object_get(out, "b")));
    assert_true(json_is_null(json_object_get(out, "z")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "a"), 0)), "17");
    assert_true(json_real_value(json_array_get(json_object_get(out, "a"), 1)) == 1.5);
    json_decref(out);
    json_decref(tmpl);

    /* Absent values expand to "". */
    template_vars empty = {0};
    char *s = template_expand_string("[${generation}][${rule}]", &empty, f->a);
    assert_string_equal(s, "[][]"); /* the template engine knows no rule: vars name it */
}

static void test_expand_refuses_invalid_utf8(void **state)
{
    (void)state;
    template_vars v = {.event_id = "\xff\xfe"};
    json_t *tmpl = json_string("id-${event_id}");
    assert_null(template_expand(tmpl, &v));
    json_decref(tmpl);
}

static void test_vars_without_data(void **state)
{
    fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = event(FINALIZED, "objects/datasets/churn/a.csv");
    ev.extensions = ext;
    ev.n_extensions = 1;
    template_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_string_equal(v.bucket, "acme-data");
    assert_string_equal(v.name, "datasets/churn/a.csv");
    assert_null(v.generation);
    assert_string_equal(v.event_id, "4242");
    assert_string_equal(v.event_time, "2026-11-26T07:00:00Z");
    assert_string_equal(v.rule, "churn");
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    ev.n_extensions = 0;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_null(v.bucket);
    assert_null(v.gcs_uri);
}

static void test_artifact_uri(void **state)
{
    fixture *f = *state;
    const rule *reg = rules_find(f->rs, "saved-models");
    template_vars v = {.bucket = "b",
                       .name = "models/m1/saved_model.pb",
                       .gcs_uri = "gs://b/models/m1/saved_model.pb"};
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "gs://b/models/m1/");
    v.gcs_uri = "gs://b/top.pb";
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "gs://b/");
    v.gcs_uri = NULL;
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "");

    json_t *r = load(register_rule);
    json_object_set_new(json_object_get(r, "model"), "artifact_uri",
                        json_string("gs://${bucket}/exports/${generation}/"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    json_decref(arr);
    v.generation = "9";
    assert_string_equal(rules_artifact_uri(rules_at(rs, 0), &v, f->a), "gs://b/exports/9/");
    rules_free(rs);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(rules_action_name(RULES_TRAIN), "train");
    assert_string_equal(rules_action_name(RULES_TRAIN_AND_REGISTER), "train_and_register");
    assert_string_equal(rules_action_name(RULES_REGISTER), "register");
}

int main(void)
{
#define F(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_valid_rules),
        cmocka_unit_test(test_compile_empty),
        cmocka_unit_test(test_pipeline_and_model_templates),
        cmocka_unit_test(test_not_an_array),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_name_problems),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_match_problems),
        cmocka_unit_test(test_placeholder_problems),
        cmocka_unit_test(test_escaped_placeholder_accepted),
        cmocka_unit_test(test_label_problems),
        cmocka_unit_test(test_action_problems),
        cmocka_unit_test(test_job_problems),
        cmocka_unit_test(test_job_field_types),
        cmocka_unit_test(test_model_problems),
        cmocka_unit_test(test_alias_problems),
        cmocka_unit_test(test_min_interval_problems),
        cmocka_unit_test(test_every_problem_reported),
        cmocka_unit_test(test_small_error_buffer),
        F(test_match_by_object),
        F(test_match_type_exact),
        cmocka_unit_test(test_first_match_wins),
        F(test_match_without_data),
        cmocka_unit_test(test_match_source_and_subject),
        F(test_unsafe_names_match_no_rule),
        cmocka_unit_test(test_unsafe_name_classes),
        F(test_unsafe_bucket_matches_no_rule),
        F(test_unsafe_name_reason),
        cmocka_unit_test(test_allow_unsafe_names),
        F(test_expand_job),
        F(test_expand_every_placeholder),
        F(test_expand_refuses_invalid_utf8),
        F(test_vars_without_data),
        F(test_artifact_uri),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
