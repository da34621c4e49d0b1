/* vertex_live — gauth and the Vertex client against the running gcp-emulator.
 *
 * Run by tests/e2e/test_vertex_client.sh, which starts the emulator and sets:
 *   RETRAIN_TEST_EMULATOR      its base URL (http://127.0.0.1:N); the test FAILS when unset
 *   RETRAIN_TEST_KEY_FILE      the service-account key file it wrote (STATE_DIR/sa-key.json)
 *   RETRAIN_TEST_STATIC_TOKEN  the EMULATOR_STATIC_TOKEN it was started with
 * Every case starts from POST /emulator/reset and counts requests through GET /emulator/stats.
 *
 * Built by make as build/e2e/vertex_live (the Makefile's e2e-bins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gauth.h"
#include "fetch.h"
#include "vertex.h"
#include "vertex_body.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROJECT "test-project"
#define REGION "us-central1"

static const char *emu_url, *key_file, *static_token;
static char emu_host[128];
static char endpoint[160];

/* ---- emulator control --------------------------------------------------------------------- */

static json_t *control(const char *method, const char *path, const char *body)
{
    fetch_client *h = fetch_new();
    char url[256];
    snprintf(url, sizeof url, "%s%s", emu_url, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    fetch_call call = {.method = method,
                       .url = url,
                       .headers = headers,
                       .body = body,
                       .body_len = body ? strlen(body) : 0,
                       .timeout_ms = 5000};
    fetch_answer r;
    fetch_err e = fetch_do(h, &call, &r);
    if (e != FETCH_OK || r.status != 200)
        fail_msg("%s %s: %s, HTTP %ld: %s", method, path, fetch_err_name(e), r.status, r.body);
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    fetch_answer_free(&r);
    fetch_free(h);
    assert_non_null(j);
    return j;
}

static void control_post(const char *path, const char *body)
{
    json_decref(control("POST", path, body));
}

/* Requests the emulator counted under ROUTE ("customJobs.create"). */
static long stat(const char *route)
{
    json_t *s = control("GET", "/emulator/stats", NULL);
    long n = (long)json_integer_value(json_object_get(json_object_get(s, "requests"), route));
    json_decref(s);
    return n;
}

static long stat2(const char *group, const char *key)
{
    json_t *s = control("GET", "/emulator/stats", NULL);
    long n = (long)json_integer_value(json_object_get(json_object_get(s, group), key));
    json_decref(s);
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fixture: a worker's http client, key-file credentials and a Vertex client ----------------
 */

typedef struct {
    fetch_client *http;
    gauth *auth;
    vtx_client *vtx;
} worker;

static worker *worker_new(const gauth_options *opt, int deadline_ms)
{
    worker *w = calloc(1, sizeof *w);
    w->http = fetch_new();
    gauth_options o = *opt;
    o.http = w->http;
    char err[256];
    if (gauth_open(&o, &w->auth, err, sizeof err) != GAUTH_OK)
        fail_msg("gauth_open: %s", err);
    vertex_config cfg = {
        .endpoint = endpoint, .project = PROJECT, .region = REGION, .deadline_ms = deadline_ms};
    w->vtx = vtx_client_new(&cfg, w->auth, w->http, err, sizeof err);
    if (!w->vtx)
        fail_msg("vtx_client_new: %s", err);
    return w;
}

static void worker_free(worker *w)
{
    vtx_client_free(w->vtx);
    gauth_close(w->auth);
    fetch_free(w->http);
    free(w);
}

static int setup(void **state)
{
    control_post("/emulator/reset", "{}");
    gauth_options opt = {.key_file = key_file};
    *state = worker_new(&opt, 8000);
    return 0;
}

static int teardown(void **state)
{
    worker_free(*state);
    control_post("/emulator/reset", "{}");
    return 0;
}

static json_t *job_body(const char *display)
{
    const char *args[] = {"--epochs", "2", NULL};
    vtx_worker_pool p = {.machine_type = "n1-standard-4",
                         .replica_count = 1,
                         .image_uri = "us-docker.pkg.dev/test-project/train/trainer:1",
                         .args = args,
                         .timeout_s = 3600};
    char err[256];
    json_t *spec = vtx_job_spec_json(&p, err, sizeof err);
    assert_non_null(spec);
    json_t *job = vtx_custom_job_json(display, spec, NULL, err, sizeof err);
    json_decref(spec);
    assert_non_null(job);
    return job;
}

/* Creates a job labelled retrain-event=LABEL; returns its name (malloc'd). */
static char *create_job(worker *w, const char *label)
{
    json_t *job = job_body("live-job");
    vtx_result r;
    vtx_err e = vtx_create_custom_job(w->vtx, job, "retrain-event", label, &r);
    json_decref(job);
    if (e != VTX_OK)
        fail_msg("create: %s: HTTP %ld %s %s", vtx_err_name(e), r.http_status, r.status, r.message);
    char *name = strdup(json_string_value(json_object_get(r.resource, "name")));
    vtx_result_clear(&r);
    return name;
}

/* ---- token sources ------------------------------------------------------------------------ */

static void test_key_file_source(void **state)
{
    worker *w = *state;
    assert_int_equal(gauth_get_source(w->auth), GAUTH_SOURCE_KEY_FILE);
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("oauth.token"), 1);
    assert_int_equal(stat("customJobs.list"), 1);
}

static void test_metadata_source(void **state)
{
    (void)state;
    gauth_options opt = {.metadata_host = emu_host, .probe_metadata = true};
    worker *w = worker_new(&opt, 5000);
    assert_int_equal(gauth_get_source(w->auth), GAUTH_SOURCE_METADATA);
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("metadata.token"), 1); /* the probe's token is the one used */
    worker_free(w);
}

static void test_static_source(void **state)
{
    (void)state;
    assert_non_null(static_token);
    gauth_options opt = {.static_token = static_token};
    worker *w = worker_new(&opt, 5000);
    assert_int_equal(gauth_get_source(w->auth), GAUTH_SOURCE_STATIC);
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("oauth.token") + stat("metadata.token"), 0);
    worker_free(w);
}

typedef struct {
    time_t t;
} fake_clock;

static time_t fake_now(void *ctx)
{
    return ((fake_clock *)ctx)->t;
}

static void test_refresh_at_expiry(void **state)
{
    (void)state;
    control_post("/emulator/config", "{\"token_ttl_s\":300}");
    fake_clock clk = {.t = time(NULL)};
    gauth_options opt = {.key_file = key_file, .now = fake_now, .now_ctx = &clk};
    worker *w = worker_new(&opt, 5000);
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("oauth.token"), 1);
    clk.t += 300 - GAUTH_REFRESH_MARGIN_S - 1; /* still fresh */
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("oauth.token"), 1);
    clk.t += 1; /* 225 s before expiry: refreshed before use */
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(stat("oauth.token"), 2);
    assert_int_equal(stat("vertex.unauthenticated"), 0);
    worker_free(w);
}

static void test_refresh_on_401(void **state)
{
    worker *w = *state;
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    vtx_result_clear(&r);
    control_post("/emulator/oauth/revoke-all", "{}");
    assert_int_equal(vtx_list_custom_jobs(w->vtx, NULL, &r), VTX_OK);
    assert_int_equal(r.attempts, 2);
    vtx_result_clear(&r);
    assert_int_equal(gauth_fetches(w->auth), 2);
    assert_int_equal(stat("oauth.token"), 2);
    assert_int_equal(stat("vertex.unauthenticated"), 1);
}

/* ---- every call --------------------------------------------------------------------------- */

static void test_custom_job_calls(void **state)
{
    worker *w = *state;
    char *name = create_job(w, "live-1");
    assert_non_null(strstr(name, "projects/" PROJECT "/locations/" REGION "/customJobs/"));
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(w->vtx, name, &r), VTX_OK);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")), name);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.resource, "labels"), "retrain-event")),
        "live-1");
    vtx_result_clear(&r);
    assert_int_equal(vtx_get_custom_job(w->vtx, strrchr(name, '/') + 1, &r), VTX_OK);
    vtx_result_clear(&r);

    free(create_job(w, "live-2"));
    assert_int_equal(vtx_list_custom_jobs(w->vtx, "labels.retrain-event=\"live-1\"", &r), VTX_OK);
    assert_int_equal(json_array_size(json_object_get(r.resource, "customJobs")), 1);
    vtx_result_clear(&r);
    assert_int_equal(vtx_find_custom_job(w->vtx, "retrain-event", "live-1", &r), VTX_OK);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")), name);
    vtx_result_clear(&r);
    assert_int_equal(vtx_find_custom_job(w->vtx, "retrain-event", "nothing", &r),
                     VTX_ERR_NOT_FOUND);
    vtx_result_clear(&r);
    assert_int_equal(vtx_get_custom_job(w->vtx, "999999", &r), VTX_ERR_NOT_FOUND);
    assert_int_equal(r.http_status, 404);
    assert_string_equal(r.status, "NOT_FOUND");
    vtx_result_clear(&r);
    free(name);
}

static vtx_model_spec serving_model(const char *const *aliases)
{
    return (vtx_model_spec){.display_name = "churn",
                            .artifact_uri = "gs://test-bucket/model/",
                            .image_uri =
                                "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest",
                            .predict_route = "/predict",
                            .health_route = "/health",
                            .port = 8080,
                            .version_aliases = aliases};
}

static void test_pipeline_calls(void **state)
{
    worker *w = *state;
    json_t *job = job_body("spec");
    const char *aliases[] = {"candidate", NULL};
    vtx_model_spec m = serving_model(aliases);
    char err[256];
    json_t *p = vtx_pipeline_json("live-pipeline", json_object_get(job, "jobSpec"), &m, NULL, NULL,
                                  NULL, err, sizeof err);
    json_decref(job);
    assert_non_null(p);
    vtx_result r;
    vtx_err e = vtx_create_training_pipeline(w->vtx, p, "retrain-event", "pipe-1", &r);
    json_decref(p);
    if (e != VTX_OK)
        fail_msg("%s: %s", vtx_err_name(e), r.message);
    char *name = strdup(json_string_value(json_object_get(r.resource, "name")));
    vtx_result_clear(&r);
    assert_int_equal(vtx_get_training_pipeline(w->vtx, name, &r), VTX_OK);
    vtx_result_clear(&r);
    assert_int_equal(vtx_list_training_pipelines(w->vtx, "labels.retrain-event=\"pipe-1\"", &r),
                     VTX_OK);
    assert_int_equal(json_array_size(json_object_get(r.resource, "trainingPipelines")), 1);
    vtx_result_clear(&r);
    assert_int_equal(vtx_find_training_pipeline(w->vtx, "retrain-event", "pipe-1", &r), VTX_OK);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")), name);
    vtx_result_clear(&r);
    free(name);
    assert_int_equal(stat("trainingPipelines.create"), 1);
}

static void test_upload_operation_and_aliases(void **state)
{
    worker *w = *state;
    control_post("/emulator/config", "{\"upload_min_interval_ms\":0}");
    vtx_model_spec m = serving_model(NULL);
    char err[256];
    json_t *body = vtx_upload_body(&m, NULL, "live-model", err, sizeof err);
    assert_non_null(body);
    vtx_result r;
    vtx_err e = vtx_upload_model(w->vtx, body, "retrain-event", "live-up-1", false, &r);
    if (e != VTX_OK)
        fail_msg("upload: %s: %s", vtx_err_name(e), r.message);
    assert_false(r.adopted);
    char *op = strdup(json_string_value(json_object_get(r.resource, "name")));
    vtx_result_clear(&r);
    json_t *done = NULL;
    for (int i = 0; i < 50 && !done; i++) {
        assert_int_equal(vtx_get_operation(w->vtx, op, &r), VTX_OK);
        if (json_is_true(json_object_get(r.resource, "done")))
            done = json_incref(r.resource);
        vtx_result_clear(&r);
        if (!done)
            usleep(50 * 1000);
    }
    free(op);
    assert_non_null(done);
    json_t *resp = json_object_get(done, "response");
    const char *model = json_string_value(json_object_get(resp, "model"));
    const char *version = json_string_value(json_object_get(resp, "modelVersionId"));
    assert_non_null(model);
    assert_non_null(version);
    char target[300];
    snprintf(target, sizeof target, "%s@%s", model, version);

    /* The version carries the label and is found by it; the same upload again adopts it. */
    char found[300];
    assert_int_equal(vtx_find_model_version(w->vtx, model, "retrain-event", "live-up-1", &r),
                     VTX_OK);
    assert_int_equal(vtx_model_version_name(r.resource, found, sizeof found), 0);
    assert_string_equal(found, target);
    vtx_result_clear(&r);
    assert_int_equal(vtx_find_model_version(w->vtx, model, "retrain-event", "live-up-2", &r),
                     VTX_ERR_NOT_FOUND);
    vtx_result_clear(&r);
    json_object_del(body, "modelId");
    json_object_set_new(body, "parentModel", json_string(model));
    assert_int_equal(vtx_upload_model(w->vtx, body, "retrain-event", "live-up-1", true, &r),
                     VTX_OK);
    assert_true(r.adopted);
    vtx_result_clear(&r);
    json_decref(body);
    assert_int_equal(stat2("created", "uploads"), 1);
    json_decref(done);

    const char *aliases[] = {"prod", NULL};
    e = vtx_merge_version_aliases(w->vtx, target, aliases, &r);
    if (e != VTX_OK)
        fail_msg("merge: %s: %s", vtx_err_name(e), r.message);
    json_t *got = json_object_get(r.resource, "versionAliases");
    bool has_prod = false;
    for (size_t i = 0; i < json_array_size(got); i++)
        has_prod |= strcmp(json_string_value(json_array_get(got, i)), "prod") == 0;
    assert_true(has_prod);
    vtx_result_clear(&r);
}

/* ---- faults ------------------------------------------------------------------------------- */

static void test_retry_503_and_429(void **state)
{
    worker *w = *state;
    char *name = create_job(w, "retry");
    /* Rates that leave a short run of faults (seeded): the backoff is jittered and the deadline
     * is real time, so a long run would make this test depend on the clock. */
    control_post("/emulator/faults", "{\"rate_503\":0.2,\"rate_429\":0.2,\"seed\":7}");
    for (int i = 0; i < 15; i++) {
        vtx_result r;
        vtx_err e = vtx_get_custom_job(w->vtx, name, &r);
        if (e != VTX_OK)
            fail_msg("get %d: %s: %s", i, vtx_err_name(e), r.message);
        vtx_result_clear(&r);
    }
    free(name);
    assert_true(stat2("faults", "unavailable_503") > 0);
    assert_true(stat2("faults", "exhausted_429") > 0);
    assert_int_equal(stat("customJobs.get"), 15);
}

static void test_no_retry_on_400(void **state)
{
    worker *w = *state;
    json_t *job = job_body("bad");
    json_object_set_new(json_object_get(job, "jobSpec"), "notAField", json_integer(1));
    vtx_result r;
    assert_int_equal(vtx_create_custom_job(w->vtx, job, "retrain-event", "bad", &r),
                     VTX_ERR_PERMANENT);
    json_decref(job);
    assert_int_equal(r.http_status, 400);
    assert_string_equal(r.status, "INVALID_ARGUMENT");
    assert_true(strlen(r.message) > 0);
    assert_int_equal(r.attempts, 1);
    vtx_result_clear(&r);
    assert_int_equal(stat("customJobs.create"), 1);
    assert_int_equal(stat("customJobs.list"), 0);
}

static void test_deadline_on_stall(void **state)
{
    (void)state;
    gauth_options opt = {.key_file = key_file};
    worker *w = worker_new(&opt, 1000);
    const char *token;
    char err[256];
    /* Fetch the token first so that the stall is Vertex's alone. */
    assert_int_equal(gauth_token(w->auth, 2000, &token, err, sizeof err), GAUTH_OK);
    control_post("/emulator/faults", "{\"latency_ms\":3000}");
    long long t0 = now_ms();
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(w->vtx, "1", &r), VTX_ERR_TRANSIENT);
    long long took = now_ms() - t0;
    if (took < 900 || took > 2000)
        fail_msg("deadline 1000 ms, took %lld ms", took);
    assert_non_null(strstr(r.message, "timed out"));
    vtx_result_clear(&r);
    worker_free(w);
}

static void test_truncated_answer(void **state)
{
    (void)state;
    control_post("/emulator/faults", "{\"truncate_rate\":1.0}");
    gauth_options opt = {.key_file = key_file};
    worker *quick = worker_new(&opt, 1500);
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(quick->vtx, NULL, &r), VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "truncated or malformed"));
    assert_true(r.attempts >= 2);
    vtx_result_clear(&r);
    worker_free(quick);
}

static void test_ambiguous_creates_never_duplicate(void **state)
{
    worker *w = *state;
    gauth_options opt = {.key_file = key_file};
    worker *patient = worker_new(&opt, 15000);
    const char *token;
    char err[256];
    assert_int_equal(gauth_token(patient->auth, 2000, &token, err, sizeof err), GAUTH_OK);
    control_post("/emulator/faults", "{\"truncate_rate\":0.4,\"drop_rate\":0.3,\"seed\":11}");
    enum { N = 8 };
    int adopted = 0;
    for (int i = 0; i < N; i++) {
        char label[32];
        snprintf(label, sizeof label, "amb-%d", i);
        json_t *job = job_body("ambiguous");
        vtx_result r;
        vtx_err e = vtx_create_custom_job(patient->vtx, job, "retrain-event", label, &r);
        json_decref(job);
        if (e != VTX_OK)
            fail_msg("create %d: %s: %s", i, vtx_err_name(e), r.message);
        adopted += r.adopted;
        vtx_result_clear(&r);
    }
    long truncated = stat2("faults", "truncated"), dropped = stat2("faults", "dropped");
    control_post("/emulator/faults", "{}");
    for (int i = 0; i < N; i++) {
        char filter[64];
        snprintf(filter, sizeof filter, "labels.retrain-event=\"amb-%d\"", i);
        vtx_result r;
        assert_int_equal(vtx_list_custom_jobs(w->vtx, filter, &r), VTX_OK);
        if (json_array_size(json_object_get(r.resource, "customJobs")) != 1)
            fail_msg("label amb-%d: %zu jobs", i,
                     json_array_size(json_object_get(r.resource, "customJobs")));
        vtx_result_clear(&r);
    }
    assert_int_equal(stat2("created", "customJobs"), N);
    print_message("ambiguous creates: %d adopted, %ld truncated and %ld dropped answers\n", adopted,
                  truncated, dropped);
    assert_true(adopted > 0);
    assert_true(dropped > 0);
    worker_free(patient);
}

int main(void)
{
    emu_url = getenv("RETRAIN_TEST_EMULATOR");
    key_file = getenv("RETRAIN_TEST_KEY_FILE");
    static_token = getenv("RETRAIN_TEST_STATIC_TOKEN");
    if (!emu_url || strncmp(emu_url, "http://", 7) != 0 || !key_file) {
        fprintf(stderr, "vertex_live: RETRAIN_TEST_EMULATOR (http://127.0.0.1:N) and "
                        "RETRAIN_TEST_KEY_FILE must be set; run tests/e2e/test_vertex_client.sh\n");
        return 1;
    }
    snprintf(emu_host, sizeof emu_host, "%s", emu_url + 7);
    snprintf(endpoint, sizeof endpoint, "%s/v1", emu_url);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_key_file_source),
        T(test_metadata_source),
        T(test_static_source),
        T(test_refresh_at_expiry),
        T(test_refresh_on_401),
        T(test_custom_job_calls),
        T(test_pipeline_calls),
        T(test_upload_operation_and_aliases),
        T(test_retry_503_and_429),
        T(test_no_retry_on_400),
        T(test_deadline_on_stall),
        T(test_truncated_answer),
        T(test_ambiguous_creates_never_duplicate),
    };
    return cmocka_run_group_tests_name("vertex_live", tests, NULL, NULL);
}
