/* Unit tests for uri: RFC 3986 URI-references and absolute URIs, part by part (scheme,
 * authority, path, query, fragment, percent-encoding). The CloudEvents cases in
 * tests/data/cloudevents exercise them again as `source` and `dataschema`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "uri.h"

static void test_references(void **state)
{
    (void)state;
    const char *ok[] = {
        "https://github.com/cloudevents/spec/pull",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "mailto:a@b.example",
        "1-555-123-4567",
        "/sensors/tn-1234567/alerts",
        "//storage.googleapis.com/projects/_/buckets/acme-data",
        "//user:pw@host.example:8080/p?q#f",
        "//[2001:db8::7]:8080/x",
        "//[v1.fe80::a+en1]/x",
        "//host:/empty-port",
        "a/b/c",
        "./x:y",
        "?only=query",
        "#only-fragment",
        "",
        "/a%20b/%e2%82%ac",
        "/a!$&'()*+,;=:@b/~_.-",
        "x:",
        "tag:example.com,2026:x",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!uri_reference_valid(ok[i]))
            fail_msg("refused: %s", ok[i]);
    const char *bad[] = {
        "/a b",      "/a%zz",      "/a%2",         "1a:b",        ":nothing",
        "/a#b#c",    "//[::1/x",   "//[::1]x/y",   "//[zz::1]/x", "//h:80a/x",
        "//a@b@c/x", "\\\\server", "/caf\xc3\xa9", "/<script>",   "/{x}",
        "/a|b",      "/\"q\"",     "/^",           "/`",          "a b:c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (uri_reference_valid(bad[i]))
            fail_msg("accepted: %s", bad[i]);
    assert_false(uri_reference_valid(NULL));
}

static void test_absolute(void **state)
{
    (void)state;
    assert_true(uri_absolute_valid("https://example.com/schema.json"));
    assert_true(uri_absolute_valid("https://example.com/schema?v=2"));
    assert_true(uri_absolute_valid("urn:example:schema"));
    assert_false(uri_absolute_valid("https://example.com/schema.json#/definitions/a"));
    assert_false(uri_absolute_valid("/schema.json"));
    assert_false(uri_absolute_valid("schema.json"));
    assert_false(uri_absolute_valid("//example.com/schema.json"));
    assert_false(uri_absolute_valid(""));
    assert_false(uri_absolute_valid("1http://x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_absolute),
    };
    return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
