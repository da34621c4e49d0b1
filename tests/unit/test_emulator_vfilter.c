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
    assert_int_equal(vf_parse(filter, VF_KEYS_JOBS, &f), VF_OK);
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
    assert_int_equal(vf_parse("", VF_KEYS_JOBS, &f), VF_OK);
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
    assert_int_equal(vf_parse("labels.team", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=\"ml", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=ml AND ", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("AND labels.team=ml", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team=a=b", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("create_time>\"2026\"", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.=x", VF_KEYS_JOBS, &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("name=x", VF_KEYS_JOBS, &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("labels.team=ml OR labels.team=x", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("display_name=train a", VF_KEYS_JOBS, &f), VF_SYNTAX);
}

static void test_limits(void **state)
{
    (void)state;
    vf_filter f;
    char text[2048] = "";
    for (int i = 0; i <= VF_MAX_CLAUSES; i++)
        strcat(text, i ? " AND labels.a=b" : "labels.a=b");
    assert_int_equal(vf_parse(text, VF_KEYS_JOBS, &f), VF_TOO_LONG);
    char key[128];
    memset(key, 'k', sizeof key);
    snprintf(text, sizeof text, "labels.%.*s=v", 70, key);
    assert_int_equal(vf_parse(text, VF_KEYS_JOBS, &f), VF_TOO_LONG);
    assert_string_equal(vf_status_name(VF_TOO_LONG), "too long");
    assert_string_equal(vf_status_name(VF_SYNTAX), "syntax error");
}

/* A model version as models.listVersions answers it: the name carries the version id. */
static json_t *version(const char *name, const char *event)
{
    json_t *v =
        json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name", name, "versionId", "2", "displayName",
                  "churn", "labels", "retrain-event", event, "retrain-rule", "imports");
    assert_non_null(v);
    return v;
}

static bool version_matches(const char *filter, unsigned keys, const json_t *v)
{
    vf_filter f;
    assert_int_equal(vf_parse(filter, keys, &f), VF_OK);
    return vf_match(&f, v);
}

static void test_versions_found_by_their_event_label(void **state)
{
    (void)state;
    json_t *mine = version("projects/p/locations/l/models/churn@2", "abc");
    json_t *other = version("projects/p/locations/l/models/churn@3", "abd");
    const char *by_label = "labels.retrain-event=\"abc\"";
    assert_true(version_matches(by_label, VF_KEYS_VERSIONS, mine));
    assert_false(version_matches(by_label, VF_KEYS_VERSIONS, other));
    assert_true(version_matches("labels.retrain-event=\"abc\" AND labels.retrain-rule=imports",
                                VF_KEYS_VERSIONS, mine));
    assert_true(version_matches("labels.retrain-event:*", VF_KEYS_VERSIONS, other));
    assert_true(version_matches("labels:retrain-rule", VF_KEYS_VERSIONS, other));
    assert_false(version_matches("labels:team", VF_KEYS_VERSIONS, other));
    json_decref(mine);
    json_decref(other);
}

static void test_each_list_takes_its_own_keys(void **state)
{
    (void)state;
    vf_filter f;
    /* listVersions filters on labels only, as documented. */
    assert_int_equal(vf_parse("state=JOB_STATE_RUNNING", VF_KEYS_VERSIONS, &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("display_name=\"a\"", VF_KEYS_VERSIONS, &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("model=churn", VF_KEYS_VERSIONS, &f), VF_UNKNOWN_KEY);
    /* models.list: model and display name, = and !=; no state. */
    assert_int_equal(vf_parse("state=JOB_STATE_RUNNING", VF_KEYS_MODELS, &f), VF_UNKNOWN_KEY);
    json_t *m = version("projects/p/locations/l/models/churn", "abc");
    assert_true(version_matches("model=churn", VF_KEYS_MODELS, m));
    assert_false(version_matches("model=chur", VF_KEYS_MODELS, m));
    assert_true(version_matches("model!=other", VF_KEYS_MODELS, m));
    assert_true(
        version_matches("displayName!=\"x\" AND labels.retrain-rule=imports", VF_KEYS_MODELS, m));
    assert_false(version_matches("display_name!=\"churn\"", VF_KEYS_MODELS, m));
    json_decref(m);
    /* Jobs take no model key; labels take no != . */
    assert_int_equal(vf_parse("model=churn", VF_KEYS_JOBS, &f), VF_UNKNOWN_KEY);
    assert_int_equal(vf_parse("labels.team!=ml", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_true(matches("state!=JOB_STATE_SUCCEEDED"));
    assert_int_equal(vf_parse("labels:", VF_KEYS_JOBS, &f), VF_SYNTAX);
    assert_int_equal(vf_parse("labels.team:", VF_KEYS_JOBS, &f), VF_SYNTAX);
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
        cmocka_unit_test(test_versions_found_by_their_event_label),
        cmocka_unit_test(test_each_list_takes_its_own_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
