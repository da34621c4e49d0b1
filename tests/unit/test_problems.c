/* problems: "path: message" lines, every problem counted, the buffer never overrun. */
#include "problems.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void test_lines_and_count(void **state)
{
    (void)state;
    char buf[256];
    problems p = {.buf = buf, .cap = sizeof buf};
    problem_add(&p, "rules[0].name", "required");
    problem_add(&p, "ledger.lease_s", "must be an integer from %d to %d", 1, 3600);
    assert_int_equal(p.count, 2);
    assert_string_equal(buf, "rules[0].name: required\nledger.lease_s: must be an integer from 1 "
                             "to 3600");
    assert_int_equal(p.len, strlen(buf));
}

static void test_full_buffer_cuts_but_counts(void **state)
{
    (void)state;
    char buf[24];
    memset(buf, 'x', sizeof buf);
    problems p = {.buf = buf, .cap = 20};
    for (int i = 0; i < 5; i++)
        problem_add(&p, "a.very.long.path", "message %d", i);
    assert_int_equal(p.count, 5);
    assert_int_equal(strlen(buf), 19);
    assert_int_equal(p.len, 19);
    assert_int_equal(buf[20], 'x'); /* nothing past the capacity */
    problems none = {0};            /* no buffer: count only */
    problem_add(&none, "p", "m");
    assert_int_equal(none.count, 1);
}

static void test_paths(void **state)
{
    (void)state;
    char path[PROBLEM_PATH_MAX];
    problem_path(path, "rules", "[%d]", 3);
    problem_path(path, path, ".%s", "job");
    assert_string_equal(path, "rules[3].job");
    char big[PROBLEM_PATH_MAX + 100];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    problem_path(path, big, ".%s", "more");
    assert_int_equal(strlen(path), PROBLEM_PATH_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_count),
        cmocka_unit_test(test_full_buffer_cuts_but_counts),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests_name("problems", tests, NULL, NULL);
}
