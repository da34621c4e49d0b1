/* Unit tests for src/rules_name.c: which object and bucket names a rule refuses unless it
 * opts in, each class of problem with the byte offset it names, and names that only look odd.
 * That no rule matches them is tested with the matching, in test_rules.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static void expect_unsafe(const char *name, const char *why_prefix, size_t at)
{
    size_t offset = 999;
    const char *why = rules_unsafe_name(name, &offset);
    if (!why || strncmp(why, why_prefix, strlen(why_prefix)) != 0)
        fail_msg("name \"%s\": got %s, want %s", name, why ? why : "(safe)", why_prefix);
    assert_int_equal(offset, at);
}

static void test_unsafe_name_classes(void **state)
{
    (void)state;
    const char *dots = "a \".\" or \"..\" segment", *empty = "an empty segment",
               *control = "a control character", *utf8 = "bytes that are not UTF-8";
    expect_unsafe("..", dots, 0);
    expect_unsafe(".", dots, 0);
    expect_unsafe("a/../b", dots, 2);
    expect_unsafe("a/./b", dots, 2);
    expect_unsafe("a/b/..", dots, 4);
    expect_unsafe("a/b/../", dots, 4);
    expect_unsafe("/a", empty, 0);
    expect_unsafe("a//b", empty, 2);
    expect_unsafe("//", empty, 0);
    expect_unsafe("a\nb", control, 1);
    expect_unsafe("ab\r", control, 2);
    expect_unsafe("\x1f", control, 0);
    expect_unsafe("a\x7f", control, 1);
    expect_unsafe("a\xc2\x80", control, 1);
    expect_unsafe("a\xc2\x9f", control, 1);
    expect_unsafe("a\xff", utf8, 1);
    expect_unsafe("a\xc0\xaf", utf8, 1);         /* overlong '/' */
    expect_unsafe("a\xe0\x80\xaf", utf8, 1);     /* overlong '/', three bytes */
    expect_unsafe("a\xed\xbf\xbf", utf8, 1);     /* a surrogate */
    expect_unsafe("a\xf4\x90\x80\x80", utf8, 1); /* past U+10FFFF */
    expect_unsafe("a\xe2\x82", utf8, 1);         /* truncated */
    expect_unsafe("a\x80", utf8, 1);             /* a lone continuation byte */
    const char *safe[] = {"a",
                          "a/",
                          "a/b/",
                          "...",
                          ".a/..b/c..",
                          "a b/c\xc2\xa0",
                          "\xe2\x82\xac",
                          "\xf0\x9f\x98\x80",
                          "#[]*?\\"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (rules_unsafe_name(safe[i], NULL))
            fail_msg("\"%s\" is safe, got %s", safe[i], rules_unsafe_name(safe[i], NULL));
    assert_null(rules_unsafe_bucket("acme-data", NULL));
    assert_null(rules_unsafe_bucket("b", NULL));
    assert_null(rules_unsafe_bucket("my.bucket_1", NULL));
    assert_non_null(rules_unsafe_bucket("..", NULL));
    assert_non_null(rules_unsafe_bucket(".", NULL));
    assert_non_null(rules_unsafe_bucket("a/..", NULL));
    assert_non_null(rules_unsafe_bucket("a\n", NULL));
    assert_non_null(rules_unsafe_bucket("", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsafe_name_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
