/* Unit tests for media_type: the syntax (tokens, parameters, quoted strings, where whitespace
 * may go), case-insensitive comparison, the +json suffix, parameter lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media_type.h"

static void test_valid(void **state)
{
    (void)state;
    const char *ok[] = {
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; charset=utf-8",
        "application/json\t;\tcharset=utf-8",
        "application/json;  charset=\"utf-8\"",
        " application/json ",
        "text/plain;",
        "text/plain;;charset=us-ascii",
        "multipart/mixed; boundary=\"a \\\"b\\\" c\"",
        "application/vnd.apache.thrift.binary",
        "application/cloudevents+json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain; format=flowed; delsp=yes",
        "application/ld+json; profile=\"http://www.w3.org/ns/json-ld#compacted\"",
        "application/{curly}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        media_type m;
        if (!media_type_parse(ok[i], &m))
            fail_msg("refused: %s", ok[i]);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "json",
        "application",
        "application/",
        "/json",
        "application /json",
        "application/ json",
        "application/json charset=utf-8",
        "application/json; charset",
        "application/json; charset =utf-8",
        "application/json; charset= utf-8",
        "application/json; charset=\"utf-8",
        "application/json; =utf-8",
        "application/json, text/plain",
        "application/js\x01on",
        "application/j\xc3\xa9son",
        "text/plain; a=b c",
        "application/json; charset=\"a\x01\"",
    };
    media_type m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (media_type_parse(bad[i], &m))
            fail_msg("accepted: %s", bad[i]);
    assert_false(media_type_parse(NULL, &m));
    assert_null(m.type);
}

static void test_comparison_is_case_insensitive(void **state)
{
    (void)state;
    media_type m;
    assert_true(media_type_parse("Application/JSON; Charset=UTF-8", &m));
    assert_true(media_type_is(&m, "application", "json"));
    assert_true(media_type_is(&m, "APPLICATION", "*"));
    assert_false(media_type_is(&m, "text", "json"));
    assert_false(media_type_is(&m, "application", "jso"));
    assert_true(
        media_type_str_is("APPLICATION/CLOUDEVENTS+JSON", "application", "cloudevents+json"));
    assert_false(media_type_str_is("application/cloudevents+json garbage", "application",
                                   "cloudevents+json"));
    assert_false(media_type_str_is(NULL, "application", "json"));
}

static void test_json_and_suffix(void **state)
{
    (void)state;
    const char *json[] = {"application/json",
                          "Application/JSON",
                          "text/json",
                          "application/cloudevents+json",
                          "application/ld+JSON; x=y",
                          "application/vnd.a+b+json"};
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++)
        if (!media_type_str_is_json(json[i]))
            fail_msg("not JSON: %s", json[i]);
    const char *not_json[] = {"text/plain",
                              "application/jsonx",
                              "application/json+xml",
                              "application/xjson",
                              "text/plain; format=json",
                              "json",
                              NULL};
    for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++)
        if (media_type_str_is_json(not_json[i]))
            fail_msg("JSON: %s", not_json[i] ? not_json[i] : "(null)");
    media_type m;
    assert_true(media_type_parse("application/cloudevents-batch+json", &m));
    assert_int_equal(m.suffix_len, 4);
    assert_memory_equal(m.suffix, "json", 4);
    assert_true(media_type_subtype_has_prefix(&m, "cloudevents-batch"));
    assert_true(media_type_subtype_has_prefix(&m, "CloudEvents"));
    assert_true(media_type_parse("text/plain", &m));
    assert_null(m.suffix);
}

static void test_parameters(void **state)
{
    (void)state;
    media_type m;
    char buf[32];
    assert_true(media_type_parse("text/plain; format=flowed; Charset=\"UTF-8\"", &m));
    assert_string_equal(media_type_param(&m, "charset", buf, sizeof buf), "UTF-8");
    assert_string_equal(media_type_param(&m, "FORMAT", buf, sizeof buf), "flowed");
    assert_null(media_type_param(&m, "delsp", buf, sizeof buf));
    assert_true(media_type_parse("multipart/mixed; boundary=\"a \\\"b\\\"\"", &m));
    assert_string_equal(media_type_param(&m, "boundary", buf, sizeof buf), "a \"b\"");
    assert_string_equal(media_type_param(&m, "boundary", buf, 4), "a \""); /* cut to fit */
    assert_true(media_type_parse("text/plain", &m));
    assert_null(media_type_param(&m, "charset", buf, sizeof buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_comparison_is_case_insensitive),
        cmocka_unit_test(test_json_and_suffix),
        cmocka_unit_test(test_parameters),
    };
    return cmocka_run_group_tests_name("media_type", tests, NULL, NULL);
}
