/* errtext: messages into a caller's buffer, cut and terminated; no buffer is no text. */
#include "errtext.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef enum { ST_OK, ST_BAD } st;

static st check(const char *v, char *err, size_t errlen)
{
    if (!v)
        return errtext_fail(err, errlen, ST_BAD, "value: required (%d)", 7);
    return ST_OK;
}

static void test_errtext(void **state)
{
    (void)state;
    char err[64] = "untouched";
    assert_int_equal(check("x", err, sizeof err), ST_OK);
    assert_string_equal(err, "untouched");
    assert_int_equal(check(NULL, err, sizeof err), ST_BAD);
    assert_string_equal(err, "value: required (7)");
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(check(NULL, small, 6), ST_BAD);
    assert_string_equal(small, "value");
    assert_int_equal(small[6], 'x');
    assert_int_equal(check(NULL, NULL, 64), ST_BAD); /* no text wanted */
    char none[1] = {'q'};
    errtext_set(none, 0, "%s", "ignored");
    assert_int_equal(none[0], 'q');
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_errtext)};
    return cmocka_run_group_tests_name("errtext", tests, NULL, NULL);
}
