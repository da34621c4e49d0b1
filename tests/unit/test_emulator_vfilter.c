/* The emulator's list filter (tests/emulator/vfilter.c): the label filters our clients send to
 * find their jobs again must select exactly the right resources, and what Google would refuse
 * is refused. Compiled in directly: the module is part of the emulator binary. */
#include "../emulator/vfilter.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static json_t *job(void)
{
    json_t *j = json_loads("{\"displayName\":\"train a\",\"state\":\"JOB_STATE_RUNNING\","
                           "\"labels\":{\"team\":\"ml\",\"run\":\"r-1\",\"empty\":\"\"}}",
                           0, NULL);
    assert_non_null(j);
    return j;
}

static bool matches(const char *filter)
{
    vf_filter f;
    assert_int_equal(vf_parse(filter, &f), VF_OK);
    json_t *j = job();
    bool m = vf_match(&f, j);
    json_decref(j);
    return m;
}

static void test_quoted_and_bare_label_values(void **state)
{
    (void)state;
    assert_true(matches("labels.team=\"ml\""));
    assert_true(matches("labels.team=ml"));
    assert_true(matches("labels.run=r-1"));
    assert_false(matches("labels.team=\"ML\""));
    assert_false(matches("labels.team=m"));
    assert_false(matches("labels.missing=ml"));
}

static void test_and_requires_every_clause(void **state)
{
    (void)state;
    assert_true(matches("labels.team=\"ml\" AND labels.run=\"r-1\""));
    assert_false(matches("labels.team=\"ml\" AND labels.run=\"r-2\""));
    assert_true(matches("labels.team = ml AND state=JOB_STATE_RUNNING"));
    assert_true(matches("display_name=\"train a\""));
    assert_true(matches("displayName=\"train a\""));
    assert_false(matches("state=JOB_STATE_SUCCEEDED"));
}

static void test_empty_filter_matches_all(void **state)
{
    (void)state;
    vf_filter f;
    assert_int_equal(vf_parse("", &f), VF_OK);
    assert_int_equal(f.n, 0);
    assert_true(matches("   "));
}

static void test_empty_value_matches_empty_label(void **state)
{
    (void)state;
    assert_true(matches("labels.empty=\"\""));
    assert_false(matches("labels.team=\"\""));
}

static void test_malformed_filters_refused(void **state)
{
    (void)state;
    vf_filter f;
    assert_int_equal(vf_parse("labels.team", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=\"ml", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=ml AND ", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("AND labels.team=ml", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=a=b", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("create_time>\"2026\"", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.=x", &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("name=x", &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("labels.team=ml OR labels.team=x", &f), VF_SYNTAX);
    assert_int_equal(vf_parse("display_name=train a", &f), VF_SYNTAX);
}

static void test_limits(void **state)
{
    (void)state;
    vf_filter f;
    char text[2048] = "";
    for (int i = 0; i <= VF_MAX_CLAUSES; i++)
        strcat(text, i ? " AND labels.a=b" : "labels.a=b");
    assert_int_equal(vf_parse(text, &f), VF_TOO_LONG);
    char key[128];
    memset(key, 'k', sizeof key);
    snprintf(text, sizeof text, "labels.%.*s=v", 70, key);
    assert_int_equal(vf_parse(text, &f), VF_TOO_LONG);
    assert_string_equal(vf_status_name(VF_TOO_LONG), "too long");
    assert_string_equal(vf_status_name(VF_SYNTAX), "syntax error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_and_bare_label_values),
        cmocka_unit_test(test_and_requires_every_clause),
        cmocka_unit_test(test_empty_filter_matches_all),
        cmocka_unit_test(test_empty_value_matches_empty_label),
        cmocka_unit_test(test_malformed_filters_refused),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
