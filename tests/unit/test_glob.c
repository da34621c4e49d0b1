/* Unit tests for src/glob: syntax, '/' handling, escapes, refused patterns, and the matcher's
 * behaviour on patterns that make backtracking matchers exponential. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "glob.h"

static bool matches(const char *pattern, const char *name)
{
    glob_pattern *g = NULL;
    char err[256];
    glob_status st = glob_compile(pattern, &g, err, sizeof err);
    if (st != GLOB_OK)
        fail_msg("pattern %s: %s", pattern, err);
    bool m = glob_match(g, name);
    glob_free(g);
    return m;
}

static void test_literal(void **state)
{
    (void)state;
    assert_true(matches("a.csv", "a.csv"));
    assert_false(matches("a.csv", "a.csvx"));
    assert_false(matches("a.csv", "xa.csv"));
    assert_false(matches("a.csv", "a_csv"));
    assert_false(matches("a.csv", ""));
    assert_true(matches("dir/file", "dir/file"));
}

static void test_star_stops_at_slash(void **state)
{
    (void)state;
    assert_true(matches("datasets/churn/*.csv", "datasets/churn/a.csv"));
    assert_true(matches("datasets/churn/*.csv", "datasets/churn/.csv"));
    assert_false(matches("datasets/churn/*.csv", "datasets/churn/2026/a.csv"));
    assert_true(matches("*", "anything"));
    assert_false(matches("*", "a/b"));
    assert_true(matches("*/*", "a/b"));
    assert_true(matches("a*b*c", "aXXbYYc"));
    assert_false(matches("a*b*c", "aXXbYY"));
}

static void test_double_star_crosses_slash(void **state)
{
    (void)state;
    assert_true(matches("datasets/churn/**.csv", "datasets/churn/a.csv"));
    assert_true(matches("datasets/churn/**.csv", "datasets/churn/2026/11/a.csv"));
    assert_false(matches("datasets/churn/**.csv", "datasets/churn/2026/11/a.csv.tmp"));
    assert_false(matches("datasets/churn/**.csv", "datasets/other/a.csv"));
    assert_true(matches("**", "a/b/c"));
    assert_true(matches("**", ""));
    assert_true(matches("models/**/saved_model.pb", "models/m1/v2/saved_model.pb"));
    assert_true(matches("models/**/saved_model.pb", "models/m1/saved_model.pb"));
}

static void test_double_star_slash_matches_nothing(void **state)
{
    (void)state;
    /* "**" followed by '/' also matches zero directories. */
    assert_true(matches("models/**/saved_model.pb", "models/saved_model.pb"));
    assert_true(matches("**/a.csv", "a.csv"));
    assert_true(matches("**/a.csv", "x/y/a.csv"));
    assert_false(matches("**/a.csv", "xa.csv"));
    assert_false(matches("models/**/saved_model.pb", "modelssaved_model.pb"));
    assert_true(matches("a/**/**/b", "a/b"));
    assert_true(matches("a/**/**/b", "a/x/b"));
    assert_true(matches("a/**/**/b", "a/x/y/z/b"));
    assert_false(matches("a/**/**/b", "a/xb"));
    assert_true(matches("a/**/", "a/"));
    assert_true(matches("a/**/", "a/x/"));
    assert_false(matches("a/**/", "a/x"));
}

static void test_question_mark(void **state)
{
    (void)state;
    assert_true(matches("part-?.csv", "part-1.csv"));
    assert_false(matches("part-?.csv", "part-12.csv"));
    assert_false(matches("part-?.csv", "part-.csv"));
    assert_false(matches("a?b", "a/b"));
    assert_true(matches("???", "abc"));
    assert_false(matches("???", "ab"));
}

static void test_escapes(void **state)
{
    (void)state;
    assert_true(matches("a\\*b", "a*b"));
    assert_false(matches("a\\*b", "axb"));
    assert_true(matches("a\\?b", "a?b"));
    assert_false(matches("a\\?b", "axb"));
    assert_true(matches("a\\\\b", "a\\b"));
    assert_true(matches("\\[x\\]", "[x]"));
    assert_true(matches("\\{x\\}", "{x}"));
    assert_true(matches("\\x", "x"));
}

static void expect_error(const char *pattern, glob_status want, const char *msg_part)
{
    glob_pattern *g = (glob_pattern *)1;
    char err[256] = "";
    assert_int_equal(glob_compile(pattern, &g, err, sizeof err), want);
    assert_null(g);
    if (!strstr(err, msg_part))
        fail_msg("pattern \"%s\": error \"%s\" lacks \"%s\"", pattern, err, msg_part);
}

static void test_refused_patterns(void **state)
{
    (void)state;
    expect_error("", GLOB_ERR_EMPTY, "empty pattern");
    expect_error("a/***.csv", GLOB_ERR_STARS, "'***' at offset 2");
    expect_error("****", GLOB_ERR_STARS, "at most two stars");
    expect_error("a[0-9].csv", GLOB_ERR_CLASS, "'[' at offset 1: character classes");
    expect_error("a]", GLOB_ERR_CLASS, "']' at offset 1");
    expect_error("a.{csv,json}", GLOB_ERR_BRACE, "'{' at offset 2: brace alternatives");
    expect_error("x}", GLOB_ERR_BRACE, "'}' at offset 1");
    expect_error("abc\\", GLOB_ERR_ESCAPE, "offset 3: nothing to escape");

    char *long_pattern = malloc(GLOB_MAX_LEN + 2);
    assert_non_null(long_pattern);
    memset(long_pattern, 'a', GLOB_MAX_LEN + 1);
    long_pattern[GLOB_MAX_LEN + 1] = '\0';
    expect_error(long_pattern, GLOB_ERR_TOO_LONG, "longer than 1024");
    long_pattern[GLOB_MAX_LEN] = '\0'; /* exactly the limit is fine */
    assert_true(matches(long_pattern, long_pattern));
    free(long_pattern);

    /* A NULL error buffer is allowed. */
    glob_pattern *g;
    assert_int_equal(glob_compile("***", &g, NULL, 0), GLOB_ERR_STARS);
}

static void test_pathological_is_linear(void **state)
{
    (void)state;
    /* Backtracking matchers take exponential time here; the NFA walk is 100k x 14 steps. */
    size_t n = 100000;
    char *name = malloc(n + 2);
    assert_non_null(name);
    memset(name, 'a', n);
    name[n] = '\0';
    assert_false(matches("*a*a*a*a*a*a*b", name));
    assert_false(matches("**a**a**a**a**a**a**b", name));
    name[n] = 'b';
    name[n + 1] = '\0';
    assert_true(matches("*a*a*a*a*a*a*b", name));
    assert_true(matches("**a**a**a**a**a**a**b", name));
    free(name);
}

static void test_source_and_names(void **state)
{
    (void)state;
    glob_pattern *g;
    assert_int_equal(glob_compile("x/**.csv", &g, NULL, 0), GLOB_OK);
    assert_string_equal(glob_source(g), "x/**.csv");
    glob_free(g);
    glob_free(NULL);
    assert_string_equal(glob_status_name(GLOB_OK), "ok");
    assert_string_equal(glob_status_name(GLOB_ERR_STARS), "too_many_stars");
    assert_string_equal(glob_status_name(GLOB_ERR_CLASS), "character_class");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_star_stops_at_slash),
        cmocka_unit_test(test_double_star_crosses_slash),
        cmocka_unit_test(test_double_star_slash_matches_nothing),
        cmocka_unit_test(test_question_mark),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_refused_patterns),
        cmocka_unit_test(test_pathological_is_linear),
        cmocka_unit_test(test_source_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
