/* Strict request checks of the emulator's Vertex AI schema (tests/emulator/vschema.c): the
 * emulator must reject what Google rejects, with Google's wording, or client bugs slip through.
 * The module is compiled in directly: it is part of the emulator binary, not of libretrain. */
#include "../emulator/vschema.c"

#include "rules_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char *const good_job =
    "{\"displayName\":\"train\",\"labels\":{\"team\":\"ml\"},"
    "\"jobSpec\":{\"workerPoolSpecs\":[{\"machineSpec\":{\"machineType\":\"n1-standard-4\","
    "\"acceleratorCount\":1},\"replicaCount\":\"1\",\"diskSpec\":{\"bootDiskSizeGb\":100},"
    "\"containerSpec\":{\"imageUri\":\"i\",\"args\":[\"--a\"],\"env\":[{\"name\":\"A\","
    "\"value\":\"1\"}]}}],\"scheduling\":{\"timeout\":\"3600s\"},"
    "\"baseOutputDirectory\":{\"outputUriPrefix\":\"gs://b/o\"}}}";

typedef struct {
    vs_status status;
    char msg[1024];
    char field[512];
} result;

static result check_text(const char *text, const vs_field *schema, const char *root)
{
    result r;
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    r.status = vs_check(v, schema, root, r.msg, sizeof r.msg, r.field, sizeof r.field);
    json_decref(v);
    return r;
}

/* The good job with one member replaced: PATCH is a JSON object merged into jobSpec's first
 * worker pool. */
static result check_pool_patch(const char *patch)
{
    json_t *job = json_loads(good_job, 0, NULL);
    json_t *pool =
        json_array_get(json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs"), 0);
    json_t *p = json_loads(patch, 0, NULL);
    assert_non_null(p);
    json_object_update(pool, p);
    json_decref(p);
    char *text = json_dumps(job, 0);
    json_decref(job);
    result r = check_text(text, vs_custom_job, "custom_job");
    free(text);
    return r;
}

static void test_good_job_passes(void **state)
{
    (void)state;
    result r = check_text(good_job, vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_OK);
    assert_string_equal(r.msg, "");
}

static void test_unknown_field_named_with_proto_path(void **state)
{
    (void)state;
    result r = check_pool_patch("{\"containerSpec\":{\"imageUri\":\"i\",\"imageUrl\":\"j\"}}");
    assert_int_equal(r.status, VS_UNKNOWN_FIELD);
    assert_string_equal(r.msg, "Invalid JSON payload received. Unknown name \"imageUrl\" at "
                               "'custom_job.job_spec.worker_pool_specs[0].container_spec': "
                               "Cannot find field.");
    assert_string_equal(r.field, "custom_job.job_spec.worker_pool_specs[0].container_spec");
}

static void test_unknown_top_level_field(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"x\",\"jobspec\":{}}", vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_UNKNOWN_FIELD);
    assert_non_null(strstr(r.msg, "Unknown name \"jobspec\" at 'custom_job'"));
}

static void test_snake_case_names_accepted(void **state)
{
    (void)state;
    result r = check_text("{\"display_name\":\"x\",\"job_spec\":{\"worker_pool_specs\":[{"
                          "\"machine_spec\":{\"machine_type\":\"a\"},\"container_spec\":{"
                          "\"image_uri\":\"i\"}}]}}",
                          vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_OK);
}

static void test_int64_as_string_or_number(void **state)
{
    (void)state;
    assert_int_equal(check_pool_patch("{\"replicaCount\":3}").status, VS_OK);
    assert_int_equal(check_pool_patch("{\"replicaCount\":\"3\"}").status, VS_OK);
    result r = check_pool_patch("{\"replicaCount\":\"3x\"}");
    assert_int_equal(r.status, VS_BAD_VALUE);
    assert_string_equal(r.msg, "Invalid value at "
                               "'custom_job.job_spec.worker_pool_specs[0].replica_count' "
                               "(TYPE_INT64), \"3x\"");
    assert_int_equal(check_pool_patch("{\"replicaCount\":1.5}").status, VS_BAD_VALUE);
    assert_int_equal(check_pool_patch("{\"replicaCount\":true}").status, VS_BAD_VALUE);
    assert_int_equal(check_pool_patch("{\"replicaCount\":\"\"}").status, VS_BAD_VALUE);
}

static result check_timeout(const char *timeout_json)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"displayName\":\"x\",\"jobSpec\":{\"workerPoolSpecs\":[{\"machineSpec\":{"
             "\"machineType\":\"a\"},\"containerSpec\":{\"imageUri\":\"i\"}}],\"scheduling\":{"
             "\"timeout\":%s}}}",
             timeout_json);
    return check_text(text, vs_custom_job, "custom_job");
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(check_timeout("\"3600s\"").status, VS_OK);
    assert_int_equal(check_timeout("\"1.5s\"").status, VS_OK);
    result r = check_timeout("\"1h\"");
    assert_int_equal(r.status, VS_BAD_VALUE);
    assert_string_equal(r.field, "custom_job.job_spec.scheduling.timeout");
    assert_int_equal(check_timeout("\"s\"").status, VS_BAD_VALUE);
    assert_int_equal(check_timeout("\"1.s\"").status, VS_BAD_VALUE);
    assert_int_equal(check_timeout("\"3600\"").status, VS_BAD_VALUE);
    assert_int_equal(check_timeout("\"-5s\"").status, VS_BAD_VALUE);
    assert_int_equal(check_timeout("3600").status, VS_BAD_VALUE);
}

static void test_missing_display_name(void **state)
{
    (void)state;
    result r = check_text("{\"jobSpec\":{\"workerPoolSpecs\":[{\"machineSpec\":{\"machineType\":"
                          "\"a\"}}]}}",
                          vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field, "custom_job.display_name");
    assert_non_null(strstr(r.msg, "Required field is not set."));
}

static void test_empty_worker_pools_missing(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"x\",\"jobSpec\":{\"workerPoolSpecs\":[]}}",
                          vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field, "custom_job.job_spec.worker_pool_specs");
}

static void test_missing_machine_type_and_image(void **state)
{
    (void)state;
    result r = check_pool_patch("{\"machineSpec\":{}}");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field,
                        "custom_job.job_spec.worker_pool_specs[0].machine_spec.machine_type");
    r = check_pool_patch("{\"containerSpec\":{\"args\":[]}}");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field,
                        "custom_job.job_spec.worker_pool_specs[0].container_spec.image_uri");
}

static void test_bad_labels(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"x\",\"labels\":{\"Team\":\"ml\"}}", vs_custom_job,
                          "custom_job");
    assert_int_equal(r.status, VS_BAD_LABELS);
    assert_string_equal(r.field, "custom_job.labels");
    assert_non_null(strstr(r.msg, "Team"));
    r = check_text("{\"displayName\":\"x\",\"labels\":{\"team\":\"ML\"}}", vs_custom_job,
                   "custom_job");
    assert_int_equal(r.status, VS_BAD_LABELS);
    r = check_text("{\"displayName\":\"x\",\"labels\":{\"team\":1}}", vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_BAD_VALUE);
    assert_string_equal(r.field, "custom_job.labels[team]");
}

static void test_string_list_items_checked(void **state)
{
    (void)state;
    result r = check_pool_patch("{\"containerSpec\":{\"imageUri\":\"i\",\"args\":[\"a\",2]}}");
    assert_int_equal(r.status, VS_BAD_VALUE);
    assert_string_equal(r.field, "custom_job.job_spec.worker_pool_specs[0].container_spec.args[1]");
}

static void test_message_must_be_object(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"x\",\"jobSpec\":\"gs://spec\"}", vs_custom_job,
                          "custom_job");
    assert_int_equal(r.status, VS_BAD_VALUE);
    assert_string_equal(r.field, "custom_job.job_spec");
    r = check_pool_patch("{\"machineSpec\":[]}");
    assert_int_equal(r.status, VS_BAD_VALUE);
}

static void test_output_only_fields_ignored(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"x\",\"state\":\"JOB_STATE_SUCCEEDED\",\"name\":"
                          "\"projects/p/locations/l/customJobs/1\",\"jobSpec\":{"
                          "\"workerPoolSpecs\":[{\"machineSpec\":{\"machineType\":\"a\"},"
                          "\"containerSpec\":{\"imageUri\":\"i\"}}]}}",
                          vs_custom_job, "custom_job");
    assert_int_equal(r.status, VS_OK);
}

static void test_upload_request(void **state)
{
    (void)state;
    result r = check_text("{\"parent\":\"projects/p/locations/l\"}", vs_upload_model_request,
                          "upload_model_request");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field, "upload_model_request.model");
    r = check_text("{\"model\":{\"displayName\":\"m\",\"containerSpec\":{\"imageUri\":\"i\","
                   "\"ports\":[{\"containerPort\":\"8080\"}]},\"versionAliases\":[\"prod\"]}}",
                   vs_upload_model_request, "upload_model_request");
    assert_int_equal(r.status, VS_OK);
    r = check_text("{\"model\":{\"displayName\":\"m\",\"artifactUrl\":\"gs://x\"}}",
                   vs_upload_model_request, "upload_model_request");
    assert_int_equal(r.status, VS_UNKNOWN_FIELD);
    assert_string_equal(r.field, "upload_model_request.model");
}

static void test_training_pipeline_inputs_any_value(void **state)
{
    (void)state;
    result r = check_text("{\"displayName\":\"p\",\"trainingTaskDefinition\":\"gs://d.yaml\","
                          "\"trainingTaskInputs\":{\"anything\":[1,{\"x\":null}]}}",
                          vs_training_pipeline, "training_pipeline");
    assert_int_equal(r.status, VS_OK);
    r = check_text("{\"displayName\":\"p\",\"trainingTaskDefinition\":\"gs://d.yaml\"}",
                   vs_training_pipeline, "training_pipeline");
    assert_int_equal(r.status, VS_MISSING);
    assert_string_equal(r.field, "training_pipeline.training_task_inputs");
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(vs_status_name(VS_OK), "ok");
    assert_string_equal(vs_status_name(VS_UNKNOWN_FIELD), "unknown field");
    assert_string_equal(vs_status_name(VS_MISSING), "missing required field");
}

/* ---- one CustomJob schema for check-config and the emulator (src/vertex_schema.c) ---------- */

static json_t *sample(const vs_field *f);

/* Every field of FIELDS that a request may carry, each with a valid value. */
static json_t *sample_message(const vs_field *fields)
{
    json_t *o = json_object();
    for (const vs_field *f = fields; f->name; f++)
        if (!(f->flags & VS_OUTPUT_ONLY))
            json_object_set_new(o, f->name, sample(f));
    return o;
}

static json_t *sample(const vs_field *f)
{
    switch (f->type) {
    case VS_STRING:
        return json_string("x");
    case VS_INT64:
        return json_string("2");
    case VS_INT32:
        return json_integer(2);
    case VS_BOOL:
        return json_true();
    case VS_DURATION:
        return json_string("1.5s");
    case VS_MESSAGE:
        return sample_message(f->fields);
    case VS_STRING_LIST:
        return json_pack("[s]", "x");
    case VS_MESSAGE_LIST:
        return json_pack("[o]", sample_message(f->fields));
    case VS_LABELS:
        return json_pack("{s:s}", "team", "ml");
    case VS_ANY:
        return json_pack("{s:s}", "k", "v");
    }
    return json_null();
}

static int config_problems(const json_t *job, char *buf, size_t cap)
{
    problems p = {.buf = buf, .cap = cap};
    buf[0] = '\0';
    rules_check_job(&p, "job", job);
    return p.count;
}

/* A job that sets every field of the table passes check-config and the emulator alike, with
 * either kind of code; a field either side does not know would fail one of the two. */
static void test_check_config_and_emulator_share_the_custom_job(void **state)
{
    (void)state;
    const char *const kinds[] = {"containerSpec", "pythonPackageSpec"};
    for (int k = 0; k < 2; k++) {
        json_t *job = sample_message(vs_custom_job);
        json_object_del(job, "persistentResourceId"); /* the emulator runs none */
        json_t *pool =
            json_array_get(json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs"), 0);
        assert_non_null(pool);
        json_object_del(pool, kinds[1 - k]);
        char problems[2048];
        if (config_problems(job, problems, sizeof problems) != 0)
            fail_msg("check-config refuses the full job (%s): %s", kinds[k], problems);
        result r;
        r.status = vs_check(job, vs_custom_job, "custom_job", r.msg, sizeof r.msg, r.field,
                            sizeof r.field);
        if (r.status != VS_OK)
            fail_msg("the emulator refuses the full job (%s): %s", kinds[k], r.msg);
        /* ...and both refuse what Google would: an output-only field sent, a bad duration. */
        json_object_set_new(job, "state", json_string("JOB_STATE_RUNNING"));
        assert_int_equal(config_problems(job, problems, sizeof problems), 1);
        assert_non_null(strstr(problems, "job.state: is output only"));
        json_object_del(job, "state");
        json_object_set_new(json_object_get(json_object_get(job, "jobSpec"), "scheduling"),
                            "maxWaitDuration", json_string("1h"));
        assert_int_equal(config_problems(job, problems, sizeof problems), 1);
        assert_non_null(strstr(problems, "job.jobSpec.scheduling.maxWaitDuration: must be a "));
        r.status = vs_check(job, vs_custom_job, "custom_job", r.msg, sizeof r.msg, r.field,
                            sizeof r.field);
        assert_int_equal(r.status, VS_BAD_VALUE);
        json_decref(job);
    }
}

/* What a client echoes back of a resource it read is dropped by the schema's output-only marks;
 * what it wrote stays. */
static void test_drop_output_only(void **state)
{
    (void)state;
    json_t *job = json_pack("{s:s, s:s, s:s, s:{}, s:b}", "displayName", "d", "name", "n", "state",
                            "JOB_STATE_RUNNING", "jobSpec", "satisfiesPzs", 1);
    vs_drop_output_only(job, vs_custom_job);
    assert_int_equal(json_object_size(job), 2);
    assert_non_null(json_object_get(job, "displayName"));
    assert_non_null(json_object_get(job, "jobSpec"));
    json_decref(job);
    json_t *tp = json_pack("{s:s, s:{}, s:s}", "displayName", "d", "trainingTaskMetadata",
                           "createTime", "2026-01-01T00:00:00Z");
    vs_drop_output_only(tp, vs_training_pipeline);
    assert_int_equal(json_object_size(tp), 1);
    json_decref(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_job_passes),
        cmocka_unit_test(test_unknown_field_named_with_proto_path),
        cmocka_unit_test(test_unknown_top_level_field),
        cmocka_unit_test(test_snake_case_names_accepted),
        cmocka_unit_test(test_int64_as_string_or_number),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_missing_display_name),
        cmocka_unit_test(test_empty_worker_pools_missing),
        cmocka_unit_test(test_missing_machine_type_and_image),
        cmocka_unit_test(test_bad_labels),
        cmocka_unit_test(test_string_list_items_checked),
        cmocka_unit_test(test_message_must_be_object),
        cmocka_unit_test(test_output_only_fields_ignored),
        cmocka_unit_test(test_upload_request),
        cmocka_unit_test(test_training_pipeline_inputs_any_value),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_check_config_and_emulator_share_the_custom_job),
        cmocka_unit_test(test_drop_output_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
