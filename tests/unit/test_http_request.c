/* Unit tests for http_request: header lookup, the JSON and error responses, the header cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_request.h"

static const http_header headers[] = {
    {"content-type", "application/json"},
    {"ce-id", "first"},
    {"x-empty", ""},
    {"ce-id", "second"},
};

static const http_request req = {.method = "POST",
                                 .path = "/",
                                 .query = "",
                                 .remote_addr = "127.0.0.1",
                                 .headers = headers,
                                 .n_headers = sizeof headers / sizeof headers[0]};

static void test_header_get_any_case(void **state)
{
    (void)state;
    assert_string_equal(http_header_get(&req, "content-type"), "application/json");
    assert_string_equal(http_header_get(&req, "Content-Type"), "application/json");
    assert_string_equal(http_header_get(&req, "CONTENT-TYPE"), "application/json");
    assert_string_equal(http_header_get(&req, "x-empty"), "");
    assert_null(http_header_get(&req, "content-length"));
    assert_null(http_header_get(&req, "content-typ"));
    http_request none = {.headers = NULL, .n_headers = 0};
    assert_null(http_header_get(&none, "content-type"));
}

static void test_header_first_wins(void **state)
{
    (void)state;
    assert_string_equal(http_header_get(&req, "CE-ID"), "first");
}

static void test_status_text(void **state)
{
    (void)state;
    assert_string_equal(http_status_text(200), "OK");
    assert_string_equal(http_status_text(415), "Unsupported Media Type");
    assert_string_equal(http_status_text(503), "Service Unavailable");
    assert_string_equal(http_status_text(299), "Unknown");
}

static void test_response_json(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    http_response resp = {0};
    json_t *body = json_pack("{s:s, s:i, s:[i,i]}", "outcome", "processed", "n", 3, "l", 1, 2);
    assert_int_equal(http_response_json(&resp, a, 202, body), 0);
    assert_int_equal(resp.status, 202);
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(resp.body, "{\"outcome\":\"processed\",\"n\":3,\"l\":[1,2]}");
    assert_int_equal(resp.body_len, strlen(resp.body));
    arena_free(a);
}

/* A body that grows the sink past its first buffer is still whole. */
static void test_response_json_large(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    http_response resp = {0};
    json_t *arr = json_array();
    for (int i = 0; i < 1000; i++)
        json_array_append_new(arr, json_integer(i));
    assert_int_equal(http_response_json(&resp, a, 200, arr), 0);
    json_t *back = json_loadb(resp.body, resp.body_len, 0, NULL);
    assert_non_null(back);
    assert_int_equal(json_array_size(back), 1000);
    assert_int_equal(json_integer_value(json_array_get(back, 999)), 999);
    json_decref(back);
    arena_free(a);
}

static void test_response_json_null_body(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    http_response resp = {0};
    assert_int_equal(http_response_json(&resp, a, 200, NULL), -1);
    assert_int_equal(resp.status, 500);
    assert_string_equal(resp.content_type, "application/json");
    json_t *b = json_loadb(resp.body, resp.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "error")), "internal");
    json_decref(b);
    arena_free(a);
}

static void test_response_error_shape(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    http_response resp = {0};
    assert_int_equal(http_response_error(&resp, a, 400, "missing_attribute",
                                         "missing required attribute \"%s\" (%d)", "source", 7),
                     0);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp.content_type, "application/json");
    json_t *b = json_loadb(resp.body, resp.body_len, 0, NULL);
    assert_non_null(b);
    assert_int_equal(json_object_size(b), 2);
    assert_string_equal(json_string_value(json_object_get(b, "error")), "missing_attribute");
    assert_string_equal(json_string_value(json_object_get(b, "message")),
                        "missing required attribute \"source\" (7)");
    json_decref(b);
    arena_free(a);
}

static void test_response_header_cap(void **state)
{
    (void)state;
    http_response resp = {0};
    static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t i = 0; i < HTTP_MAX_RESPONSE_HEADERS; i++)
        assert_int_equal(http_response_add_header(&resp, names[i % 8], "v"), 0);
    assert_int_equal(resp.n_headers, HTTP_MAX_RESPONSE_HEADERS);
    assert_int_equal(http_response_add_header(&resp, "retry-after", "5"), -1);
    assert_int_equal(resp.n_headers, HTTP_MAX_RESPONSE_HEADERS);
    assert_string_equal(resp.headers[0].name, "a");
    assert_string_equal(resp.headers[HTTP_MAX_RESPONSE_HEADERS - 1].value, "v");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_get_any_case),  cmocka_unit_test(test_header_first_wins),
        cmocka_unit_test(test_status_text),          cmocka_unit_test(test_response_json),
        cmocka_unit_test(test_response_json_large),  cmocka_unit_test(test_response_json_null_body),
        cmocka_unit_test(test_response_error_shape), cmocka_unit_test(test_response_header_cap),
    };
    return cmocka_run_group_tests_name("http_request", tests, NULL, NULL);
}
