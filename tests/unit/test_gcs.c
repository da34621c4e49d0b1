/* Unit tests for src/gcs.c against a local HTTP server: the simple upload's URL (bucket and
 * name escaped, uploadType=media), its headers and body byte for byte, and how each answer maps
 * to an error (503 and 429 transient, 403 permanent with Google's message, a 401 dropping the
 * cached token, no answer transient); bad URIs are refused before any request, and the token
 * never appears in a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcs.h"
#include "support/mini_http.h"

#define TOKEN "ya29.static-test-token"

typedef struct {
    mini_http *srv;
    fetch_client *http;
    gauth *auth;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->srv = mini_http_start();
    f->http = fetch_new();
    char err[256];
    gauth_options opt = {.static_token = TOKEN, .http = f->http};
    if (!f->http || gauth_open(&opt, &f->auth, err, sizeof err) != GAUTH_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    gauth_close(f->auth);
    fetch_free(f->http);
    mini_http_stop(f->srv);
    free(f);
    return 0;
}

static gcs_err up(fx *f, const char *uri, const char *data, long *status, char *why, size_t len)
{
    return gcs_upload(f->http, f->auth, mini_http_url(f->srv), uri, "application/x-ndjson", data,
                      data ? strlen(data) : 0, 2000, status, why, len);
}

static void test_upload_request(void **state)
{
    fx *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "{\"name\":\"m/r/a b.jsonl\"}"});
    long status = 0;
    char why[256] = "";
    const char *data = "{\"name\":\"a\"}\n{\"name\":\"b\"}\n";
    assert_int_equal(up(f, "gs://acme-data/m/r/a b.jsonl", data, &status, why, sizeof why), GCS_OK);
    assert_int_equal(status, 200);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(req);
    assert_non_null(strstr(
        req, "POST /upload/storage/v1/b/acme-data/o?uploadType=media&name=m%2Fr%2Fa%20b.jsonl "
             "HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "Authorization: Bearer " TOKEN "\r\n"));
    assert_non_null(strstr(req, "Content-Type: application/x-ndjson\r\n"));
    const char *body = strstr(req, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, data);
    free(req);
}

static void test_answers_map_to_errors(void **state)
{
    fx *f = *state;
    long status;
    char why[256];
    mini_http_push(f->srv, (mini_reply){.status = 503,
                                        .body = "{\"error\":{\"code\":503,"
                                                "\"message\":\"Backend Error\"}}"});
    assert_int_equal(up(f, "gs://b-1/o", "x", &status, why, sizeof why), GCS_ERR_TRANSIENT);
    assert_int_equal(status, 503);
    assert_non_null(strstr(why, "gs://b-1/o: HTTP 503: Backend Error"));
    mini_http_push(f->srv, (mini_reply){.status = 429});
    assert_int_equal(up(f, "gs://b-1/o", "x", &status, why, sizeof why), GCS_ERR_TRANSIENT);
    mini_http_push(f->srv, (mini_reply){.status = 403,
                                        .body = "{\"error\":{\"code\":403,\"message\":\"sa@x does "
                                                "not have storage.objects.create access\"}}"});
    assert_int_equal(up(f, "gs://b-1/o", "x", &status, why, sizeof why), GCS_ERR_PERMANENT);
    assert_non_null(strstr(why, "does not have storage.objects.create access"));
    assert_null(strstr(why, TOKEN));
    mini_http_push(f->srv, (mini_reply){.status = 401});
    assert_int_equal(up(f, "gs://b-1/o", "x", &status, why, sizeof why), GCS_ERR_PERMANENT);
    /* Dropped: no answer (twice: curl sends again once when a kept connection drops). */
    mini_http_push(f->srv, (mini_reply){.status = 0});
    mini_http_push(f->srv, (mini_reply){.status = 0});
    assert_int_equal(up(f, "gs://b-1/o", "x", &status, why, sizeof why), GCS_ERR_TRANSIENT);
    assert_int_equal(status, 0);
    assert_null(strstr(why, TOKEN));
    assert_int_equal(up(f, "gs://b-1/o", NULL, &status, why, sizeof why), GCS_OK); /* empty */
}

/* objects.get with alt=media: the object's path escaped, its bytes handed over whole; a
 * missing object is permanent with 404, a 503 transient, and an answer past the limit refused. */
static void test_read(void **state)
{
    fx *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "{\"auRoc\": 0.91}"});
    char *data = NULL, why[256] = "";
    size_t len = 0;
    long status = 0;
    assert_int_equal(gcs_read(f->http, f->auth, mini_http_url(f->srv),
                              "gs://m-1/run 7/metrics.json", 1024, 2000, &data, &len, &status, why,
                              sizeof why),
                     GCS_OK);
    assert_int_equal(status, 200);
    assert_int_equal(len, strlen("{\"auRoc\": 0.91}"));
    assert_string_equal(data, "{\"auRoc\": 0.91}");
    free(data);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "GET /storage/v1/b/m-1/o/run%207%2Fmetrics.json?alt=media "));
    assert_non_null(strstr(req, "Authorization: Bearer " TOKEN "\r\n"));
    free(req);

    mini_http_push(f->srv, (mini_reply){.status = 404,
                                        .body = "{\"error\":{\"code\":404,"
                                                "\"message\":\"No such object: m-1/x\"}}"});
    assert_int_equal(gcs_read(f->http, f->auth, mini_http_url(f->srv), "gs://m-1/x", 1024, 2000,
                              &data, &len, &status, why, sizeof why),
                     GCS_ERR_PERMANENT);
    assert_int_equal(status, 404);
    assert_null(data);
    assert_non_null(strstr(why, "No such object"));
    mini_http_push(f->srv, (mini_reply){.status = 503});
    assert_int_equal(gcs_read(f->http, f->auth, mini_http_url(f->srv), "gs://m-1/x", 1024, 2000,
                              &data, &len, &status, why, sizeof why),
                     GCS_ERR_TRANSIENT);
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "0123456789abcdef"});
    assert_int_equal(gcs_read(f->http, f->auth, mini_http_url(f->srv), "gs://m-1/x", 8, 2000, &data,
                              &len, &status, why, sizeof why),
                     GCS_ERR_PERMANENT);
    assert_null(data);
    assert_null(strstr(why, TOKEN));
    assert_int_equal(gcs_read(f->http, f->auth, mini_http_url(f->srv), "gs://m-1", 8, 2000, &data,
                              &len, &status, why, sizeof why),
                     GCS_ERR_USAGE);
}

static void test_bad_uris_refused(void **state)
{
    fx *f = *state;
    long before = mini_http_requests(f->srv), status;
    char why[256];
    const char *bad[] = {"s3://b/o", "gs://", "gs://b", "gs://b/", "gs:///o", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(up(f, bad[i], "x", &status, why, sizeof why), GCS_ERR_USAGE);
    assert_int_equal(mini_http_requests(f->srv), before);
    char bucket[8], object[8];
    assert_int_equal(gcs_uri_split("gs://bucket/o", bucket, sizeof bucket, object, sizeof object),
                     0);
    assert_int_equal(
        gcs_uri_split("gs://bucket-too-long/o", bucket, sizeof bucket, object, sizeof object), -1);
    assert_string_equal(gcs_err_name(GCS_ERR_PERMANENT), "permanent");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upload_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answers_map_to_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_uris_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
