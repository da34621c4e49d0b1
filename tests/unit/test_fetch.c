/* fetch: answers, selected headers, connection reuse, deadlines and refusals, against a
 * loopback mini server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fetch.h"
#include "support/mini_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    mini_http *srv;
    fetch_client *c;
    char url[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->srv = mini_http_start();
    f->c = fetch_new();
    snprintf(f->url, sizeof f->url, "%s/v1/thing", mini_http_url(f->srv));
    *state = f;
    return f->c ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fetch_free(f->c);
    mini_http_stop(f->srv);
    free(f);
    return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_status_body_and_headers(void **state)
{
    fixture *f = *state;
    mini_http_push(
        f->srv,
        (mini_reply){.status = 429, .body = "{\"error\":{}}", .headers = "Retry-After: 7\r\n"});
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 2000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "{\"error\":{}}");
    assert_int_equal(r.body_len, 12);
    assert_int_equal(r.retry_after_s, 7);
    assert_string_equal(r.content_type, "application/json");
    assert_true(r.sent);
    fetch_answer_free(&r);
}

static void test_post_sends_body_and_headers(void **state)
{
    fixture *f = *state;
    const char *headers[] = {"X-Test: yes", NULL};
    fetch_call call = {.method = "POST",
                       .url = f->url,
                       .headers = headers,
                       .body = "{\"a\":1}",
                       .body_len = 7,
                       .timeout_ms = 2000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retry_after_s, -1);
    char *req = mini_http_last_request(f->srv);
    assert_non_null(strstr(req, "POST /v1/thing HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "X-Test: yes\r\n"));
    assert_non_null(strstr(req, "\r\n\r\n{\"a\":1}"));
    assert_null(strstr(req, "Expect:"));
    free(req);
    fetch_answer_free(&r);
}

static void test_connection_reused(void **state)
{
    fixture *f = *state;
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 2000};
    for (int i = 0; i < 5; i++) {
        fetch_answer r;
        assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
        fetch_answer_free(&r);
    }
    assert_int_equal(mini_http_requests(f->srv), 5);
    assert_int_equal(mini_http_connections(f->srv), 1);
    assert_int_equal(fetch_connects(f->c), 1);
}

static void test_no_reuse_opens_each_time(void **state)
{
    fixture *f = *state;
    fetch_set_reuse(f->c, false);
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 2000};
    for (int i = 0; i < 4; i++) {
        fetch_answer r;
        assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
        fetch_answer_free(&r);
    }
    assert_int_equal(mini_http_connections(f->srv), 4);
    assert_int_equal(fetch_connects(f->c), 4);
}

static void test_deadline_on_stalled_server(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 200, .delay_ms = 3000});
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 300};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_TIMEOUT);
    long took = elapsed_ms(&t0);
    assert_true(took >= 250 && took < 1500);
    assert_true(r.sent); /* the request left: a create here would be ambiguous */
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "");
    fetch_answer_free(&r);
}

static void test_dropped_after_send(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 0});
    fetch_call call = {
        .method = "POST", .url = f->url, .body = "{}", .body_len = 2, .timeout_ms = 2000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_IO);
    assert_true(r.sent);
    assert_true(strlen(r.detail) > 0);
    fetch_answer_free(&r);
}

/* A loopback port with nothing listening: bind one, note it, close it. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_refused_is_connect_error_and_unsent(void **state)
{
    fixture *f = *state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", closed_port());
    fetch_call call = {
        .method = "POST", .url = url, .body = "{}", .body_len = 2, .timeout_ms = 2000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_CONNECT);
    assert_false(r.sent);
    assert_int_equal(r.status, 0);
    fetch_answer_free(&r);
}

static void test_other_schemes_refused(void **state)
{
    fixture *f = *state;
    fetch_call call = {.method = "GET", .url = "file:///etc/passwd", .timeout_ms = 1000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_USAGE);
    assert_string_equal(r.body, "");
    fetch_answer_free(&r);
}

static void test_missing_timeout_refused(void **state)
{
    fixture *f = *state;
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 0};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_USAGE);
    assert_int_equal(mini_http_requests(f->srv), 0);
    fetch_answer_free(&r);
}

static void test_oversized_answer_refused(void **state)
{
    fixture *f = *state;
    size_t n = FETCH_MAX_BODY + 10;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = big});
    free(big);
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 5000};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_TOO_BIG);
    fetch_answer_free(&r);
}

/* Cache-Control's max-age beside Retry-After: what the JWK set's refresh schedule reads. */
static void test_cache_max_age(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *headers;
        long want;
    } cases[] = {
        {"Cache-Control: public, max-age=19845, must-revalidate\r\n", 19845},
        {"cache-control: MAX-AGE=60\r\n", 60},
        {"Cache-Control: no-store\r\n", 0},
        {"Cache-Control: max-age=600, no-cache\r\n", 0},
        {"Cache-Control: max-age=-5\r\n", -1},
        {"Cache-Control: private\r\n", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mini_http_push(f->srv,
                       (mini_reply){.status = 200, .body = "{}", .headers = cases[i].headers});
        fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 2000};
        fetch_answer r;
        assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
        if (r.max_age_s != cases[i].want)
            fail_msg("%s: max-age %ld, want %ld", cases[i].headers ? cases[i].headers : "(none)",
                     r.max_age_s, cases[i].want);
        fetch_answer_free(&r);
    }
}

static void test_call_body_limit(void **state)
{
    fixture *f = *state;
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "0123456789"});
    mini_http_push(f->srv, (mini_reply){.status = 200, .body = "012345678"});
    fetch_call call = {.method = "GET", .url = f->url, .timeout_ms = 2000, .max_body = 9};
    fetch_answer r;
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_ERR_TOO_BIG);
    fetch_answer_free(&r);
    assert_int_equal(fetch_do(f->c, &call, &r), FETCH_OK);
    assert_string_equal(r.body, "012345678");
    fetch_answer_free(&r);
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(fetch_err_name(FETCH_OK), "ok");
    assert_string_equal(fetch_err_name(FETCH_ERR_TIMEOUT), "timed out");
    assert_string_equal(fetch_err_name((fetch_err)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_sends_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reuse_opens_each_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_on_stalled_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_after_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_is_connect_error_and_unsent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_schemes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_timeout_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_answer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_body_limit, setup, teardown),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
