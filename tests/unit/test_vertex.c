/* vertex: request bodies (exact JSON), google.rpc.Status parsing, backoff bounds, argument
 * checks, and the retry / re-auth / adoption logic against a loopback mini server that stands
 * in for both the metadata server and Vertex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support/mini_http.h"
#include "printable.h"
#include "vertex.h"
#include "vertex_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- bodies ------------------------------------------------------------------------------- */

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

static const char *const prod_aliases[] = {"prod", "v2", NULL};

static vtx_model_spec model_spec(void)
{
    return (vtx_model_spec){.display_name = "churn",
                            .artifact_uri = "gs://b/model/",
                            .image_uri = "us-docker.pkg.dev/vertex-ai/prediction/sklearn:1",
                            .predict_route = "/predict",
                            .health_route = "/health",
                            .port = 8080,
                            .version_aliases = prod_aliases};
}

#define MODEL_JSON                                                                                 \
    "{\"artifactUri\":\"gs://b/model/\",\"containerSpec\":{\"healthRoute\":\"/health\","           \
    "\"imageUri\":\"us-docker.pkg.dev/vertex-ai/prediction/sklearn:1\","                           \
    "\"ports\":[{\"containerPort\":8080}],\"predictRoute\":\"/predict\"},"                         \
    "\"displayName\":\"churn\",\"versionAliases\":[\"prod\",\"v2\"]}"

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

static void test_label_filter(void **state)
{
    (void)state;
    char f[128];
    assert_int_equal(vtx_label_filter(f, sizeof f, "retrain-event", "abc_1"), 0);
    assert_string_equal(f, "labels.retrain-event=\"abc_1\"");
    assert_int_equal(vtx_label_filter(f, sizeof f, "k", "a\" OR labels.x=\"y"), -1);
    assert_int_equal(vtx_label_filter(f, sizeof f, "K", "v"), -1);
    assert_int_equal(vtx_label_filter(f, 8, "retrain-event", "v"), -1);
}

/* ---- answers and backoff ------------------------------------------------------------------ */

static void test_status_error_parsed(void **state)
{
    (void)state;
    vtx_result r = {0};
    const char *b = "{\"error\":{\"code\":400,\"message\":\"List of found errors:\\n1.Field: "
                    "job_spec\",\"status\":\"INVALID_ARGUMENT\",\"details\":[]}}";
    vtx_result_from_answer(&r, 400, b, strlen(b));
    assert_int_equal(r.err, VTX_ERR_PERMANENT);
    assert_int_equal(r.http_status, 400);
    assert_string_equal(r.status, "INVALID_ARGUMENT");
    assert_string_equal(r.message, "List of found errors:\\n1.Field: job_spec");
    assert_null(r.resource);

    struct {
        long http;
        vtx_err want;
    } classes[] = {{401, VTX_ERR_AUTH},      {403, VTX_ERR_PERMANENT}, {404, VTX_ERR_NOT_FOUND},
                   {409, VTX_ERR_PERMANENT}, {429, VTX_ERR_TRANSIENT}, {500, VTX_ERR_TRANSIENT},
                   {503, VTX_ERR_TRANSIENT}, {504, VTX_ERR_TRANSIENT}, {301, VTX_ERR_TRANSIENT}};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        vtx_result_from_answer(&r, classes[i].http, "{}", 2);
        assert_int_equal(r.err, classes[i].want);
    }
    vtx_result_clear(&r);
}

static void test_status_message_truncated_utf8(void **state)
{
    (void)state;
    /* 254 ASCII bytes then a 2-byte character: it must not be cut in half; the cut is marked. */
    char msg[300];
    memset(msg, 'a', 254);
    strcpy(msg + 254, "\xc3\xa9tail");
    json_t *j = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", 503, "message", msg, "status",
                          "UNAVAILABLE");
    char *b = json_dumps(j, 0);
    json_decref(j);
    vtx_result r = {0};
    vtx_result_from_answer(&r, 503, b, strlen(b));
    free(b);
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_string_equal(r.status, "UNAVAILABLE");
    assert_int_equal(strlen(r.message), 255);
    assert_string_equal(r.message + 252, "...");
    assert_true(prt_utf8_valid(r.message, strlen(r.message)));
    vtx_result_clear(&r);
}

/* Google's message (or whatever a proxy sends as one) reaches logs and the ledger's dead letter
 * by the printable policy: quotes, controls, C1 and bidirectional characters escaped. */
static void test_status_message_printable(void **state)
{
    (void)state;
    const char *b = "{\"error\":{\"code\":400,\"status\":\"INVALID\\u001b\",\"message\":"
                    "\"field \\\"x\\\" \\u001b[31m\\u0085 \\u202egnp.exe caf\\u00e9\"}}";
    vtx_result r = {0};
    vtx_result_from_answer(&r, 400, b, strlen(b));
    assert_string_equal(r.message,
                        "field \\\"x\\\" \\x1B[31m\\u{0085} \\u{202E}gnp.exe caf\xc3\xa9");
    assert_string_equal(r.status, "INVALID\\x1B");
    assert_true(prt_is_printable(r.message, strlen(r.message)));
    vtx_result_clear(&r);
}

static void test_unreadable_answers(void **state)
{
    (void)state;
    vtx_result r = {0};
    const char *html = "<html>502 Bad Gateway</html>";
    vtx_result_from_answer(&r, 502, html, strlen(html));
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_string_equal(r.status, "");
    assert_non_null(strstr(r.message, "not a google.rpc.Status"));
    assert_null(strstr(r.message, "Bad Gateway"));

    const char *cut = "{\"name\":\"projects/p/locations/l/customJobs/1\",\"displ";
    vtx_result_from_answer(&r, 200, cut, strlen(cut));
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_null(r.resource);
    assert_non_null(strstr(r.message, "truncated or malformed"));

    vtx_result_from_answer(&r, 200, "", 0);
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "empty body"));

    vtx_result_from_answer(&r, 200, "[1]", 3);
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "non-object"));

    vtx_result_from_answer(&r, 503, "", 0);
    assert_int_equal(r.err, VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "empty body"));

    vtx_result_from_answer(&r, 400, "{\"error\":{\"code\":400}}", 22);
    assert_int_equal(r.err, VTX_ERR_PERMANENT);
    assert_string_equal(r.message, "HTTP 400");

    vtx_result_from_answer(&r, 200, "{\"name\":\"x\"}", 12);
    assert_int_equal(r.err, VTX_OK);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")), "x");
    vtx_result_clear(&r);
    assert_null(r.resource);
}

static void test_backoff_full_jitter_bounds(void **state)
{
    (void)state;
    assert_int_equal(vtx_backoff_cap_ms(0), VTX_BACKOFF_BASE_MS);
    assert_int_equal(vtx_backoff_cap_ms(1), 2 * VTX_BACKOFF_BASE_MS);
    assert_int_equal(vtx_backoff_cap_ms(3), 8 * VTX_BACKOFF_BASE_MS);
    assert_int_equal(vtx_backoff_cap_ms(30), VTX_BACKOFF_MAX_MS);
    assert_int_equal(vtx_backoff_cap_ms(1000), VTX_BACKOFF_MAX_MS);
    for (int attempt = 0; attempt < 8; attempt++) {
        long cap = vtx_backoff_cap_ms(attempt), lo = cap, hi = 0;
        for (int i = 0; i < 2000; i++) {
            long w = vtx_backoff_ms(attempt);
            assert_true(w >= 0 && w <= cap);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        /* Full jitter spreads over the whole range, not just near the cap. */
        assert_true(lo < cap / 10);
        assert_true(hi > cap * 9 / 10);
    }
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(vtx_err_name(VTX_OK), "ok");
    assert_string_equal(vtx_err_name(VTX_ERR_TRANSIENT), "transient error");
    assert_string_equal(vtx_err_name((vtx_err)77), "unknown");
}

/* ---- the client --------------------------------------------------------------------------- */

static void test_client_config_checks(void **state)
{
    (void)state;
    char err[256];
    vertex_config cfg = {.project = NULL, .region = "us-central1", .deadline_ms = 700};
    assert_null(vtx_client_new(&cfg, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "vertex.project"));
    cfg.project = "my-proj";
    cfg.region = "us central";
    assert_null(vtx_client_new(&cfg, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "vertex.region"));
    cfg.region = "europe-west4";
    cfg.endpoint = "ftp://x";
    assert_null(vtx_client_new(&cfg, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "vertex.endpoint"));
    cfg.endpoint = NULL;
    vtx_client *c = vtx_client_new(&cfg, NULL, NULL, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(vtx_client_base_url(c),
                        "https://europe-west4-aiplatform.googleapis.com/v1");
    vtx_client_free(c);
    cfg.endpoint = "http://127.0.0.1:9/v1/";
    c = vtx_client_new(&cfg, NULL, NULL, err, sizeof err);
    assert_string_equal(vtx_client_base_url(c), "http://127.0.0.1:9/v1");
    vtx_client_free(c);
}

typedef struct {
    mini_http *srv;
    gauth *auth;
    fetch_client *http;
    vtx_client *c;
    char endpoint[96];
} fixture;

static const char *const TOKEN_PATH = "/computeMetadata/";

static void push_token(mini_http *srv, const char *token)
{
    char body[128];
    snprintf(body, sizeof body, "{\"access_token\":\"%s\",\"expires_in\":3600}", token);
    mini_http_push(srv, (mini_reply){.status = 200, .body = body, .path = TOKEN_PATH});
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->srv = mini_http_start();
    f->http = fetch_new();
    char host[64], err[256];
    snprintf(host, sizeof host, "127.0.0.1:%d", mini_http_port(f->srv));
    gauth_options opt = {.metadata_host = host, .http = f->http};
    if (gauth_open(&opt, &f->auth, err, sizeof err) != GAUTH_OK)
        return -1;
    snprintf(f->endpoint, sizeof f->endpoint, "%s/v1", mini_http_url(f->srv));
    vertex_config cfg = {
        .endpoint = f->endpoint, .project = "p", .region = "us-central1", .deadline_ms = 700};
    f->c = vtx_client_new(&cfg, f->auth, f->http, err, sizeof err);
    push_token(f->srv, "tok-1");
    *state = f;
    return f->c ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vtx_client_free(f->c);
    gauth_close(f->auth);
    fetch_free(f->http);
    mini_http_stop(f->srv);
    free(f);
    return 0;
}

#define JOB_ANSWER "{\"name\":\"projects/p/locations/us-central1/customJobs/7\"}"
#define UNAVAILABLE "{\"error\":{\"code\":503,\"message\":\"busy\",\"status\":\"UNAVAILABLE\"}}"

static void test_get_retries_503_and_429(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 503, .body = UNAVAILABLE, .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 429, .body = "{}", .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = JOB_ANSWER, .path = "/v1/"});
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_OK);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")),
                        "projects/p/locations/us-central1/customJobs/7");
    assert_int_equal(
        mini_http_count(f->srv, "GET /v1/projects/p/locations/us-central1/customJobs/7 "), 3);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "Authorization: Bearer tok-1\r\n"));
    free(req);
    vtx_result_clear(&r);
}

static void test_no_retry_on_400(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 400,
                                        .body = "{\"error\":{\"code\":400,\"message\":\"bad "
                                                "spec\",\"status\":\"INVALID_ARGUMENT\"}}",
                                        .path = "/v1/"});
    json_t *job = json_loads("{\"displayName\":\"j\",\"jobSpec\":{}}", 0, NULL);
    vtx_result r;
    assert_int_equal(vtx_create_custom_job(f->c, job, "retrain-event", "e1", &r),
                     VTX_ERR_PERMANENT);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.http_status, 400);
    assert_string_equal(r.status, "INVALID_ARGUMENT");
    assert_string_equal(r.message, "bad spec");
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 1);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "\"labels\":{\"retrain-event\":\"e1\"}"));
    free(req);
    vtx_result_clear(&r);
    json_decref(job);
}

static void test_401_refreshes_token_once(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 401, .body = "{}", .path = "/v1/"});
    push_token(f->srv, "tok-2");
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = JOB_ANSWER, .path = "/v1/"});
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_OK);
    assert_int_equal(gauth_fetches(f->auth), 2);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "Authorization: Bearer tok-2\r\n"));
    free(req);
    vtx_result_clear(&r);

    /* A second 401 in the same call is final. */
    mini_http_push(f->srv, (mini_reply){.status = 401, .body = "{}", .path = "/v1/"});
    push_token(f->srv, "tok-3");
    mini_http_push(f->srv, (mini_reply){.status = 401, .body = "{}", .path = "/v1/"});
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_ERR_AUTH);
    assert_int_equal(r.attempts, 2);
    assert_null(strstr(r.message, "tok-"));
    vtx_result_clear(&r);
}

static void test_deadline_respected_when_stalled(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 200, .delay_ms = 6000, .path = "/v1/"});
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_ERR_TRANSIENT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 650 && ms < 2000); /* deadline_ms = 700; the stall is 6000 */
    assert_non_null(strstr(r.message, "timed out"));
    vtx_result_clear(&r);
}

static void test_truncated_answer_is_transient(void **state)
{
    fixture *f = *state;
    /* Every answer cut short: retried until the deadline, then a clear transient error. */
    for (int i = 0; i < 40; i++)
        mini_http_push(f->srv,
                       (mini_reply){.status = 200, .body = "{\"name\":\"proj", .path = "/v1/"});
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_ERR_TRANSIENT);
    assert_true(r.attempts > 1);
    assert_non_null(strstr(r.message, "truncated or malformed"));
    vtx_result_clear(&r);
}

static void test_ambiguous_create_adopts(void **state)
{
    fixture *f = *state;
    /* The create is dropped after it was sent; the list finds the job Google made anyway. */
    mini_http_push(f->srv, (mini_reply){.status = 0, .path = "/v1/"});
    mini_http_push(
        f->srv,
        (mini_reply){.status = 200, .body = "{\"customJobs\":[" JOB_ANSWER "]}", .path = "/v1/"});
    json_t *job = json_loads("{\"displayName\":\"j\",\"jobSpec\":{}}", 0, NULL);
    vtx_result r;
    assert_int_equal(vtx_create_custom_job(f->c, job, "retrain-event", "e9", &r), VTX_OK);
    assert_true(r.adopted);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")),
                        "projects/p/locations/us-central1/customJobs/7");
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 1);
    assert_int_equal(mini_http_count(f->srv,
                                     "GET /v1/projects/p/locations/us-central1/customJobs?filter="
                                     "labels.retrain-event%3D%22e9%22"),
                     1);
    vtx_result_clear(&r);
    json_decref(job);
}

static void test_ambiguous_create_resent_when_absent(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 503, .body = UNAVAILABLE, .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "{}", .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = JOB_ANSWER, .path = "/v1/"});
    json_t *job = json_loads("{\"displayName\":\"j\",\"jobSpec\":{}}", 0, NULL);
    vtx_result r;
    assert_int_equal(vtx_create_custom_job(f->c, job, "retrain-event", "e9", &r), VTX_OK);
    assert_false(r.adopted);
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 2);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 1);
    assert_int_equal(r.attempts, 3);
    vtx_result_clear(&r);
    json_decref(job);
}

static void test_create_429_retried_without_lookup(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 429, .body = "{}", .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = JOB_ANSWER, .path = "/v1/"});
    json_t *p = json_loads("{\"displayName\":\"p\"}", 0, NULL);
    vtx_result r;
    assert_int_equal(vtx_create_training_pipeline(f->c, p, "retrain-event", "e2", &r), VTX_OK);
    assert_int_equal(
        mini_http_count(f->srv, "POST /v1/projects/p/locations/us-central1/trainingPipelines "), 2);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 0);
    vtx_result_clear(&r);
    json_decref(p);
}

static void test_ambiguous_upload_not_resent(void **state)
{
    fixture *f = *state;
    mini_http_push(
        f->srv,
        (mini_reply){.status = 0, .path = "/v1/projects/p/locations/us-central1/models:upload"});
    vtx_model_spec m = model_spec();
    char err[256];
    json_t *body = vtx_upload_body(&m, NULL, NULL, err, sizeof err);
    vtx_result r;
    /* A model Vertex names itself: there is no model whose operations tell. */
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r),
                     VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "not re-sent"));
    assert_int_equal(mini_http_count(f->srv, "GET /v1/projects/p/locations/us-central1/models?"),
                     2); /* before, and after the drop */
    assert_int_equal(
        mini_http_count(f->srv, "POST /v1/projects/p/locations/us-central1/models:upload "), 1);
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_retry_after_beyond_deadline_gives_up_at_once(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 429,
                                        .body = "{\"error\":{\"code\":429,\"status\":"
                                                "\"RESOURCE_EXHAUSTED\",\"message\":\"quota\"}}",
                                        .headers = "Retry-After: 30\r\n",
                                        .path = "/v1/"});
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_ERR_TRANSIENT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 500); /* no point sleeping past the deadline */
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retry_after_s, 30); /* for the caller's own Retry-After */
    assert_string_equal(r.status, "RESOURCE_EXHAUSTED");
    vtx_result_clear(&r);
}

static void test_ambiguous_create_with_failed_lookup_not_resent(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 500, .body = "{}", .path = "/v1/"});
    mini_http_push(f->srv, (mini_reply){.status = 403,
                                        .body = "{\"error\":{\"code\":403,\"status\":"
                                                "\"PERMISSION_DENIED\",\"message\":\"no list\"}}",
                                        .path = "/v1/"});
    json_t *job = json_loads("{\"displayName\":\"j\",\"jobSpec\":{}}", 0, NULL);
    vtx_result r;
    assert_int_equal(vtx_create_custom_job(f->c, job, "retrain-event", "e5", &r),
                     VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "outcome unknown"));
    assert_non_null(strstr(r.message, "no list"));
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 1);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 1);
    assert_null(r.resource);
    vtx_result_clear(&r);
    json_decref(job);
}

static void test_token_failure_never_reaches_vertex(void **state)
{
    fixture *f = *state;
    vtx_result r;
    assert_int_equal(vtx_list_custom_jobs(f->c, NULL, &r), VTX_OK); /* uses the first token */
    vtx_result_clear(&r);
    gauth_invalidate(f->auth);
    /* The metadata server fails for the whole deadline: a transient error, nothing sent. */
    for (int i = 0; i < 40; i++)
        mini_http_push(f->srv, (mini_reply){.status = 503, .body = "x", .path = TOKEN_PATH});
    assert_int_equal(vtx_get_custom_job(f->c, "7", &r), VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "access token: metadata server: HTTP 503"));
    assert_int_equal(r.attempts, 0);
    assert_int_equal(r.http_status, 0);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 1); /* the first call only */
    vtx_result_clear(&r);
}

static void test_find_and_other_calls(void **state)
{
    fixture *f = *state;
    vtx_result r;
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "{}", .path = "/v1/"});
    assert_int_equal(vtx_find_training_pipeline(f->c, "retrain-event", "none", &r),
                     VTX_ERR_NOT_FOUND);
    vtx_result_clear(&r);

    mini_http_push(
        f->srv,
        (mini_reply){.status = 200, .body = "{\"name\":\"op\",\"done\":true}", .path = "/v1/"});
    assert_int_equal(vtx_get_operation(f->c, "projects/p/locations/us-central1/operations/55", &r),
                     VTX_OK);
    assert_int_equal(
        mini_http_count(f->srv, "GET /v1/projects/p/locations/us-central1/operations/55 "), 1);
    vtx_result_clear(&r);

    const char *aliases[] = {"prod", NULL};
    assert_int_equal(
        vtx_merge_version_aliases(f->c, "projects/p/locations/us-central1/models/9@2", aliases, &r),
        VTX_OK);
    assert_int_equal(mini_http_count(f->srv, "POST /v1/projects/p/locations/us-central1/models/"
                                             "9@2:mergeVersionAliases "),
                     1);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "{\"versionAliases\":[\"prod\"]}"));
    free(req);
    vtx_result_clear(&r);

    assert_int_equal(vtx_list_custom_jobs(f->c, NULL, &r), VTX_OK);
    assert_int_equal(
        mini_http_count(f->srv, "GET /v1/projects/p/locations/us-central1/customJobs?pageSize="),
        1);
    vtx_result_clear(&r);
}

static void test_invalid_arguments_never_sent(void **state)
{
    fixture *f = *state;
    vtx_result r;
    assert_int_equal(vtx_get_custom_job(f->c, "../../x", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_get_custom_job(f->c, "7?x=1", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_get_custom_job(f->c, "a/b", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_get_custom_job(f->c, "", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_get_operation(f->c, "projects/p/models/1", &r), VTX_ERR_INVALID);
    const char *aliases[] = {"Bad", NULL};
    assert_int_equal(
        vtx_merge_version_aliases(f->c, "projects/p/locations/l/models/1", aliases, &r),
        VTX_ERR_INVALID);
    assert_non_null(strstr(r.message, "version alias"));
    json_t *job = json_loads("{\"displayName\":\"j\"}", 0, NULL);
    assert_int_equal(vtx_create_custom_job(f->c, job, "Bad Key", "v", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_create_custom_job(f->c, job, NULL, NULL, &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_find_custom_job(f->c, "k", "a\"b", &r), VTX_ERR_INVALID);
    json_t *nomodel = json_loads("{}", 0, NULL);
    assert_int_equal(vtx_upload_model(f->c, nomodel, "k", "v", false, &r), VTX_ERR_INVALID);
    json_t *upload = json_pack("{s:{s:s}, s:s}", "model", "displayName", "m", "parentModel",
                               "projects/p/locations/l/models/m@2");
    assert_int_equal(vtx_upload_model(f->c, upload, "k", "v", false, &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_upload_model(f->c, upload, "k", "a b", false, &r), VTX_ERR_INVALID);
    json_decref(upload);
    assert_int_equal(vtx_find_model_version(f->c, "models/m", "k", "v", &r), VTX_ERR_INVALID);
    assert_int_equal(vtx_find_model_version(f->c, "projects/p/locations/l/models/m", "K", "v", &r),
                     VTX_ERR_INVALID);
    json_decref(nomodel);
    json_decref(job);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/") + mini_http_count(f->srv, "POST /v1/"), 0);
}

/* ---- models.upload, exactly once per label ------------------------------------------------ */

#define MODEL "projects/p/locations/us-central1/models/m"
#define VERSIONS_PATH "/v1/" MODEL ":listVersions"
#define OPS_PATH "/v1/" MODEL "/operations"
#define UPLOAD_PATH "/v1/projects/p/locations/us-central1/models:upload"
#define VERSION_ANSWER                                                                             \
    "{\"models\":[{\"name\":\"" MODEL "@4\",\"versionId\":\"4\","                                  \
    "\"labels\":{\"retrain-event\":\"e1\"}}]}"
#define OP_ANSWER "{\"name\":\"" MODEL "/operations/9\",\"done\":false}"

/* The next operations.list of the model: one upload still running, or all done. */
static void push_ops(fixture *f, bool done)
{
    mini_http_push(f->srv, (mini_reply){.status = 200,
                                        .body = done ? "{\"operations\":[{\"name\":\"o\","
                                                       "\"done\":true}]}"
                                                     : "{\"operations\":[{\"name\":\"o\"}]}",
                                        .path = OPS_PATH});
}

/* The next listVersions by label: the version, or none. */
static void push_versions(fixture *f, bool found)
{
    mini_http_push(
        f->srv,
        (mini_reply){.status = 200, .body = found ? VERSION_ANSWER : "{}", .path = VERSIONS_PATH});
}

static json_t *upload_to_m(void)
{
    vtx_model_spec m = model_spec();
    char err[256];
    json_t *body = vtx_upload_body(&m, MODEL, NULL, err, sizeof err);
    assert_non_null(body);
    return body;
}

static void test_upload_labels_the_model_and_looks_first(void **state)
{
    fixture *f = *state;
    push_versions(f, false);
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = OP_ANSWER, .path = UPLOAD_PATH});
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r), VTX_OK);
    assert_false(r.adopted);
    assert_string_equal(json_string_value(json_object_get(r.resource, "name")),
                        MODEL "/operations/9");
    assert_int_equal(mini_http_count(f->srv,
                                     "GET " VERSIONS_PATH
                                     "?filter=labels.retrain-event%3D%22e1%22&pageSize=50 "),
                     1);
    assert_int_equal(mini_http_count(f->srv, "GET " OPS_PATH), 0); /* not retrying */
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "POST " UPLOAD_PATH " "));
    assert_non_null(strstr(req, "\"labels\":{\"retrain-event\":\"e1\"}"));
    assert_non_null(strstr(req, "\"parentModel\":\"" MODEL "\""));
    free(req);
    /* The caller's body is not changed. */
    assert_null(json_object_get(json_object_get(body, "model"), "labels"));
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_upload_adopts_a_version_with_the_label(void **state)
{
    fixture *f = *state;
    push_versions(f, true);
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r), VTX_OK);
    assert_true(r.adopted);
    char name[256];
    assert_int_equal(vtx_model_version_name(r.resource, name, sizeof name), 0);
    assert_string_equal(name, MODEL "@4");
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 0);
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_ambiguous_upload_waits_for_the_running_one_and_adopts(void **state)
{
    fixture *f = *state;
    push_versions(f, false);
    mini_http_push(f->srv, (mini_reply){.status = 200,
                                        .body = "{\"name\":\"" MODEL "/oper",
                                        .path = UPLOAD_PATH}); /* truncated */
    mini_http_push(f->srv, (mini_reply){.status = 200,
                                        .body = "{\"operations\":[{\"name\":\"o\",\"done\":true},"
                                                "{\"name\":\"o2\"}]}",
                                        .path = OPS_PATH});
    push_versions(f, false);
    push_ops(f, true);
    push_versions(f, true);
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r), VTX_OK);
    assert_true(r.adopted);
    assert_int_equal(mini_http_count(f->srv, "POST " UPLOAD_PATH), 1);
    assert_int_equal(mini_http_count(f->srv, "GET " OPS_PATH "?pageSize=100 "), 2);
    assert_int_equal(mini_http_count(f->srv, "GET " VERSIONS_PATH), 3);
    assert_int_equal(r.attempts, 6);
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_ambiguous_upload_resent_when_surely_absent(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 503, .body = UNAVAILABLE, .path = UPLOAD_PATH});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = OP_ANSWER, .path = UPLOAD_PATH});
    /* Everything else: 200 {} (no operation running, no version with the label). */
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r), VTX_OK);
    assert_false(r.adopted);
    assert_int_equal(mini_http_count(f->srv, "POST " UPLOAD_PATH), 2);
    assert_int_equal(mini_http_count(f->srv, "GET " OPS_PATH), 1);
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_ambiguous_upload_not_resent_while_one_runs(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 0, .path = UPLOAD_PATH});
    for (int i = 0; i < 10; i++)
        push_ops(f, false);
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", false, &r),
                     VTX_ERR_TRANSIENT);
    assert_non_null(strstr(r.message, "still running"));
    assert_non_null(strstr(r.message, "not re-sent"));
    assert_int_equal(mini_http_count(f->srv, "POST " UPLOAD_PATH), 1);
    vtx_result_clear(&r);
    json_decref(body);
}

static void test_retrying_upload_waits_before_it_looks(void **state)
{
    fixture *f = *state;
    /* A reclaimed event: its earlier upload is still running when it comes back. */
    push_ops(f, false);
    push_versions(f, false);
    push_ops(f, true);
    push_versions(f, true);
    json_t *body = upload_to_m();
    vtx_result r;
    assert_int_equal(vtx_upload_model(f->c, body, "retrain-event", "e1", true, &r), VTX_OK);
    assert_true(r.adopted);
    assert_int_equal(mini_http_count(f->srv, "POST /v1/"), 0);
    vtx_result_clear(&r);
    /* A model that does not exist yet (a new modelId) has nothing running: upload at once. */
    vtx_model_spec m = model_spec();
    char err[256];
    json_t *fresh = vtx_upload_body(&m, NULL, "fresh", err, sizeof err);
    mini_http_push(f->srv,
                   (mini_reply){.status = 404,
                                .body = "{\"error\":{\"code\":404,\"status\":\"NOT_FOUND\"}}",
                                .path = "/v1/projects/p/locations/us-central1/models/fresh/"});
    mini_http_push(f->srv,
                   (mini_reply){.status = 404,
                                .body = "{\"error\":{\"code\":404,\"status\":\"NOT_FOUND\"}}",
                                .path = "/v1/projects/p/locations/us-central1/models/fresh:"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = OP_ANSWER, .path = UPLOAD_PATH});
    assert_int_equal(vtx_upload_model(f->c, fresh, "retrain-event", "e1", true, &r), VTX_OK);
    assert_false(r.adopted);
    assert_int_equal(mini_http_count(f->srv, "POST " UPLOAD_PATH), 1);
    vtx_result_clear(&r);
    json_decref(fresh);
    json_decref(body);
}

static void test_find_model_version_pages_past_empty_pages(void **state)
{
    fixture *f = *state;
    mini_http_push(
        f->srv,
        (mini_reply){.status = 200, .body = "{\"nextPageToken\":\"t/1\"}", .path = VERSIONS_PATH});
    push_versions(f, true);
    vtx_result r;
    assert_int_equal(vtx_find_model_version(f->c, MODEL, "retrain-event", "e1", &r), VTX_OK);
    assert_string_equal(json_string_value(json_object_get(r.resource, "versionId")), "4");
    assert_int_equal(mini_http_count(f->srv, "GET " VERSIONS_PATH
                                             "?filter=labels.retrain-event%3D%22e1%22&pageSize=50"
                                             "&pageToken=t%2F1 "),
                     1);
    vtx_result_clear(&r);
    assert_int_equal(vtx_find_model_version(f->c, MODEL, "retrain-event", "e2", &r),
                     VTX_ERR_NOT_FOUND);
    vtx_result_clear(&r);
    /* No model named: models.list of the location. */
    assert_int_equal(vtx_find_model_version(f->c, NULL, "retrain-event", "e2", &r),
                     VTX_ERR_NOT_FOUND);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/projects/p/locations/us-central1/models?"),
                     1);
    vtx_result_clear(&r);
}

static void test_model_version_name(void **state)
{
    (void)state;
    char buf[64];
    json_t *v =
        json_pack("{s:s, s:s}", "name", "projects/p/locations/l/models/m@3", "versionId", "3");
    assert_int_equal(vtx_model_version_name(v, buf, sizeof buf), 0);
    assert_string_equal(buf, "projects/p/locations/l/models/m@3");
    json_object_set_new(v, "name", json_string("projects/p/locations/l/models/m"));
    assert_int_equal(vtx_model_version_name(v, buf, sizeof buf), 0);
    assert_string_equal(buf, "projects/p/locations/l/models/m@3");
    assert_int_equal(vtx_model_version_name(v, buf, 10), -1);
    json_object_del(v, "versionId");
    assert_int_equal(vtx_model_version_name(v, buf, sizeof buf), 0);
    assert_string_equal(buf, "projects/p/locations/l/models/m");
    json_object_del(v, "name");
    assert_int_equal(vtx_model_version_name(v, buf, sizeof buf), -1);
    json_decref(v);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_and_aliases),
        cmocka_unit_test(test_job_spec_int64_strings_and_durations),
        cmocka_unit_test(test_job_spec_bad_arguments),
        cmocka_unit_test(test_custom_job_from_template),
        cmocka_unit_test(test_upload_body),
        cmocka_unit_test(test_pipeline_body),
        cmocka_unit_test(test_merge_aliases_body),
        cmocka_unit_test(test_with_label),
        cmocka_unit_test(test_label_filter),
        cmocka_unit_test(test_status_error_parsed),
        cmocka_unit_test(test_status_message_truncated_utf8),
        cmocka_unit_test(test_status_message_printable),
        cmocka_unit_test(test_unreadable_answers),
        cmocka_unit_test(test_backoff_full_jitter_bounds),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_client_config_checks),
        T(test_get_retries_503_and_429),
        T(test_no_retry_on_400),
        T(test_401_refreshes_token_once),
        T(test_deadline_respected_when_stalled),
        T(test_truncated_answer_is_transient),
        T(test_ambiguous_create_adopts),
        T(test_ambiguous_create_resent_when_absent),
        T(test_create_429_retried_without_lookup),
        T(test_ambiguous_upload_not_resent),
        T(test_retry_after_beyond_deadline_gives_up_at_once),
        T(test_ambiguous_create_with_failed_lookup_not_resent),
        T(test_token_failure_never_reaches_vertex),
        T(test_find_and_other_calls),
        T(test_invalid_arguments_never_sent),
        T(test_upload_labels_the_model_and_looks_first),
        T(test_upload_adopts_a_version_with_the_label),
        T(test_ambiguous_upload_waits_for_the_running_one_and_adopts),
        T(test_ambiguous_upload_resent_when_surely_absent),
        T(test_ambiguous_upload_not_resent_while_one_runs),
        T(test_retrying_upload_waits_before_it_looks),
        T(test_find_model_version_pages_past_empty_pages),
        cmocka_unit_test(test_model_version_name),
    };
    return cmocka_run_group_tests_name("vertex", tests, NULL, NULL);
}
