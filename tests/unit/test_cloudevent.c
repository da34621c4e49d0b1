/* Unit tests for cloudevent: both content modes, every malformed input with its own status, the
 * JSON form's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloudevent.h"
#include "http_request.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STRUCTURED "application/cloudevents+json; charset=utf-8"

typedef struct {
    arena *a;
    cloudevent ev;
    char err[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->a = arena_new(1024);
    *state = f;
    return f->a ? 0 : -1;
}

static int teardown(void **state)
{
    fx *f = *state;
    arena_free(f->a);
    free(f);
    return 0;
}

static ce_status parse(fx *f, const http_header *h, size_t n, const char *body)
{
    http_request req = {.method = "POST",
                        .path = "/",
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = n,
                        .body = (const unsigned char *)body,
                        .body_len = body ? strlen(body) : 0};
    return ce_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err);
}

static ce_status parse_structured(fx *f, const char *body)
{
    http_header h[] = {{"content-type", STRUCTURED}};
    return parse(f, h, 1, body);
}

/* A binary-mode header set with one attribute replaced (or dropped when VALUE is NULL). */
static size_t storage_headers(http_header *h, const char *name, const char *value)
{
    static const http_header base[] = {
        {"ce-id", "8120613549638584"},
        {"ce-source", "//storage.googleapis.com/projects/_/buckets/models-in"},
        {"ce-specversion", "1.0"},
        {"ce-type", "google.cloud.storage.object.v1.finalized"},
        {"ce-subject", "objects/data/train.csv"},
        {"ce-time", "2026-11-26T07:00:00.123456Z"},
        {"ce-bucket", "models-in"},
        {"content-type", "application/json"},
    };
    size_t n = 0;
    bool replaced = false;
    for (size_t i = 0; i < LEN(base); i++) {
        if (name && strcmp(base[i].name, name) == 0) {
            replaced = true;
            if (!value)
                continue;
            h[n].name = name;
            h[n++].value = value;
        } else {
            h[n++] = base[i];
        }
    }
    if (name && value && !replaced) {
        h[n].name = name;
        h[n++].value = value;
    }
    return n;
}

static ce_status parse_storage(fx *f, const char *name, const char *value, const char *body)
{
    http_header h[16];
    size_t n = storage_headers(h, name, value);
    return parse(f, h, n, body);
}

/* The structured storage event with member NAME replaced by the JSON text VALUE (dropped when
 * VALUE is NULL). */
static ce_status parse_structured_with(fx *f, const char *name, const char *value)
{
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "specversion", "1.0", "id",
                            "8120613549638584", "source",
                            "//storage.googleapis.com/projects/_/buckets/models-in", "type",
                            "google.cloud.storage.object.v1.finalized", "bucket", "models-in",
                            "data", "name", "data/train.csv");
    assert_non_null(obj);
    if (name && value)
        assert_int_equal(json_object_set_new(obj, name, json_loads(value, JSON_DECODE_ANY, NULL)),
                         0);
    else if (name)
        json_object_del(obj, name);
    char *body = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    ce_status s = parse_structured(f, body);
    free(body);
    return s;
}

static void assert_err_has(const fx *f, const char *needle)
{
    if (!strstr(f->err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", f->err, needle);
}

static void test_binary_storage_event(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, NULL, NULL, "{\"name\":\"data/train.csv\"}"), CE_OK);
    assert_string_equal(f->ev.id, "8120613549638584");
    assert_string_equal(f->ev.source, "//storage.googleapis.com/projects/_/buckets/models-in");
    assert_string_equal(f->ev.specversion, "1.0");
    assert_string_equal(f->ev.type, "google.cloud.storage.object.v1.finalized");
    assert_string_equal(f->ev.subject, "objects/data/train.csv");
    assert_string_equal(f->ev.time, "2026-11-26T07:00:00.123456Z");
    assert_string_equal(f->ev.datacontenttype, "application/json");
    assert_null(f->ev.dataschema);
    assert_int_equal(f->ev.n_extensions, 1);
    assert_string_equal(ce_extension(&f->ev, "bucket"), "models-in");
    assert_null(ce_extension(&f->ev, "id"));
    assert_int_equal(f->ev.data_len, strlen("{\"name\":\"data/train.csv\"}"));
    assert_memory_equal(f->ev.data, "{\"name\":\"data/train.csv\"}", f->ev.data_len);
    assert_false(f->ev.structured);
}

static void test_binary_header_names_any_case(void **state)
{
    fx *f = *state;
    http_header h[] = {{"CE-ID", "1"},   {"Ce-Source", "s"}, {"ce-SPECVERSION", "1.0"},
                       {"ce-type", "t"}, {"CE-Bucket", "b"}, {"Content-Type", "text/plain"}};
    assert_int_equal(parse(f, h, LEN(h), NULL), CE_OK);
    assert_string_equal(f->ev.id, "1");
    assert_string_equal(ce_extension(&f->ev, "bucket"), "b");
    assert_string_equal(f->ev.datacontenttype, "text/plain");
    assert_null(f->ev.data);
    assert_int_equal(f->ev.data_len, 0);
}

static void test_binary_empty_content_type_is_absent(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, "content-type", "", "x"), CE_OK);
    assert_null(f->ev.datacontenttype);
    assert_int_equal(f->ev.data_len, 1);
}

static void test_binary_missing_each_required(void **state)
{
    fx *f = *state;
    const char *names[] = {"id", "source", "specversion", "type"};
    for (size_t i = 0; i < LEN(names); i++) {
        char header[32], quoted[32];
        snprintf(header, sizeof header, "ce-%s", names[i]);
        snprintf(quoted, sizeof quoted, "\"%s\"", names[i]);
        assert_int_equal(parse_storage(f, header, NULL, NULL), CE_ERR_MISSING);
        assert_err_has(f, quoted);
        assert_err_has(f, "missing");
        assert_null(f->ev.id);
    }
}

static void test_structured_missing_each_required(void **state)
{
    fx *f = *state;
    const char *names[] = {"id", "source", "specversion", "type"};
    for (size_t i = 0; i < LEN(names); i++) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "\"%s\"", names[i]);
        assert_int_equal(parse_structured_with(f, names[i], NULL), CE_ERR_MISSING);
        assert_err_has(f, quoted);
    }
}

static void test_no_mode_at_all(void **state)
{
    fx *f = *state;
    http_header h[] = {{"content-type", "application/json"}, {"ce-id", "1"}};
    assert_int_equal(parse(f, h, LEN(h), "{}"), CE_ERR_MISSING);
    assert_err_has(f, "\"specversion\"");
    assert_int_equal(ce_status_http(CE_ERR_MISSING), 400);
    assert_string_equal(ce_status_code(CE_ERR_MISSING), "missing_attribute");
}

static void test_empty_required_attribute(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, "ce-source", "", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"source\" must not be empty");
    assert_int_equal(parse_structured_with(f, "type", "\"\""), CE_ERR_INVALID);
    assert_err_has(f, "\"type\"");
}

static void test_bad_specversion(void **state)
{
    fx *f = *state;
    const char *bad[] = {"0.3", "2.0", "1.0 ", "1"};
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_equal(parse_storage(f, "ce-specversion", bad[i], NULL), CE_ERR_SPECVERSION);
        char quoted[16];
        snprintf(quoted, sizeof quoted, "\"%s\"", bad[i]);
        assert_err_has(f, quoted);
        char json[16];
        snprintf(json, sizeof json, "\"%s\"", bad[i]);
        assert_int_equal(parse_structured_with(f, "specversion", json), CE_ERR_SPECVERSION);
        assert_err_has(f, quoted);
    }
    assert_int_equal(parse_storage(f, "ce-specversion", "", NULL), CE_ERR_SPECVERSION);
    assert_err_has(f, "\"\"");
    assert_int_equal(parse_structured_with(f, "specversion", "\"\""), CE_ERR_SPECVERSION);
    assert_int_equal(parse_structured_with(f, "specversion", "1.0"), CE_ERR_INVALID);
    assert_err_has(f, "\"specversion\" must be a string");
    assert_int_equal(ce_status_http(CE_ERR_SPECVERSION), 400);
    assert_string_equal(ce_status_code(CE_ERR_SPECVERSION), "unsupported_specversion");
}

/* A long hostile value is echoed as at most 64 bytes, by the printable policy: quotes and
 * backslashes escaped, valid UTF-8 kept, bidirectional controls shown as escapes. */
static void test_error_echo_is_bounded(void **state)
{
    fx *f = *state;
    char v[1001];
    memset(v, 'x', 1000);
    v[1000] = '\0';
    assert_int_equal(parse_storage(f, "ce-specversion", v, NULL), CE_ERR_SPECVERSION);
    char run[66];
    memset(run, 'x', 65);
    run[65] = '\0';
    assert_null(strstr(f->err, run));
    assert_non_null(strstr(f->err, run + 1));
    assert_int_equal(parse_storage(f, "ce-specversion", "2.0\"\\\xc3\xa9\xe2\x80\xae", NULL),
                     CE_ERR_SPECVERSION);
    assert_err_has(f, "\"2.0\\\"\\\\\xc3\xa9\\u{202E}\"");
}

static void test_percent_decoding(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, "ce-subject", "objects/my%20file.csv", NULL), CE_OK);
    assert_string_equal(f->ev.subject, "objects/my file.csv");
    assert_int_equal(parse_storage(f, "ce-subject", "caf%C3%A9", NULL), CE_OK);
    assert_string_equal(f->ev.subject, "caf\xc3\xa9");
    assert_int_equal(parse_storage(f, "ce-subject", "caf%c3%a9+%25", NULL), CE_OK);
    assert_string_equal(f->ev.subject, "caf\xc3\xa9+%");
    assert_int_equal(parse_storage(f, "ce-bucket", "b%2Dc", NULL), CE_OK);
    assert_string_equal(ce_extension(&f->ev, "bucket"), "b-c");

    const char *bad[] = {"%zz", "abc%4", "abc%", "%4g", "%%41"};
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_equal(parse_storage(f, "ce-subject", bad[i], NULL), CE_ERR_INVALID);
        assert_err_has(f, "\"subject\" has a bad percent-encoding");
    }
    assert_int_equal(parse_storage(f, "ce-subject", "a%00b", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"subject\" contains the control character U+0000");
    assert_int_equal(parse_storage(f, "ce-id", "%FF", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"id\" is not valid UTF-8");
    assert_int_equal(parse_storage(f, "ce-id", "%C3", NULL), CE_ERR_INVALID);
    assert_int_equal(parse_storage(f, "ce-id", "%ED%A0%80", NULL), CE_ERR_INVALID);
}

static void test_raw_invalid_utf8_header(void **state)
{
    fx *f = *state;
    const char *bad[] = {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_equal(parse_storage(f, "ce-bucket", bad[i], NULL), CE_ERR_INVALID);
        assert_err_has(f, "\"bucket\" is not valid UTF-8");
    }
    assert_int_equal(parse_storage(f, "ce-bucket", "\xf0\x9f\x98\x80", NULL), CE_OK);
    assert_int_equal(parse_storage(f, "content-type", "text/\xff", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"datacontenttype\"");
}

static void test_structured_invalid_utf8(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured(f,
                                      "{\"specversion\":\"1.0\",\"id\":\"\xff\",\"source\":\"s\","
                                      "\"type\":\"t\"}"),
                     CE_ERR_INVALID);
    assert_err_has(f, "not a valid JSON object");
    assert_int_equal(parse_structured(f, "{\"specversion\":\"1.0\",\"id\":\"a\\u0000b\","
                                         "\"source\":\"s\",\"type\":\"t\"}"),
                     CE_ERR_INVALID);
}

static void test_oversized_header_value(void **state)
{
    fx *f = *state;
    char *v = malloc(4098);
    assert_non_null(v);
    memset(v, 'a', 4097);
    v[4097] = '\0';
    assert_int_equal(parse_storage(f, "ce-subject", v, NULL), CE_ERR_INVALID);
    assert_err_has(f, "attribute \"subject\" is longer than 4096 bytes");
    v[4096] = '\0';
    assert_int_equal(parse_storage(f, "ce-subject", v, NULL), CE_OK);
    assert_int_equal(strlen(f->ev.subject), 4096);
    v[4096] = 'a';
    char *json = malloc(4200);
    assert_non_null(json);
    snprintf(json, 4200, "\"%s\"", v);
    assert_int_equal(parse_structured_with(f, "subject", json), CE_ERR_INVALID);
    assert_err_has(f, "attribute \"subject\" is longer than 4096 bytes");
    free(json);
    free(v);
}

static void test_bad_attribute_names(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, "ce-Bad_Name", "x", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"ce-Bad_Name\"");
    assert_int_equal(parse_storage(f, "ce-", "x", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"ce-\"");
    /* Names over 20 characters are only discouraged (core spec §3.1.1); ours stop at 128. */
    char name[3 + 130];
    memcpy(name, "ce-", 3);
    memset(name + 3, 'a', 129);
    name[3 + 129] = '\0';
    assert_int_equal(parse_storage(f, name, "x", NULL), CE_ERR_INVALID);
    assert_err_has(f, "1-128 characters");
    name[3 + 128] = '\0';
    assert_int_equal(parse_storage(f, name, "x", NULL), CE_OK);
    assert_string_equal(ce_extension(&f->ev, name + 3), "x");
    assert_int_equal(parse_storage(f, "ce-x.y", "x", NULL), CE_ERR_INVALID);
    assert_int_equal(parse_structured_with(f, "Bad_Name", "\"x\""), CE_ERR_INVALID);
    assert_err_has(f, "\"Bad_Name\"");
    assert_int_equal(parse_structured_with(f, "", "\"x\""), CE_ERR_INVALID);
}

static void test_binary_reserved_and_duplicate(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, "ce-data", "x", NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"ce-data\"");
    assert_int_equal(parse_storage(f, "ce-datacontenttype", "text/plain", NULL), CE_ERR_INVALID);
    assert_err_has(f, "Content-Type");
    http_header h[] = {{"ce-id", "1"},
                       {"ce-source", "s"},
                       {"ce-specversion", "1.0"},
                       {"ce-type", "t"},
                       {"CE-ID", "2"}};
    assert_int_equal(parse(f, h, LEN(h), NULL), CE_ERR_INVALID);
    assert_err_has(f, "\"id\" appears more than once");
}

static void test_batch_refused(void **state)
{
    fx *f = *state;
    http_header h[] = {{"content-type", "application/cloudevents-batch+json"}};
    assert_int_equal(parse(f, h, 1, "[]"), CE_ERR_BATCH);
    assert_err_has(f, "one event per request");
    assert_int_equal(ce_status_http(CE_ERR_BATCH), 415);
    assert_string_equal(ce_status_code(CE_ERR_BATCH), "batch_not_supported");
}

static void test_other_structured_formats_refused(void **state)
{
    fx *f = *state;
    const char *types[] = {"application/cloudevents+xml", "application/CloudEvents+protobuf",
                           "application/cloudevents"};
    for (size_t i = 0; i < LEN(types); i++) {
        http_header h[] = {{"content-type", types[i]}, {"ce-specversion", "1.0"}};
        assert_int_equal(parse(f, h, LEN(h), "<event/>"), CE_ERR_CONTENT_TYPE);
        assert_err_has(f, "unsupported structured format");
    }
    assert_int_equal(ce_status_http(CE_ERR_CONTENT_TYPE), 415);
    assert_string_equal(ce_status_code(CE_ERR_CONTENT_TYPE), "unsupported_content_type");
}

static void test_structured_event(void **state)
{
    fx *f = *state;
    http_header h[] = {{"content-type", " Application/CloudEvents+JSON ; charset=UTF-8"},
                       {"ce-id", "ignored-in-structured-mode"}};
    assert_int_equal(
        parse(f, h, LEN(h),
              "{\"specversion\":\"1.0\",\"id\":\"42\",\"source\":\"//s\",\"type\":\"t\","
              "\"datacontenttype\":\"application/json\",\"dataschema\":\"https://x/s\","
              "\"bucket\":\"b\",\"data\": {\"a\": 1, \"b\": [1, 2.5, \"\\u00e9\"]}}"),
        CE_OK);
    assert_true(f->ev.structured);
    assert_string_equal(f->ev.id, "42");
    assert_string_equal(f->ev.dataschema, "https://x/s");
    assert_string_equal(f->ev.datacontenttype, "application/json");
    assert_string_equal(ce_extension(&f->ev, "bucket"), "b");
    const char *want = "{\"a\":1,\"b\":[1,2.5,\"\xc3\xa9\"]}";
    assert_int_equal(f->ev.data_len, strlen(want));
    assert_memory_equal(f->ev.data, want, strlen(want));
}

static void test_structured_string_data(void **state)
{
    fx *f = *state;
    const char *base = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",";
    char body[256];
    snprintf(body, sizeof body, "%s\"datacontenttype\":\"text/plain\",\"data\":\"hi there\"}",
             base);
    assert_int_equal(parse_structured(f, body), CE_OK);
    assert_int_equal(f->ev.data_len, 8);
    assert_memory_equal(f->ev.data, "hi there", 8);
    snprintf(body, sizeof body, "%s\"data\":\"hi\"}", base); /* no datacontenttype: JSON */
    assert_int_equal(parse_structured(f, body), CE_OK);
    assert_int_equal(f->ev.data_len, 4);
    assert_memory_equal(f->ev.data, "\"hi\"", 4);
    snprintf(body, sizeof body, "%s\"bucket\":\"b\"}", base); /* no data at all */
    assert_int_equal(parse_structured(f, body), CE_OK);
    assert_null(f->ev.data);
}

static void test_structured_data_base64(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured_with(f, "data", NULL), CE_OK);
    assert_null(f->ev.data);
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", "1",
                            "source", "s", "type", "t", "datacontenttype",
                            "application/octet-stream", "data_base64", "AP9oZWxsbw==");
    char *body = json_dumps(obj, 0);
    assert_int_equal(parse_structured(f, body), CE_OK);
    assert_int_equal(f->ev.data_len, 7);
    assert_memory_equal(f->ev.data, "\x00\xffhello", 7);
    free(body);
    json_decref(obj);
}

static void test_structured_data_base64_invalid(void **state)
{
    fx *f = *state;
    const char *bad[] = {
        "\"aGVsbG8\"",  "\"a!==\"", "\"aGVsbG9=\"", "\"aGVs bG8=\"", "\"aGVsbG8=\\n\"",
        "\"aGVsbG8_\"", "42"};
    for (size_t i = 0; i < LEN(bad); i++) {
        char json[512];
        json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", "1", "source",
                                "s", "type", "t");
        char *head = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
        head[strlen(head) - 1] = '\0';
        snprintf(json, sizeof json, "%s,\"data_base64\":%s}", head, bad[i]);
        free(head);
        assert_int_equal(parse_structured(f, json), CE_ERR_INVALID);
        assert_err_has(f, "\"data_base64\"");
    }
}

static void test_structured_data_and_base64(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured_with(f, "data_base64", "\"aGk=\""), CE_ERR_INVALID);
    assert_err_has(f, "not both");
}

static void test_structured_body_malformed(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured(f, "[1,2]"), CE_ERR_INVALID);
    assert_err_has(f, "JSON object");
    assert_int_equal(parse_structured(f, "{\"id\":"), CE_ERR_INVALID);
    assert_err_has(f, "not a valid JSON object");
    assert_int_equal(parse_structured(f, ""), CE_ERR_INVALID);
    assert_int_equal(parse_structured(f, "\"1.0\""), CE_ERR_INVALID);
    assert_int_equal(parse_structured(f, "{\"specversion\":\"1.0\",\"id\":\"1\",\"id\":\"2\","
                                         "\"source\":\"s\",\"type\":\"t\"}"),
                     CE_ERR_INVALID);
    assert_err_has(f, "attribute \"id\" appears more than once");
    assert_int_equal(parse_structured(f, "{\"specversion\":\"1.0\"} trailing"), CE_ERR_INVALID);
}

static void test_structured_attribute_types(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured_with(f, "id", "5"), CE_ERR_INVALID);
    assert_err_has(f, "\"id\" must be a string");
    assert_int_equal(parse_structured_with(f, "source", "true"), CE_ERR_INVALID);
    assert_err_has(f, "\"source\"");
    assert_int_equal(parse_structured_with(f, "subject", "[\"a\"]"), CE_ERR_INVALID);
    assert_err_has(f, "\"subject\" must be a string");
    assert_int_equal(parse_structured_with(f, "priority", "-7"), CE_OK);
    assert_string_equal(ce_extension(&f->ev, "priority"), "-7");
    assert_int_equal(parse_structured_with(f, "big", "2147483647"), CE_OK);
    assert_string_equal(ce_extension(&f->ev, "big"), "2147483647");
    assert_int_equal(parse_structured_with(f, "big", "-2147483648"), CE_OK);
    assert_int_equal(parse_structured_with(f, "big", "2147483648"), CE_ERR_INVALID);
    assert_err_has(f, "\"big\" is outside the CloudEvents Integer range");
    assert_int_equal(parse_structured_with(f, "retry", "false"), CE_OK);
    assert_string_equal(ce_extension(&f->ev, "retry"), "false");
    const char *bad[] = {"{}", "[]", "1.5"};
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_equal(parse_structured_with(f, "ext", bad[i]), CE_ERR_INVALID);
        assert_err_has(f, "\"ext\" must be a string, an integer or a boolean");
    }
}

/* JSON format §2.2: a member whose value is null is treated as omitted. */
static void test_structured_null_is_omitted(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_structured_with(f, "time", "null"), CE_OK);
    assert_null(f->ev.time);
    assert_int_equal(parse_structured_with(f, "bucket", "null"), CE_OK);
    assert_null(ce_extension(&f->ev, "bucket"));
    assert_int_equal(f->ev.n_extensions, 0);
    assert_int_equal(parse_structured_with(f, "id", "null"), CE_ERR_MISSING);
    assert_err_has(f, "\"id\"");
    assert_int_equal(parse_structured_with(f, "specversion", "null"), CE_ERR_MISSING);
    assert_err_has(f, "\"specversion\"");
    assert_int_equal(parse_structured_with(f, "data", "null"),
                     CE_OK); /* an explicit null payload */
    assert_int_equal(f->ev.data_len, 4);
    assert_memory_equal(f->ev.data, "null", 4);
}

static void test_time_attribute(void **state)
{
    fx *f = *state;
    const char *good[] = {"2026-11-26T07:00:00Z", "2026-11-26t07:00:00.5+01:00",
                          "2024-02-29T23:59:60-12:30", "2026-11-26T07:00:00.123456789z"};
    for (size_t i = 0; i < LEN(good); i++)
        assert_int_equal(parse_storage(f, "ce-time", good[i], NULL), CE_OK);
    const char *bad[] = {"yesterday",
                         "2026-11-26 07:00:00Z",
                         "2026-11-26T07:00:00",
                         "2026-02-29T07:00:00Z",
                         "2026-04-31T07:00:00Z",
                         "2026-13-01T07:00:00Z",
                         "2026-11-26T24:00:00Z",
                         "2026-11-26T07:00:00.Z",
                         "2026-11-26T07:00:00+0100",
                         "2026-11-26T07:00:00Zjunk"};
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_equal(parse_storage(f, "ce-time", bad[i], NULL), CE_ERR_INVALID);
        assert_err_has(f, "\"time\" is not an RFC 3339 timestamp");
    }
}

static void assert_same_event(const cloudevent *x, const cloudevent *y)
{
    const char *a[] = {x->id,         x->source,  x->specversion, x->type, x->datacontenttype,
                       x->dataschema, x->subject, x->time};
    const char *b[] = {y->id,         y->source,  y->specversion, y->type, y->datacontenttype,
                       y->dataschema, y->subject, y->time};
    for (size_t i = 0; i < LEN(a); i++) {
        if (!a[i] || !b[i])
            assert_ptr_equal(a[i], b[i]);
        else
            assert_string_equal(a[i], b[i]);
    }
    assert_int_equal(x->n_extensions, y->n_extensions);
    for (size_t i = 0; i < x->n_extensions; i++)
        assert_string_equal(ce_extension(y, x->extensions[i].name), x->extensions[i].value);
    assert_int_equal(x->data_len, y->data_len);
    assert_int_equal(x->data == NULL, y->data == NULL);
    if (x->data_len)
        assert_memory_equal(x->data, y->data, x->data_len);
}

/* to_json, then from_json, must give back the same event; returns the JSON for inspection. */
static json_t *round_trip(fx *f)
{
    json_t *j = ce_to_json(&f->ev);
    assert_non_null(j);
    cloudevent back;
    char err[256];
    assert_int_equal(ce_from_json(j, f->a, &back, err, sizeof err), CE_OK);
    assert_same_event(&f->ev, &back);
    return j;
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    assert_int_equal(parse_storage(f, NULL, NULL, "{\"name\":\"data/train.csv\",\"size\":12}"),
                     CE_OK);
    json_t *j = round_trip(f);
    assert_true(json_is_object(json_object_get(j, "data")));
    assert_string_equal(json_string_value(json_object_get(j, "bucket")), "models-in");
    json_decref(j);

    /* JSON that is not in compact form travels as base64 so its bytes survive. */
    assert_int_equal(parse_storage(f, NULL, NULL, "{ \"name\" : 1 }"), CE_OK);
    j = round_trip(f);
    assert_null(json_object_get(j, "data"));
    assert_string_equal(json_string_value(json_object_get(j, "data_base64")),
                        "eyAibmFtZSIgOiAxIH0=");
    json_decref(j);

    assert_int_equal(parse_storage(f, "content-type", "text/plain", "caf\xc3\xa9"), CE_OK);
    j = round_trip(f);
    assert_string_equal(json_string_value(json_object_get(j, "data")), "caf\xc3\xa9");
    json_decref(j);

    assert_int_equal(parse_storage(f, "content-type", "application/octet-stream", "\xff\x01"),
                     CE_OK);
    j = round_trip(f);
    assert_string_equal(json_string_value(json_object_get(j, "data_base64")), "/wE=");
    json_decref(j);

    assert_int_equal(parse_storage(f, "content-type", NULL, NULL), CE_OK);
    j = round_trip(f);
    assert_null(json_object_get(j, "datacontenttype"));
    json_decref(j);

    assert_int_equal(parse_structured_with(f, "priority", "3"), CE_OK);
    json_decref(round_trip(f));
}

static void test_from_json_rejects(void **state)
{
    fx *f = *state;
    json_t *arr = json_array();
    assert_int_equal(ce_from_json(arr, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    json_decref(arr);
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "specversion", "1.0", "id", "1", "source", "s",
                            "type", "t");
    assert_int_equal(json_object_set_new(obj, "subject", json_stringn("a\0b", 3)), 0);
    assert_int_equal(ce_from_json(obj, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    assert_err_has(f, "\"subject\"");
    assert_int_equal(ce_from_json(obj, f->a, &f->ev, NULL, 0), CE_ERR_INVALID);
    json_decref(obj);
}

static void test_status_table(void **state)
{
    (void)state;
    assert_string_equal(ce_status_code(CE_OK), "ok");
    assert_int_equal(ce_status_http(CE_OK), 200);
    assert_string_equal(ce_status_code(CE_ERR_INVALID), "invalid_event");
    assert_int_equal(ce_status_http(CE_ERR_INVALID), 400);
    assert_string_equal(ce_status_code(CE_ERR_NOMEM), "internal");
    assert_int_equal(ce_status_http(CE_ERR_NOMEM), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_binary_storage_event),
        T(test_binary_header_names_any_case),
        T(test_binary_empty_content_type_is_absent),
        T(test_binary_missing_each_required),
        T(test_structured_missing_each_required),
        T(test_no_mode_at_all),
        T(test_empty_required_attribute),
        T(test_bad_specversion),
        T(test_error_echo_is_bounded),
        T(test_percent_decoding),
        T(test_raw_invalid_utf8_header),
        T(test_structured_invalid_utf8),
        T(test_oversized_header_value),
        T(test_bad_attribute_names),
        T(test_binary_reserved_and_duplicate),
        T(test_batch_refused),
        T(test_other_structured_formats_refused),
        T(test_structured_event),
        T(test_structured_string_data),
        T(test_structured_data_base64),
        T(test_structured_data_base64_invalid),
        T(test_structured_data_and_base64),
        T(test_structured_body_malformed),
        T(test_structured_attribute_types),
        T(test_structured_null_is_omitted),
        T(test_time_attribute),
        T(test_round_trip),
        T(test_from_json_rejects),
        T(test_status_table),
#undef T
    };
    return cmocka_run_group_tests_name("cloudevent", tests, NULL, NULL);
}
