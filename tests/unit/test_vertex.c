/* Unit tests for src/vertex.c, the client: its config checks, the label filter, and the retry,
 * re-auth and adoption logic of its one request loop against a loopback mini server that stands
 * in for both the metadata server and Vertex (support/vertex_fixture.h). models.upload is in
 * test_vertex_upload.c, the bodies in test_vertex_body.c, the answers in test_vertex_answer.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clk.h"
#include "support/mini_http.h"
#include "support/vertex_fixture.h"
#include "vertex.h"
#include "vertex_body.h"
#include "vertex_internal.h"

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
    assert_string_equal(vtx_client_location(c), "projects/my-proj/locations/europe-west4");
    vtx_client_free(c);
}

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
    /* However the deadline ends (a backoff that would pass it, or one that overslept it on a
     * loaded machine), the message is the last failure's. */
    if (!strstr(r.message, "access token: metadata server: HTTP 503"))
        fail_msg("unexpected message: %s", r.message);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(r.http_status, 0);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 1); /* the first call only */
    vtx_result_clear(&r);
}

/* A call whose deadline is gone before it starts sends nothing and says so. */
static void test_deadline_gone_before_the_call(void **state)
{
    fixture *f = *state;
    vtx_result r = {.retry_after_s = -1};
    vtx_request q = {.method = "GET", .url = "http://127.0.0.1:9/v1/x", .idempotent = true};
    assert_int_equal(vtx_perform(f->c, &q, clk_mono_ms() - 1, &r), VTX_ERR_TRANSIENT);
    assert_string_equal(r.message, "deadline exceeded before the call");
    assert_int_equal(r.attempts, 0);
    assert_int_equal(mini_http_count(f->srv, "GET /v1/"), 0);
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, vertex_fixture_setup, vertex_fixture_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_filter),
        cmocka_unit_test(test_client_config_checks),
        T(test_get_retries_503_and_429),
        T(test_no_retry_on_400),
        T(test_401_refreshes_token_once),
        T(test_deadline_respected_when_stalled),
        T(test_truncated_answer_is_transient),
        T(test_ambiguous_create_adopts),
        T(test_ambiguous_create_resent_when_absent),
        T(test_create_429_retried_without_lookup),
        T(test_retry_after_beyond_deadline_gives_up_at_once),
        T(test_ambiguous_create_with_failed_lookup_not_resent),
        T(test_token_failure_never_reaches_vertex),
        T(test_deadline_gone_before_the_call),
        T(test_find_and_other_calls),
        T(test_invalid_arguments_never_sent),
    };
    return cmocka_run_group_tests_name("vertex", tests, NULL, NULL);
}
