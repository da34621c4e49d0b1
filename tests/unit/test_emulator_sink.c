/* The emulator's notice sink (tests/emulator/sink.c): binary-mode CloudEvents checked as the
 * HTTP binding v1.0.2 says (header values unquoted and percent-decoded, required attributes,
 * RFC 3339 times, JSON bodies), stored in order and bounded, the fail_next knob, and the
 * listing's shape. Compiled in directly with the helper file util.c: the modules are part of
 * the emulator binary. */
#include "../emulator/sink.c"
#include "../emulator/util.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* ---- a request with headers --------------------------------------------------------------- */

typedef struct {
    emu_request req;
    const char *const *hdrs; /* name, value, ..., NULL */
} fake_request;

static void fake_each_header(const emu_request *r, emu_header_fn fn, void *ctx)
{
    const fake_request *f = (const fake_request *)r;
    for (const char *const *h = f->hdrs; *h; h += 2)
        fn(ctx, h[0], h[1]);
}

/* METHOD PATH with headers HDRS and BODY; returns the status, the answer's body in *OUT (or
 * NULL: free it). */
static int call(const char *method, const char *path, const char *const *hdrs, const char *body,
                char **out)
{
    static const char *const none[] = {NULL};
    fake_request f = {.req = {.method = method,
                              .path = path,
                              .body = body,
                              .body_len = strlen(body),
                              .each_header = fake_each_header},
                      .hdrs = hdrs ? hdrs : none};
    emu_response resp = {.status = 500};
    if (!sink_handle(&f.req, &resp))
        resp.status = 404;
    if (out)
        *out = resp.body;
    else
        free(resp.body);
    return resp.status;
}

static int deliver(const char *const *hdrs, const char *body)
{
    return call("POST", "/emulator/sink", hdrs, body, NULL);
}

/* The 400's message for a delivery; asserts the status. Static storage, one at a time. */
static const char *refusal(const char *const *hdrs, const char *body)
{
    static char msg[1024];
    char *out = NULL;
    assert_int_equal(call("POST", "/emulator/sink", hdrs, body, &out), 400);
    json_t *j = json_loads(out, 0, NULL);
    snprintf(msg, sizeof msg, "%s",
             json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    json_decref(j);
    free(out);
    return msg;
}

static json_t *listing(void)
{
    char *out = NULL;
    assert_int_equal(call("GET", "/emulator/sink", NULL, "", &out), 200);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

#define CE_BASE                                                                                    \
    "ce-specversion", "1.0", "ce-id", "run-1", "ce-source", "//retrain/test", "ce-type",           \
        "dev.retrain.run.finished"

static int teardown(void **state)
{
    (void)state;
    sink_reset();
    return 0;
}

/* ---- values ------------------------------------------------------------------------------- */

static char *decoded(const char *raw)
{
    static char out[256], why[SINK_WHY];
    json_t *v = value_decode("ce-x", raw, why);
    snprintf(out, sizeof out, "%s", v ? json_string_value(v) : "(refused)");
    json_decref(v);
    return out;
}

static void test_header_values_decoded_as_the_binding_says(void **state)
{
    (void)state;
    assert_string_equal(decoded("runs/abc"), "runs/abc");
    assert_string_equal(decoded("Euro%20%E2%82%AC%20%F0%9F%98%80"), "Euro \u20ac \U0001F600");
    assert_string_equal(decoded("lower%e2%82%ac"), "lower\u20ac"); /* lower-case hex accepted */
    assert_string_equal(decoded("%41%42"), "AB");   /* needlessly encoded: accepted */
    assert_string_equal(decoded("  1.0\t"), "1.0"); /* OWS is not the value */
    assert_string_equal(decoded("\"quoted \\\" value\""), "quoted \" value");
    assert_string_equal(decoded("\"a%20b\""), "a b");         /* unquoted, then percent-decoded */
    assert_string_equal(decoded("a b"), "(refused)");         /* space must be encoded */
    assert_string_equal(decoded("caf\xc3\xa9"), "(refused)"); /* so must non-ASCII */
    assert_string_equal(decoded("a\"b"), "(refused)");
    assert_string_equal(decoded("100%"), "(refused)");
    assert_string_equal(decoded("%4"), "(refused)");
    assert_string_equal(decoded("%zz"), "(refused)");
    assert_string_equal(decoded("%C0%A0"), "(refused)");    /* overlong: not UTF-8 */
    assert_string_equal(decoded("%ED%A0%80"), "(refused)"); /* a surrogate */
    assert_string_equal(decoded("%FF"), "(refused)");
    assert_string_equal(decoded("a%00b"), "(refused)"); /* control characters */
    assert_string_equal(decoded("a%0Ab"), "(refused)");
    assert_string_equal(decoded("a%C2%85b"), "(refused)"); /* U+0085 */
    assert_string_equal(decoded("\"open"), "(refused)");
    assert_string_equal(decoded("\"a\"b"), "(refused)");
}

static void test_times_are_rfc3339(void **state)
{
    (void)state;
    assert_true(rfc3339_ok("2026-01-02T03:04:05Z"));
    assert_true(rfc3339_ok("2026-01-02T03:04:05.678Z"));
    assert_true(rfc3339_ok("2026-01-02t03:04:05.1z"));
    assert_true(rfc3339_ok("2026-01-02T03:04:05+05:30"));
    assert_true(rfc3339_ok("2026-12-31T23:59:60-00:00"));
    assert_false(rfc3339_ok("2026-01-02 03:04:05Z"));
    assert_false(rfc3339_ok("2026-01-02T03:04:05"));
    assert_false(rfc3339_ok("2026-13-02T03:04:05Z"));
    assert_false(rfc3339_ok("2026-01-02T24:00:00Z"));
    assert_false(rfc3339_ok("2026-01-02T03:04:05.Z"));
    assert_false(rfc3339_ok("2026-01-02T03:04:05+0530"));
    assert_false(rfc3339_ok("2026-01-02T03:04:05Zjunk"));
    assert_false(rfc3339_ok("1796411954"));
    assert_false(rfc3339_ok(""));
}

static void test_content_types(void **state)
{
    (void)state;
    assert_true(content_type_json("application/json"));
    assert_true(content_type_json("Application/JSON; charset=utf-8"));
    assert_true(content_type_json(" application/json ;charset=UTF-8"));
    assert_true(content_type_json("application/problem+json"));
    assert_false(content_type_json("application/jsonx"));
    assert_false(content_type_json("text/plain"));
    assert_false(content_type_json(NULL));
    assert_true(content_type_cloudevents("application/cloudevents+json; charset=UTF-8"));
    assert_true(content_type_cloudevents("application/cloudevents-batch+json"));
    assert_false(content_type_cloudevents("application/json"));
}

/* ---- deliveries --------------------------------------------------------------------------- */

static void test_a_valid_delivery_is_stored(void **state)
{
    (void)state;
    const char *const h[] = {CE_BASE,
                             "CE-Time",
                             "2026-01-02T03:04:05.678Z",
                             "ce-subject",
                             "runs%2Fabc",
                             "Content-Type",
                             "application/json",
                             "Authorization",
                             "Bearer not-kept",
                             NULL};
    assert_int_equal(call("POST", "/emulator/sink/hooks/a", h, "{\"run\":\"abc\"}", NULL), 204);
    json_t *l = listing();
    json_t *r = json_array_get(json_object_get(l, "received"), 0);
    json_t *hd = json_object_get(r, "headers");
    assert_string_equal(json_string_value(json_object_get(r, "path")), "/emulator/sink/hooks/a");
    assert_string_equal(json_string_value(json_object_get(hd, "ce-id")), "run-1");
    assert_string_equal(json_string_value(json_object_get(hd, "ce-time")),
                        "2026-01-02T03:04:05.678Z");
    assert_string_equal(json_string_value(json_object_get(hd, "ce-subject")), "runs/abc");
    assert_string_equal(json_string_value(json_object_get(hd, "content-type")), "application/json");
    assert_null(json_object_get(hd, "authorization"));
    assert_int_equal(json_object_size(hd), 7);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "data"), "run")),
                        "abc");
    assert_true(json_integer_value(json_object_get(r, "at_ms")) > 0);
    assert_int_equal(json_integer_value(json_object_get(l, "refused")), 0);
    json_decref(l);
}

static void test_bodies_that_are_not_json(void **state)
{
    (void)state;
    const char *const text[] = {CE_BASE, "Content-Type", "text/plain", NULL};
    assert_int_equal(deliver(text, "done"), 204);
    const char *const bare[] = {CE_BASE, NULL};
    assert_int_equal(deliver(bare, ""), 204); /* no data */
    json_t *l = listing();
    json_t *rcv = json_object_get(l, "received");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rcv, 0), "data")), "done");
    assert_null(json_object_get(json_array_get(rcv, 1), "data"));
    json_decref(l);
}

static void test_what_is_refused(void **state)
{
    (void)state;
    const char *const no_id[] = {
        "ce-specversion",   "1.0", "ce-source", "s", "ce-type", "t", "Content-Type",
        "application/json", NULL};
    assert_string_equal(refusal(no_id, "{}"),
                        "not a binary-mode CloudEvent: missing required header ce-id");
    const char *const json[] = {CE_BASE, "Content-Type", "application/json; charset=utf-8", NULL};
    assert_non_null(strstr(refusal(json, "not json"), "the body is not JSON"));
    assert_non_null(strstr(refusal(json, ""), "the body is empty"));
    assert_non_null(strstr(refusal(json, "{\"a\":1,\"a\":2}"), "the body is not JSON"));
    const char *const v03[] = {"ce-specversion", "0.3", "ce-id", "1", "ce-source", "s",
                               "ce-type",        "t",   NULL};
    assert_non_null(strstr(refusal(v03, ""), "ce-specversion is \"0.3\""));
    const char *const empty_type[] = {"ce-specversion", "1.0", "ce-id", "1", "ce-source", "s",
                                      "ce-type",        "",    NULL};
    assert_non_null(strstr(refusal(empty_type, ""), "empty required header ce-type"));
    const char *const twice[] = {CE_BASE, "CE-ID", "run-2", NULL};
    assert_non_null(strstr(refusal(twice, ""), "header ce-id is repeated"));
    const char *const dct[] = {CE_BASE, "ce-datacontenttype", "application/json", NULL};
    assert_non_null(strstr(refusal(dct, ""), "ce-datacontenttype must not be sent"));
    const char *const bad_name[] = {CE_BASE, "ce-run_id", "7", NULL};
    assert_non_null(strstr(refusal(bad_name, ""), "an attribute name"));
    const char *const bad_time[] = {CE_BASE, "ce-time", "yesterday", NULL};
    assert_non_null(strstr(refusal(bad_time, ""), "not an RFC 3339 timestamp"));
    const char *const empty_subject[] = {CE_BASE, "ce-subject", "", NULL};
    assert_non_null(strstr(refusal(empty_subject, ""), "empty header ce-subject"));
    const char *const raw_space[] = {CE_BASE, "ce-subject", "run abc", NULL};
    assert_non_null(strstr(refusal(raw_space, ""), "must be percent-encoded"));
    const char *const structured[] = {CE_BASE, "Content-Type", "application/cloudevents+json",
                                      NULL};
    assert_non_null(strstr(refusal(structured, "{}"), "structured or batched mode"));
    json_t *l = listing();
    assert_int_equal(json_array_size(json_object_get(l, "received")), 0);
    assert_int_equal(json_integer_value(json_object_get(l, "refused")), 13);
    json_decref(l);
}

static int configure(const char *body)
{
    return call("POST", "/emulator/sink/config", NULL, body, NULL);
}

static void test_fail_next_fails_then_stores(void **state)
{
    (void)state;
    const char *const h[] = {CE_BASE, NULL};
    assert_int_equal(configure("{\"fail_next\":2}"), 200);
    assert_int_equal(deliver(h, ""), 503);
    assert_int_equal(deliver(NULL, "not even an event"), 503); /* not looked at */
    assert_int_equal(deliver(h, ""), 204);
    assert_int_equal(configure("{\"fail_next\":1,\"status\":429}"), 200);
    assert_int_equal(deliver(h, ""), 429);
    assert_int_equal(configure("{\"fail_next\":3}"), 200);
    assert_int_equal(configure("{\"fail_next\":0}"), 200);
    assert_int_equal(deliver(h, ""), 204);
    json_t *l = listing();
    assert_int_equal(json_array_size(json_object_get(l, "received")), 2);
    assert_int_equal(json_integer_value(json_object_get(l, "failed")), 3);
    assert_int_equal(json_integer_value(json_object_get(l, "refused")), 0);
    json_decref(l);
    assert_int_equal(configure("{\"fail_next\":-1}"), 400);
    assert_int_equal(configure("{\"fail_next\":1,\"status\":200}"), 400);
    assert_int_equal(configure("{\"fail_next\":\"1\"}"), 400);
    assert_int_equal(configure("{\"fail_nxt\":1}"), 400);
    assert_int_equal(configure("[]"), 400);
    assert_int_equal(deliver(h, ""), 204); /* the bad settings changed nothing */
}

static void test_kept_in_order_and_bounded(void **state)
{
    (void)state;
    char id[16];
    const char *h[] = {"ce-specversion", "1.0", "ce-id", id, "ce-source", "s",
                       "ce-type",        "t",   NULL};
    for (int i = 0; i < SINK_KEEP + 5; i++) {
        snprintf(id, sizeof id, "e-%d", i);
        assert_int_equal(deliver(h, ""), 204);
    }
    json_t *l = listing();
    json_t *rcv = json_object_get(l, "received");
    assert_int_equal(json_array_size(rcv), SINK_KEEP);
    const char *first = json_string_value(
        json_object_get(json_object_get(json_array_get(rcv, 0), "headers"), "ce-id"));
    const char *last = json_string_value(
        json_object_get(json_object_get(json_array_get(rcv, SINK_KEEP - 1), "headers"), "ce-id"));
    assert_string_equal(first, "e-5");
    assert_string_equal(last, "e-10004");
    json_decref(l);
}

static void test_delete_clears_and_routes_are_named(void **state)
{
    (void)state;
    const char *const h[] = {CE_BASE, NULL};
    assert_int_equal(deliver(h, ""), 204);
    assert_int_equal(deliver(NULL, ""), 400);
    assert_int_equal(configure("{\"fail_next\":5}"), 200);
    char *out = NULL;
    assert_int_equal(call("DELETE", "/emulator/sink", NULL, "", &out), 200);
    assert_string_equal(out, "{\"cleared\":1}");
    free(out);
    assert_int_equal(deliver(h, ""), 204); /* no longer failing */
    json_t *l = listing();
    assert_int_equal(json_array_size(json_object_get(l, "received")), 1);
    assert_int_equal(json_integer_value(json_object_get(l, "refused")), 0);
    assert_int_equal(json_integer_value(json_object_get(l, "failed")), 0);
    json_decref(l);

    static const struct {
        const char *method, *path, *route;
    } routes[] = {
        {"POST", "/emulator/sink", "emulator.sink"},
        {"POST", "/emulator/sink/x/y", "emulator.sink"},
        {"POST", "/emulator/sink/config", "emulator.sink_config"},
        {"GET", "/emulator/sink", "emulator.sink_list"},
        {"DELETE", "/emulator/sink", "emulator.sink_clear"},
        {"GET", "/emulator/sink/x", NULL},
        {"DELETE", "/emulator/sink/x", NULL},
        {"PUT", "/emulator/sink", NULL},
        {"POST", "/emulator/sinks", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        emu_request req = {
            .method = routes[i].method, .path = routes[i].path, .body = "{}", .body_len = 2};
        emu_response resp = {.status = 500};
        bool handled = sink_handle(&req, &resp);
        free(resp.body);
        assert_int_equal(handled, routes[i].route != NULL);
        if (routes[i].route)
            assert_string_equal(resp.route, routes[i].route);
    }
}

static void test_stats(void **state)
{
    (void)state;
    const char *const h[] = {CE_BASE, NULL};
    assert_int_equal(deliver(h, ""), 204);
    assert_int_equal(deliver(NULL, ""), 400);
    json_t *out = json_object();
    sink_stats(out);
    char *text = json_dumps(json_object_get(out, "sink"), JSON_COMPACT);
    assert_string_equal(text,
                        "{\"stored\":1,\"accepted\":1,\"refused\":1,\"failed\":0,\"fail_next\":0}");
    free(text);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_values_decoded_as_the_binding_says),
        cmocka_unit_test(test_times_are_rfc3339),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test_teardown(test_a_valid_delivery_is_stored, teardown),
        cmocka_unit_test_teardown(test_bodies_that_are_not_json, teardown),
        cmocka_unit_test_teardown(test_what_is_refused, teardown),
        cmocka_unit_test_teardown(test_fail_next_fails_then_stores, teardown),
        cmocka_unit_test_teardown(test_kept_in_order_and_bounded, teardown),
        cmocka_unit_test_teardown(test_delete_clears_and_routes_are_named, teardown),
        cmocka_unit_test_teardown(test_stats, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
