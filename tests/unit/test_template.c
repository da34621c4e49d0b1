/* Unit tests for src/template.c, the placeholder language: every placeholder expanded, the
 * escapes, values absent, non-strings and keys copied as they are, invalid UTF-8 refused. The
 * placeholders refused at compile time are config cases (tests/data/config/placeholder-*.case). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/rules_fixture.h"
#include "template.h"

static void test_expand_every_placeholder(void **state)
{
    rules_fixture *f = *state;
    template_vars v = {.bucket = "b",
                       .name = "n/o.csv",
                       .generation = "17",
                       .event_id = "id-1",
                       .event_key = "k",
                       .event_time = "2026-11-26T07:00:00Z",
                       .rule = "churn",
                       .gcs_uri = "gs://b/n/o.csv"};
    json_t *tmpl =
        fixture_json("{\"s\": \"${bucket}|${name}|${generation}|${event_id}|${event_key}|"
                     "${event_time}|${rule}|${gcs_uri}\","
                     " \"esc\": \"$${bucket} $$ $x ${}x\", \"n\": 5, \"b\": true, \"z\": null,"
                     " \"a\": [\"${generation}\", 1.5]}");
    json_t *out = template_expand(tmpl, &v);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "s")),
                        "b|n/o.csv|17|id-1|k|2026-11-26T07:00:00Z|churn|gs://b/n/o.csv");
    assert_string_equal(json_string_value(json_object_get(out, "esc")), "${bucket} $$ $x ${}x");
    assert_int_equal(json_integer_value(json_object_get(out, "n")), 5);
    assert_true(json_is_true(json_object_get(out, "b")));
    assert_true(json_is_null(json_object_get(out, "z")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "a"), 0)), "17");
    assert_true(json_real_value(json_array_get(json_object_get(out, "a"), 1)) == 1.5);
    json_decref(out);
    json_decref(tmpl);

    /* Absent values expand to "". */
    template_vars empty = {0};
    char *s = template_expand_string("[${generation}][${rule}]", &empty, f->a);
    assert_string_equal(s, "[][]"); /* the template engine knows no rule: vars name it */
}

static void test_expand_refuses_invalid_utf8(void **state)
{
    (void)state;
    template_vars v = {.event_id = "\xff\xfe"};
    json_t *tmpl = json_string("id-${event_id}");
    assert_null(template_expand(tmpl, &v));
    json_decref(tmpl);
}

static void test_event_only_and_names(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(template_check_event("${rule}/${name_dir}", msg, sizeof msg), 0);
    assert_int_equal(template_check("${rule}/${batch_size}", msg, sizeof msg), 0);
    assert_int_equal(template_check_event("${rule}/${batch_size}", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "not an event's placeholder ${batch_size}"));
    assert_null(strstr(msg, "${run_id}")); /* the known list says what is allowed here */
    assert_non_null(strstr(msg, "${name_dir}"));
    assert_int_equal(template_check("${nope}", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "${batch_manifest_uri}")); /* every name, from the table */
    assert_true(template_names("--m=${batch_manifest_uri}", "batch_manifest_uri"));
    assert_false(template_names("--m=$${batch_manifest_uri}", "batch_manifest_uri"));
    assert_false(template_names("${batch_manifest}", "batch_manifest_uri"));
    /* A model version's template: its own names, the rule and the run; no event's, and the
     * version's nowhere else. */
    assert_int_equal(
        template_check_version("${artifact_uri}/${rule}/${run_id}/${model}@${version_id}", msg,
                               sizeof msg),
        0);
    assert_int_equal(template_check_version("gs://b/${name}", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "${artifact_uri}"));
    assert_null(strstr(msg, "${gcs_uri}"));
    assert_int_equal(template_check("${artifact_uri}", msg, sizeof msg), -1);
    assert_int_equal(template_check_event("${version_id}", msg, sizeof msg), -1);
    template_vars v = {.artifact_uri = "gs://m/7", .version_id = "7"};
    arena *a = arena_new(256);
    assert_string_equal(template_expand_string("${artifact_uri}/metrics-${version_id}.json", &v, a),
                        "gs://m/7/metrics-7.json");
    arena_free(a);
}

int main(void)
{
#define F(name) cmocka_unit_test_setup_teardown(name, rules_fixture_setup, rules_fixture_teardown)
    const struct CMUnitTest tests[] = {
        F(test_expand_every_placeholder),
        cmocka_unit_test(test_expand_refuses_invalid_utf8),
        cmocka_unit_test(test_event_only_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
