/* Unit tests for src/vertex_body.c: the request bodies, each compared with the exact JSON Vertex
 * AI v1 takes (int64 as strings, durations with "s"), and what they refuse (labels, aliases,
 * missing fields). The bodies the retrain function sends for each rule's action are body cases
 * (tests/data/bodies/, run by test_body_cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/vertex_fixture.h"
#include "vertex_body.h"

/* Compares J's compact, key-sorted text with WANT, then releases J. */
static void assert_json(json_t *j, const char *want)
{
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(text, want) != 0)
        fail_msg("got  %s\nwant %s", text, want);
    free(text);
    json_decref(j);
}

#define MODEL_JSON                                                                                 \
    "{\"artifactUri\":\"gs://b/model/\",\"containerSpec\":{\"healthRoute\":\"/health\","           \
    "\"imageUri\":\"us-docker.pkg.dev/vertex-ai/prediction/sklearn:1\","                           \
    "\"ports\":[{\"containerPort\":8080}],\"predictRoute\":\"/predict\"},"                         \
    "\"displayName\":\"churn\",\"versionAliases\":[\"prod\",\"v2\"]}"

static void test_duration_and_aliases(void **state)
{
    (void)state;
    char d[24];
    assert_string_equal(vtx_duration(d, 3600), "3600s");
    assert_string_equal(vtx_duration(d, 0), "0s");
    assert_true(vtx_version_alias_valid("prod", false));
    assert_true(vtx_version_alias_valid("canary-2", false));
    assert_true(vtx_version_alias_valid("camelCase1", false));
    assert_false(vtx_version_alias_valid("p", false));
    assert_false(vtx_version_alias_valid("2prod", false));
    assert_false(vtx_version_alias_valid("prod-", false));
    assert_false(vtx_version_alias_valid("pro_d", false));
    assert_false(vtx_version_alias_valid("-prod", false));
    assert_true(vtx_version_alias_valid("-prod", true));
    assert_false(vtx_version_alias_valid("--prod", true));
}

static void test_job_spec_int64_strings_and_durations(void **state)
{
    (void)state;
    const char *args[] = {"--epochs", "3", NULL};
    vtx_worker_pool p = {.machine_type = "n1-standard-4",
                         .replica_count = 2,
                         .accelerator_type = "NVIDIA_TESLA_T4",
                         .accelerator_count = 1,
                         .image_uri = "gcr.io/p/train:1",
                         .args = args,
                         .timeout_s = 3600,
                         .base_output_uri = "gs://b/out"};
    char err[128];
    assert_json(vtx_job_spec_json(&p, err, sizeof err),
                "{\"baseOutputDirectory\":{\"outputUriPrefix\":\"gs://b/out\"},"
                "\"scheduling\":{\"timeout\":\"3600s\"},"
                "\"workerPoolSpecs\":[{\"containerSpec\":{\"args\":[\"--epochs\",\"3\"],"
                "\"imageUri\":\"gcr.io/p/train:1\"},\"machineSpec\":{\"acceleratorCount\":1,"
                "\"acceleratorType\":\"NVIDIA_TESLA_T4\",\"machineType\":\"n1-standard-4\"},"
                "\"replicaCount\":\"2\"}]}");
    vtx_worker_pool minimal = {
        .machine_type = "n1-standard-4", .replica_count = 1, .image_uri = "i"};
    assert_json(vtx_job_spec_json(&minimal, err, sizeof err),
                "{\"workerPoolSpecs\":[{\"containerSpec\":{\"imageUri\":\"i\"},"
                "\"machineSpec\":{\"machineType\":\"n1-standard-4\"},\"replicaCount\":\"1\"}]}");
}

static void test_job_spec_bad_arguments(void **state)
{
    (void)state;
    char err[128];
    vtx_worker_pool p = {.machine_type = "m", .replica_count = 0, .image_uri = "i"};
    assert_null(vtx_job_spec_json(&p, err, sizeof err));
    assert_string_equal(err, "replica_count: must be at least 1");
    p.replica_count = 1;
    p.image_uri = NULL;
    assert_null(vtx_job_spec_json(&p, err, sizeof err));
    assert_string_equal(err, "image_uri: required");
    p.image_uri = "i";
    p.machine_type = "";
    assert_null(vtx_job_spec_json(&p, err, sizeof err));
    assert_string_equal(err, "machine_type: required");
    p.machine_type = "m";
    p.timeout_s = -1;
    assert_null(vtx_job_spec_json(&p, err, sizeof err));
    assert_string_equal(err, "timeout_s: must not be negative");
}

static void test_custom_job_from_template(void **state)
{
    (void)state;
    json_t *spec = json_loads("{\"workerPoolSpecs\":[{\"replicaCount\":\"1\"}]}", 0, NULL);
    json_t *labels = json_pack("{s:s}", "retrain-event", "abc123");
    char err[256];
    assert_json(vtx_custom_job_json("retrain-abc", spec, labels, err, sizeof err),
                "{\"displayName\":\"retrain-abc\",\"jobSpec\":{\"workerPoolSpecs\":"
                "[{\"replicaCount\":\"1\"}]},\"labels\":{\"retrain-event\":\"abc123\"}}");
    /* The template is copied, not shared. */
    assert_int_equal(spec->refcount, 1);

    json_t *bad = json_pack("{s:s}", "Bad-Key", "v");
    assert_null(vtx_custom_job_json("x", spec, bad, err, sizeof err));
    assert_non_null(strstr(err, "label key \"Bad-Key\""));
    json_decref(bad);
    bad = json_pack("{s:s}", "goog-x", "v");
    assert_null(vtx_custom_job_json("x", spec, bad, err, sizeof err));
    assert_non_null(strstr(err, "goog"));
    json_decref(bad);
    assert_null(vtx_custom_job_json("", spec, NULL, err, sizeof err));
    assert_string_equal(err, "display_name: required");
    json_t *arr = json_array();
    assert_null(vtx_custom_job_json("x", arr, NULL, err, sizeof err));
    assert_string_equal(err, "job_spec: must be a JSON object");
    json_decref(arr);
    json_decref(spec);
    json_decref(labels);
}

static void test_upload_body(void **state)
{
    (void)state;
    vtx_model_spec m = model_spec();
    char err[256];
    assert_json(vtx_upload_body(&m, "projects/p/locations/l/models/42", NULL, err, sizeof err),
                "{\"model\":" MODEL_JSON ",\"parentModel\":\"projects/p/locations/l/models/42\"}");
    assert_json(vtx_upload_body(&m, NULL, "churn-model", err, sizeof err),
                "{\"model\":" MODEL_JSON ",\"modelId\":\"churn-model\"}");
    assert_null(vtx_upload_body(&m, "models/42", NULL, err, sizeof err));
    assert_non_null(strstr(err, "parent_model"));
    assert_null(vtx_upload_body(&m, "projects/p/locations/l/models/42", "id", err, sizeof err));
    assert_non_null(strstr(err, "model_id"));
    const char *bad_alias[] = {"Prod", NULL};
    m.version_aliases = bad_alias;
    assert_null(vtx_upload_body(&m, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "version alias \"Prod\""));
    m = model_spec();
    m.port = 70000;
    assert_null(vtx_model_json(&m, err, sizeof err));
    assert_string_equal(err, "port: must be 1-65535");
    m = model_spec();
    m.image_uri = NULL;
    assert_null(vtx_model_json(&m, err, sizeof err));
    assert_string_equal(err, "image_uri: required");
}

static void test_pipeline_body(void **state)
{
    (void)state;
    vtx_model_spec m = model_spec();
    json_t *spec = json_loads("{\"workerPoolSpecs\":[]}", 0, NULL);
    json_t *labels = json_pack("{s:s}", "retrain-event", "k1");
    char err[256];
    assert_json(vtx_pipeline_json("train-churn", spec, &m, "projects/p/locations/l/models/42", NULL,
                                  labels, err, sizeof err),
                "{\"displayName\":\"train-churn\",\"labels\":{\"retrain-event\":\"k1\"},"
                "\"modelToUpload\":" MODEL_JSON
                ",\"parentModel\":\"projects/p/locations/l/models/42\","
                "\"trainingTaskDefinition\":\"" VTX_CUSTOM_TASK_DEFINITION "\","
                "\"trainingTaskInputs\":{\"workerPoolSpecs\":[]}}");
    assert_null(vtx_pipeline_json("x", NULL, &m, NULL, NULL, NULL, err, sizeof err));
    assert_string_equal(err, "job_spec: must be a JSON object");
    json_decref(spec);
    json_decref(labels);
}

static void test_merge_aliases_body(void **state)
{
    (void)state;
    const char *aliases[] = {"prod", "-canary", NULL};
    char err[256];
    assert_json(vtx_merge_aliases_body(aliases, err, sizeof err),
                "{\"versionAliases\":[\"prod\",\"-canary\"]}");
    const char *none[] = {NULL};
    assert_null(vtx_merge_aliases_body(none, err, sizeof err));
    assert_non_null(strstr(err, "at least one"));
}

static void test_with_label(void **state)
{
    (void)state;
    json_t *job = json_loads("{\"displayName\":\"j\",\"labels\":{\"team\":\"ml\"}}", 0, NULL);
    char err[256];
    assert_json(vtx_with_label(job, "retrain-event", "e1", err, sizeof err),
                "{\"displayName\":\"j\",\"labels\":{\"retrain-event\":\"e1\",\"team\":\"ml\"}}");
    assert_json(json_incref(job), "{\"displayName\":\"j\",\"labels\":{\"team\":\"ml\"}}");
    assert_null(vtx_with_label(job, "retrain-event", "Has Space", err, sizeof err));
    assert_non_null(strstr(err, "retrain-event"));
    json_t *nolabels = json_loads("{\"displayName\":\"j\"}", 0, NULL);
    assert_json(vtx_with_label(nolabels, "k", "v", err, sizeof err),
                "{\"displayName\":\"j\",\"labels\":{\"k\":\"v\"}}");
    json_decref(nolabels);
    json_decref(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_and_aliases),
        cmocka_unit_test(test_job_spec_int64_strings_and_durations),
        cmocka_unit_test(test_job_spec_bad_arguments),
        cmocka_unit_test(test_custom_job_from_template),
        cmocka_unit_test(test_upload_body),
        cmocka_unit_test(test_pipeline_body),
        cmocka_unit_test(test_merge_aliases_body),
        cmocka_unit_test(test_with_label),
    };
    return cmocka_run_group_tests_name("vertex_body", tests, NULL, NULL);
}
