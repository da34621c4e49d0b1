/* Unit tests for the retrain function's network-free parts: the label merge, a body made a new
 * version of an existing model, the outcome shapes, the terminal states, the mapping of Vertex
 * errors to results, and the handle's decisions that need no Google service (no rule matched;
 * malformed storage data; bad rules at init). The bodies it sends to Vertex AI for each action
 * are body cases (tests/data/bodies/, run by test_body_cases), each compared whole with the
 * JSON expected. The paths that call Vertex run end to end in tests/e2e/test_retrain.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtins.h"
#include "ledger.h"
#include "retrain.h"
#include "retrain_body.h"
#include "retrain_internal.h"
#include "rules.h"

#define FINALIZED "google.cloud.storage.object.v1.finalized"
#define SOURCE "//storage.googleapis.com/projects/_/buckets/acme-data"
#define PARENT "projects/test-project/locations/us-central1"

static const char rules_json[] =
    "[{\"name\": \"fraud\", \"action\": \"train\","
    "  \"match\": {\"type\": \"" FINALIZED "\", \"bucket\": \"acme-data\", \"name\": \"fraud/*\"},"
    "  \"labels\": {\"team\": \"ml\", \"owner\": \"rule\"},"
    "  \"job\": {\"displayName\": \"fraud-${event_id}\","
    "    \"labels\": {\"owner\": \"template\"},"
    "    \"jobSpec\": {\"workerPoolSpecs\": [{\"machineSpec\": {\"machineType\": "
    "\"n1-standard-8\"},"
    "      \"replicaCount\": \"1\", \"containerSpec\": {\"imageUri\": \"img:1\","
    "      \"args\": [\"--input=${gcs_uri}\", \"--gen=${generation}\", \"--k=${event_key}\"]}}],"
    "     \"scheduling\": {\"timeout\": \"3600s\"}}}},"
    " {\"name\": \"churn\", \"action\": \"train_and_register\","
    "  \"match\": {\"type\": \"" FINALIZED "\", \"name\": \"churn/*.csv\"},"
    "  \"job\": {\"displayName\": \"churn-${event_id}\", \"labels\": {\"kind\": \"job\"},"
    "    \"jobSpec\": {\"workerPoolSpecs\": [{\"machineSpec\": {\"machineType\": "
    "\"n1-standard-4\"},"
    "      \"replicaCount\": \"1\", \"containerSpec\": {\"imageUri\": \"img:1\","
    "      \"args\": [\"--data=${gcs_uri}\"]}}]}},"
    "  \"pipeline\": {\"displayName\": \"churn-pipeline-${event_id}\","
    "                \"labels\": {\"kind\": \"pipeline\"}},"
    "  \"model\": {\"parent\": \"" PARENT "/models/churn\", \"aliases\": [\"candidate\", \"blue\"],"
    "    \"container_image\": \"serve:1\", \"description\": \"from ${gcs_uri}\","
    "    \"labels\": {\"stage\": \"model\"}},"
    "  \"labels\": {\"team\": \"ml\"}},"
    " {\"name\": \"imports\", \"action\": \"register\","
    "  \"match\": {\"type\": \"" FINALIZED "\", \"name\": \"models/**/saved_model.pb\"},"
    "  \"model\": {\"model_id\": \"imported\", \"container_image\": \"serve:2\","
    "    \"display_name\": \"imported ${name}\", \"aliases\": [\"staging\"]}},"
    " {\"name\": \"anywhere\", \"action\": \"register\","
    "  \"match\": {\"type\": \"custom.v1\"},"
    "  \"model\": {\"parent\": \"" PARENT "/models/m\", \"container_image\": \"serve:3\"}}]";

typedef struct {
    rules *rules;
    arena *a;
    cloudevent ev;
    storage_object obj;
    char key[LEDGER_KEY_HEX + 1];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    json_t *arr = json_loads(rules_json, 0, NULL);
    char err[1024];
    if (!f || !arr || rules_compile(arr, &f->rules, err, sizeof err) != 0) {
        fprintf(stderr, "setup: %s\n", arr ? err : "rules JSON");
        json_decref(arr);
        free(f);
        return -1;
    }
    json_decref(arr);
    f->a = arena_new(8192);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rules_free(f->rules);
    arena_free(f->a);
    free(f);
    return 0;
}

/* A finalized event for OBJECT in BUCKET (NULL: no data) with id ID; fills f->ev and f->obj. */
static const storage_object *event(fx *f, const char *type, const char *id, const char *bucket,
                                   const char *object)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", id, "source",
                          SOURCE, "type", type, "time", "2026-11-26T07:00:00Z");
    if (bucket)
        json_object_set_new(
            j, "data",
            json_pack("{s:s, s:s, s:s}", "bucket", bucket, "name", object, "generation", "17"));
    char err[256];
    assert_int_equal(ce_from_json(j, f->a, &f->ev, err, sizeof err), CE_OK);
    json_decref(j);
    ledger_key(f->ev.source, f->ev.id, f->key);
    if (!bucket)
        return NULL;
    assert_int_equal(
        storage_object_parse(f->ev.data, f->ev.data_len, f->a, &f->obj, err, sizeof err),
        STORAGE_OBJECT_OK);
    return &f->obj;
}

/* Fails unless GOT equals the JSON text WANT (with %s filled from the varargs). Steals GOT. */
static void expect_json(json_t *got, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_error_t jerr;
    json_t *want = json_loads(text, 0, &jerr);
    if (!want)
        fail_msg("expected JSON does not parse: %s", jerr.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("got  %s\nwant %s\n", g ? g : "NULL", w);
        free(g);
        free(w);
        json_decref(got);
        json_decref(want);
        fail();
    }
    json_decref(got);
    json_decref(want);
}

/* ---- labels -------------------------------------------------------------------------------- */

static void test_event_label_is_the_key_cut_to_63(void **state)
{
    (void)state;
    char key[LEDGER_KEY_HEX + 1], label[RETRAIN_EVENT_LABEL_LEN + 1];
    ledger_key(SOURCE, "e-1", key);
    retrain_event_label(key, label);
    assert_int_equal(strlen(label), 63);
    assert_memory_equal(label, key, 63);
    retrain_event_label(NULL, label);
    assert_string_equal(label, "");
}

static void test_labels_merge_order(void **state)
{
    (void)state;
    char key[LEDGER_KEY_HEX + 1], err[256];
    ledger_key(SOURCE, "e-1", key);
    json_t *rule_labels = json_pack("{s:s, s:s}", "team", "ml", "owner", "rule");
    json_t *own = json_pack("{s:s, s:s, s:s}", "owner", "template", "retrain-rule", "spoofed",
                            "retrain-event", "spoofed");
    json_t *got = retrain_labels(rule_labels, own, "fraud", key, err, sizeof err);
    assert_non_null(got);
    expect_json(got,
                "{\"team\":\"ml\",\"owner\":\"template\",\"retrain-event\":\"%.63s\","
                "\"retrain-rule\":\"fraud\"}",
                key);
    expect_json(retrain_labels(NULL, NULL, "r", key, err, sizeof err),
                "{\"retrain-event\":\"%.63s\",\"retrain-rule\":\"r\"}", key);
    json_decref(rule_labels);
    json_decref(own);
}

static void test_labels_refused(void **state)
{
    (void)state;
    char key[LEDGER_KEY_HEX + 1], err[256];
    ledger_key(SOURCE, "e-1", key);
    json_t *bad_value = json_pack("{s:s}", "team", "Upper Case");
    assert_null(retrain_labels(bad_value, NULL, "r", key, err, sizeof err));
    assert_non_null(strstr(err, "team"));
    json_t *not_object = json_pack("[s]", "x");
    assert_null(retrain_labels(NULL, not_object, "r", key, err, sizeof err));
    assert_non_null(strstr(err, "template: labels must be an object"));
    json_t *many = json_object();
    for (int i = 0; i < 63; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(many, k, json_string("v"));
    }
    assert_null(retrain_labels(many, NULL, "r", key, err, sizeof err)); /* 63 + ours > 64 */
    assert_non_null(strstr(err, "64"));
    assert_null(retrain_labels(NULL, NULL, "Bad Rule", key, err, sizeof err));
    json_decref(bad_value);
    json_decref(not_object);
    json_decref(many);
}

/* ---- a body as a new version ---------------------------------------------------------------- */

static void test_body_as_version_of_an_existing_model(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:{s:s}, s:s}", "model", "displayName", "m", "modelId", "fresh");
    expect_json(retrain_body_as_version(body, PARENT),
                "{\"model\":{\"displayName\":\"m\"},"
                " \"parentModel\":\"" PARENT "/models/fresh\"}");
    json_t *versioned =
        json_pack("{s:{s:s}, s:s}", "model", "displayName", "m", "parentModel", PARENT "/models/x");
    assert_null(retrain_body_as_version(versioned, PARENT)); /* no modelId: nothing to redo */
    assert_null(retrain_body_as_version(body, NULL));
    json_decref(body);
    json_decref(versioned);
}

/* ---- outcomes, states, errors -------------------------------------------------------------- */

static void test_outcome_shapes(void **state)
{
    (void)state;
    expect_json(retrain_outcome_submitted("fraud", "train", PARENT "/customJobs/1", false),
                "{\"status\":\"submitted\",\"rule\":\"fraud\",\"action\":\"train\","
                " \"resource\":\"" PARENT "/customJobs/1\",\"adopted\":false}");
    expect_json(retrain_outcome_coalesced("burst", PARENT "/customJobs/2", "abc"),
                "{\"status\":\"coalesced\",\"rule\":\"burst\","
                " \"resource\":\"" PARENT "/customJobs/2\",\"into_event\":\"abc\"}");
    expect_json(retrain_outcome_pending("imports", PARENT "/models/m/operations/9"),
                "{\"status\":\"submitted\",\"rule\":\"imports\",\"action\":\"register\","
                " \"operation\":\"" PARENT "/models/m/operations/9\",\"pending\":true,"
                " \"adopted\":false}");
    vtx_result res = {.err = VTX_ERR_PERMANENT, .http_status = 400};
    snprintf(res.status, sizeof res.status, "INVALID_ARGUMENT");
    snprintf(res.message, sizeof res.message, "Unknown name \"x\"");
    expect_json(retrain_outcome_failed("broken", "train", &res),
                "{\"status\":\"failed\",\"rule\":\"broken\",\"action\":\"train\","
                " \"http_status\":400,\"google_status\":\"INVALID_ARGUMENT\","
                " \"message\":\"Unknown name \\\"x\\\"\"}");
}

static void test_terminal_states(void **state)
{
    (void)state;
    static const char *const terminal[] = {
        "JOB_STATE_SUCCEEDED",           "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",           "JOB_STATE_EXPIRED",
        "JOB_STATE_PARTIALLY_SUCCEEDED", "PIPELINE_STATE_SUCCEEDED",
        "PIPELINE_STATE_FAILED",         "PIPELINE_STATE_CANCELLED"};
    static const char *const live[] = {"JOB_STATE_PENDING",
                                       "JOB_STATE_QUEUED",
                                       "JOB_STATE_RUNNING",
                                       "JOB_STATE_CANCELLING",
                                       "JOB_STATE_UPDATING",
                                       "PIPELINE_STATE_RUNNING",
                                       "PIPELINE_STATE_PAUSED",
                                       "",
                                       "_FAILED"};
    for (size_t i = 0; i < sizeof terminal / sizeof terminal[0]; i++)
        assert_true(retrain_state_is_terminal(terminal[i]));
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (retrain_state_is_terminal(live[i]))
            fail_msg("%s counted as terminal", live[i]);
    assert_false(retrain_state_is_terminal(NULL));
}

static void test_vertex_errors_map_to_failed_or_retry(void **state)
{
    fx *f = *state;
    const storage_object *obj = event(f, FINALIZED, "e-6", "acme-data", "fraud/x");
    fn_context ctx = {.arena = f->a, .event_key = f->key};
    retrain_call c = {.r = rules_match(f->rules, &f->ev, obj), .ctx = &ctx};
    vtx_result res = {.http_status = 403, .retry_after_s = -1};
    snprintf(res.status, sizeof res.status, "PERMISSION_DENIED");
    snprintf(res.message, sizeof res.message, "denied");

    fn_result out = {0};
    retrain_vertex_failure(&c, "customJobs.create", VTX_ERR_PERMANENT, &res, &out);
    assert_int_equal(out.status, FN_FAILED);
    assert_string_equal(out.error, "customJobs.create: PERMISSION_DENIED: denied (HTTP 403)");
    assert_int_equal(json_integer_value(json_object_get(out.outcome, "http_status")), 403);
    assert_string_equal(json_string_value(json_object_get(out.outcome, "rule")), "fraud");
    json_decref(out.outcome);

    out = (fn_result){0};
    retrain_vertex_failure(&c, "customJobs.create", VTX_ERR_NOT_FOUND, &res, &out);
    assert_int_equal(out.status, FN_FAILED);
    json_decref(out.outcome);

    res.http_status = 429;
    res.retry_after_s = 7;
    snprintf(res.message, sizeof res.message, "slow down");
    out = (fn_result){0};
    retrain_vertex_failure(&c, "models.upload", VTX_ERR_TRANSIENT, &res, &out);
    assert_int_equal(out.status, FN_RETRY);
    assert_int_equal(out.retry_after_s, 7);
    assert_null(out.outcome);
    assert_string_equal(out.error, "models.upload: transient error: slow down");

    res.retry_after_s = -1;
    out = (fn_result){0};
    retrain_vertex_failure(&c, "customJobs.create", VTX_ERR_AUTH, &res, &out);
    assert_int_equal(out.status, FN_RETRY);
    assert_int_equal(out.retry_after_s, 0);
}

/* Runs the crash hook for rule NAME in a child with the hook's environment; true when the child
 * was killed by SIGKILL. */
static bool hook_kills(fx *f, const char *hooks, const char *which, const char *object)
{
    const storage_object *obj = event(f, FINALIZED, "hook", "acme-data", object);
    const rule *r = rules_match(f->rules, &f->ev, obj);
    assert_non_null(r);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (hooks)
            setenv("RETRAIN_TEST_HOOKS", hooks, 1);
        else
            unsetenv("RETRAIN_TEST_HOOKS");
        setenv("RETRAIN_TEST_CRASH_AFTER_CREATE", which, 1);
        retrain_crash_hook(r);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void test_crash_hook_needs_both_variables_and_the_rule(void **state)
{
    fx *f = *state;
    assert_true(hook_kills(f, "1", "1", "fraud/x"));
    assert_true(hook_kills(f, "1", "fraud", "fraud/x"));
    assert_true(hook_kills(f, "1", "held,fraud", "fraud/x"));
    assert_false(hook_kills(f, "1", "churn", "fraud/x"));
    assert_false(hook_kills(f, "1", "frau,fraudx", "fraud/x"));
    assert_false(hook_kills(f, NULL, "1", "fraud/x"));
    assert_false(hook_kills(f, "0", "fraud", "fraud/x"));
    assert_false(hook_kills(f, "1", "", "fraud/x"));
}

/* ---- the function without Google ------------------------------------------------------------ */

/* A config for the function: the rules above, a metadata server that is never called. */
static int init_function(config *cfg, const char *rules_text, void **fstate, char *err,
                         size_t errlen)
{
    config_defaults(cfg);
    json_object_set_new(cfg->sections, "rules", json_loads(rules_text, 0, NULL));
    json_object_set_new(cfg->sections, "vertex", json_pack("{s:s}", "project", "test-project"));
    setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    return retrain_function.init(cfg, fstate, err, errlen);
}

static void test_handle_ignores_and_refuses_without_google(void **state)
{
    fx *f = *state;
    config cfg;
    void *fstate = NULL;
    char err[1024];
    assert_int_equal(init_function(&cfg, rules_json, &fstate, err, sizeof err), 0);
    const fn_def *def = fn_lookup("retrain");
    assert_ptr_equal(def, &retrain_function);

    event(f, FINALIZED, "e-7", "other-bucket", "fraud/x");
    fn_context ctx = {.arena = f->a, .cfg = &cfg, .event_key = f->key, .state = fstate};
    fn_result out = {0};
    def->handle(&f->ev, &ctx, &out);
    assert_int_equal(out.status, FN_IGNORED);
    expect_json(out.outcome, "{\"status\":\"ignored\"}");

    /* A storage event whose data is not a StorageObjectData: a dead letter, nothing sent. */
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:{s:i}}", "specversion", "1.0", "id", "e-8",
                          "source", SOURCE, "type", FINALIZED, "data", "bucket", 7);
    assert_int_equal(ce_from_json(j, f->a, &f->ev, err, sizeof err), CE_OK);
    json_decref(j);
    out = (fn_result){0};
    def->handle(&f->ev, &ctx, &out);
    assert_int_equal(out.status, FN_FAILED);
    assert_non_null(strstr(out.error, "data: not a StorageObjectData (wrong_type)"));
    json_decref(out.outcome);

    /* ...and one this delivery's data caused: a later delivery of the event runs again. */
    assert_true(out.redeliverable);

    /* Media types are case-insensitive: data under Application/JSON is read, and the rule that
     * needs it (no subject, no bucket extension) matches: retried here only for want of a
     * ledger. */
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "specversion", "1.0", "id", "e-11",
                  "source", SOURCE, "type", FINALIZED, "datacontenttype",
                  "Application/JSON; charset=UTF-8", "data", "bucket", "acme-data", "name",
                  "fraud/x");
    assert_int_equal(ce_from_json(j, f->a, &f->ev, err, sizeof err), CE_OK);
    json_decref(j);
    out = (fn_result){0};
    def->handle(&f->ev, &ctx, &out);
    assert_int_equal(out.status, FN_RETRY);
    assert_string_equal(out.error, "no ledger to coordinate submissions with");

    /* Data declared as something else is not read; no rule matching without it is not the
     * event's doing: a dead letter that a later delivery (as JSON) does not answer as a
     * duplicate. A media type that merely contains "json" is not JSON. */
    const char *not_json[] = {"text/plain", "application/x-jsonish"};
    for (size_t i = 0; i < 2; i++) {
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", "e-12",
                      "source", SOURCE, "type", FINALIZED, "datacontenttype", not_json[i], "data",
                      "{\"bucket\":\"acme-data\",\"name\":\"fraud/x\"}");
        assert_int_equal(ce_from_json(j, f->a, &f->ev, err, sizeof err), CE_OK);
        json_decref(j);
        out = (fn_result){0};
        def->handle(&f->ev, &ctx, &out);
        assert_int_equal(out.status, FN_FAILED);
        assert_true(out.redeliverable);
        assert_non_null(strstr(out.error, "not JSON"));
        json_decref(out.outcome);
    }

    /* A matched rule whose body cannot be built for this event: a dead letter naming the rule. */
    event(f, "custom.v1", "e-10", NULL, NULL);
    out = (fn_result){0};
    def->handle(&f->ev, &ctx, &out);
    assert_int_equal(out.status, FN_FAILED);
    assert_string_equal(out.error, "rule anywhere: the event names no object to register");
    expect_json(out.outcome, "{\"status\":\"failed\",\"message\":"
                             "\"rule anywhere: the event names no object to register\"}");

    /* A matching event with no ledger to coordinate through: retried, nothing sent. */
    event(f, FINALIZED, "e-9", "acme-data", "fraud/x");
    out = (fn_result){0};
    def->handle(&f->ev, &ctx, &out);
    assert_int_equal(out.status, FN_RETRY);
    assert_string_equal(out.error, "no ledger to coordinate submissions with");
    assert_null(out.outcome);

    retrain_function.fini(fstate);
    config_free(&cfg);
}

static void test_init_refuses_bad_rules(void **state)
{
    (void)state;
    config cfg;
    void *fstate = (void *)1;
    char err[1024];
    assert_int_equal(init_function(&cfg, "[{\"name\": \"x\"}]", &fstate, err, sizeof err), -1);
    assert_null(fstate);
    assert_non_null(strstr(err, "retrain: rules: rules[0]"));
    config_free(&cfg);
}

int main(void)
{
    builtins_register(); /* as the binaries do */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_label_is_the_key_cut_to_63),
        cmocka_unit_test(test_labels_merge_order),
        cmocka_unit_test(test_labels_refused),
        cmocka_unit_test(test_body_as_version_of_an_existing_model),
        cmocka_unit_test(test_outcome_shapes),
        cmocka_unit_test(test_terminal_states),
        cmocka_unit_test(test_vertex_errors_map_to_failed_or_retry),
        cmocka_unit_test(test_crash_hook_needs_both_variables_and_the_rule),
        cmocka_unit_test(test_handle_ignores_and_refuses_without_google),
        cmocka_unit_test(test_init_refuses_bad_rules),
    };
    return cmocka_run_group_tests_name("retrain", tests, setup, teardown);
}
