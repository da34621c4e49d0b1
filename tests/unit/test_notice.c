/* Unit tests for src/notice.c: a run's end POSTed as a binary-mode CloudEvent (every ce-*
 * attribute, the run record as the body), taken only by a 2xx; another status or no answer is
 * an error that names the status or the failure, never the URL (which may carry a secret). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notice.h"
#include "support/mini_http.h"

typedef struct {
    mini_http *srv;
    fetch_client *http;
    char url[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->srv = mini_http_start();
    f->http = fetch_new();
    snprintf(f->url, sizeof f->url, "%s/hook?token=s3cret-token", mini_http_url(f->srv));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mini_http_stop(f->srv);
    fetch_free(f->http);
    free(f);
    return 0;
}

static run_record ended(run_state s)
{
    run_record r = {.state = s,
                    .rule = "churn",
                    .action = "train",
                    .resource = "projects/p/locations/l/customJobs/7",
                    .queued_ms = 1764140400000,
                    .ended_ms = 1764140460123,
                    .events = 3,
                    .error_code = s == RUN_FAILED ? 13 : 0,
                    .error_message = s == RUN_FAILED ? "internal" : NULL};
    snprintf(r.id, sizeof r.id, "0123456789abcdef01234567");
    return r;
}

static void test_binary_mode_cloudevent(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 204});
    notice_target t = {.url = f->url, .location = "projects/p/locations/l", .timeout_ms = 2000};
    run_record r = ended(RUN_FAILED);
    long status;
    char why[160] = "";
    assert_int_equal(notice_send(f->http, &t, &r, &status, why, sizeof why), 0);
    assert_int_equal(status, 204);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "POST /hook?token=s3cret-token HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "ce-specversion: 1.0\r\n"));
    assert_non_null(strstr(req, "ce-type: dev.eventarc-retrain.run.v1.failed\r\n"));
    assert_non_null(strstr(req, "ce-source: //eventarc-retrain/projects/p/locations/l\r\n"));
    assert_non_null(strstr(req, "ce-id: 0123456789abcdef01234567\r\n"));
    assert_non_null(strstr(req, "ce-subject: rules/churn/runs/0123456789abcdef01234567\r\n"));
    assert_non_null(strstr(req, "ce-time: 2025-11-26T07:01:00.123Z\r\n"));
    assert_non_null(strstr(req, "Content-Type: application/json\r\n"));
    json_t *body = json_loads(strstr(req, "\r\n\r\n") + 4, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "id")), r.id);
    assert_string_equal(json_string_value(json_object_get(body, "state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(body, "events")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"), "code")),
                     13);
    json_decref(body);
    free(req);
}

static void test_not_taken(void **state)
{
    fixture *f = *state;
    notice_target t = {.url = f->url, .location = "projects/p/locations/l", .timeout_ms = 1000};
    run_record r = ended(RUN_SUCCEEDED);
    long status;
    char why[160];
    mini_http_push(f->srv, (mini_reply){.status = 503, .body = "busy"});
    assert_int_equal(notice_send(f->http, &t, &r, &status, why, sizeof why), -1);
    assert_int_equal(status, 503);
    assert_string_equal(why, "the endpoint answered HTTP 503");
    mini_http_push(f->srv, (mini_reply){.status = 302, .headers = "Location: http://x/\r\n"});
    assert_int_equal(notice_send(f->http, &t, &r, &status, why, sizeof why), -1);
    assert_int_equal(status, 302);                     /* a redirect is not taken, nor followed */
    mini_http_push(f->srv, (mini_reply){.status = 0}); /* dropped: no answer */
    assert_int_equal(notice_send(f->http, &t, &r, &status, why, sizeof why), -1);
    assert_int_equal(status, 0);
    assert_null(strstr(why, "s3cret"));
    assert_non_null(strstr(why, "no answer from the endpoint"));
    /* A run that has not ended has no notice. */
    r.state = RUN_RUNNING;
    assert_int_equal(notice_send(f->http, &t, &r, &status, why, sizeof why), -1);
    assert_null(notice_type(RUN_RUNNING));
    assert_string_equal(notice_type(RUN_CANCELLED), "dev.eventarc-retrain.run.v1.cancelled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binary_mode_cloudevent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_taken, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
