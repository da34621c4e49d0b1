/* Unit tests for pct: percent-decoding, plain (CloudEvents header values) and form (query
 * strings), malformed escapes refused, %00 kept as a byte for the caller to judge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "pct.h"

static arena *a;

static int setup(void **state)
{
    (void)state;
    return (a = arena_new(4096)) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(a);
    return 0;
}

/* S decoded in MODE; NULL on a malformed escape. */
static const char *dec(const char *s, pct_mode mode, size_t *n)
{
    bool nomem = false;
    const char *out = pct_decode(a, s, strlen(s), mode, n, &nomem);
    assert_false(nomem);
    return out;
}

static void test_decodes(void **state)
{
    (void)state;
    size_t n = 0;
    assert_string_equal(dec("a%20b%2Fc%2fd", PCT_PLAIN, &n), "a b/c/d");
    assert_int_equal(n, 7);
    assert_string_equal(dec("%C3%A9t%c3%a9", PCT_PLAIN, &n), "\xc3\xa9t\xc3\xa9");
    assert_string_equal(dec("", PCT_PLAIN, &n), "");
    assert_int_equal(n, 0);
    assert_string_equal(dec("plain text", PCT_PLAIN, &n), "plain text");
}

static void test_plus(void **state)
{
    (void)state;
    size_t n = 0;
    assert_string_equal(dec("a+b%2B", PCT_PLAIN, &n), "a+b+");
    assert_string_equal(dec("a+b%2B", PCT_FORM, &n), "a b+");
}

static void test_malformed(void **state)
{
    (void)state;
    size_t n = 0;
    const char *bad[] = {"%", "%4", "a%zz", "%g0", "100%", "%%41", "x%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(dec(bad[i], PCT_FORM, &n));
}

static void test_nul_is_a_byte(void **state)
{
    (void)state;
    size_t n = 0;
    const char *out = dec("a%00b", PCT_FORM, &n);
    assert_non_null(out);
    assert_int_equal(n, 3);
    assert_int_equal(strlen(out), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_is_a_byte, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
