/* Unit tests for src/vertex_answer.c: google.rpc.Status answers read (code, status, message cut
 * and made printable), answers that are no Status (a proxy's HTML, an empty or cut-off body)
 * made transient errors saying what arrived, the backoff's bounds, the error names, a resource
 * handed to the request's arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "printable.h"
#include "vertex.h"

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

/* vtx_result_keep: the resource lives until the arena's reset; clearing a kept result leaves it
 * alone; an error passes through; a result without a resource is left as it is. */
static void test_keep_hands_the_resource_to_the_arena(void **state)
{
    (void)state;
    arena *a = arena_new(256);
    vtx_result r = {.retry_after_s = -1};
    const char *b = "{\"name\":\"projects/p/locations/l/customJobs/7\"}";
    vtx_result_from_answer(&r, 200, b, strlen(b));
    json_t *res = r.resource;
    assert_non_null(res);
    json_incref(res); /* the test's own, to watch the arena's go */
    assert_int_equal(vtx_result_keep(&r, a, VTX_OK), VTX_OK);
    assert_true(r.kept);
    assert_int_equal(vtx_result_keep(&r, a, VTX_OK), VTX_OK); /* once only */
    vtx_result_clear(&r);
    assert_int_equal(res->refcount, 2); /* the clear left it to the arena */
    arena_reset(a);
    assert_int_equal(res->refcount, 1);
    json_decref(res);

    vtx_result none = {.err = VTX_ERR_PERMANENT, .http_status = 400, .retry_after_s = -1};
    assert_int_equal(vtx_result_keep(&none, a, VTX_ERR_PERMANENT), VTX_ERR_PERMANENT);
    assert_false(none.kept);
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_error_parsed),
        cmocka_unit_test(test_status_message_truncated_utf8),
        cmocka_unit_test(test_status_message_printable),
        cmocka_unit_test(test_unreadable_answers),
        cmocka_unit_test(test_backoff_full_jitter_bounds),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_keep_hands_the_resource_to_the_arena),
    };
    return cmocka_run_group_tests_name("vertex_answer", tests, NULL, NULL);
}
