/* Unit tests for src/vertex_upload.c: models.upload at most once per label (the model's
 * operations read, then its versions by the label; an upload still running waited for; past
 * the deadline, "cannot tell" rather than a second upload), and model versions found by label
 * and named. Against the loopback mini server of support/vertex_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/mini_http.h"
#include "support/vertex_fixture.h"
#include "vertex.h"
#include "vertex_body.h"

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
#define T(name) cmocka_unit_test_setup_teardown(name, vertex_fixture_setup, vertex_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_ambiguous_upload_not_resent),
        T(test_upload_labels_the_model_and_looks_first),
        T(test_upload_adopts_a_version_with_the_label),
        T(test_ambiguous_upload_waits_for_the_running_one_and_adopts),
        T(test_ambiguous_upload_resent_when_surely_absent),
        T(test_ambiguous_upload_not_resent_while_one_runs),
        T(test_retrying_upload_waits_before_it_looks),
        T(test_find_model_version_pages_past_empty_pages),
        cmocka_unit_test(test_model_version_name),
    };
    return cmocka_run_group_tests_name("vertex_upload", tests, NULL, NULL);
}
