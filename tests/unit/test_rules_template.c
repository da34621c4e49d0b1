/* Unit tests for src/rules_template.c: placeholders expanded per event (every one, escapes,
 * values absent), the template left untouched, invalid UTF-8 refused, the vars of an event
 * without data, the model's artifact URI. Placeholders refused at compile time are config
 * cases (tests/data/config/placeholder-*.case). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "support/rules_fixture.h"

static void test_expand_job(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    cloudevent ev = fixture_event(FIXTURE_FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/a.csv");
    rules_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, &o, "abc123", f->a, &v), 0);
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    json_t *job = rules_expand(churn, rules_job(churn), &v);
    assert_non_null(job);
    assert_string_equal(json_string_value(json_object_get(job, "displayName")), "churn-abc123");
    json_t *pool =
        json_array_get(json_object_get(json_object_get(job, "jobSpec"), "workerPoolSpecs"), 0);
    json_t *args = json_object_get(json_object_get(pool, "containerSpec"), "args");
    assert_string_equal(json_string_value(json_array_get(args, 0)),
                        "--data=gs://acme-data/datasets/churn/a.csv");
    assert_string_equal(json_string_value(json_object_get(pool, "replicaCount")), "1");
    /* The template itself is untouched. */
    assert_string_equal(json_string_value(json_object_get(rules_job(churn), "displayName")),
                        "churn-${event_key}");
    json_decref(job);
}

static void test_expand_every_placeholder(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    rules_vars v = {.bucket = "b",
                    .name = "n/o.csv",
                    .generation = "17",
                    .event_id = "id-1",
                    .event_key = "k",
                    .event_time = "2026-11-26T07:00:00Z",
                    .rule = NULL,
                    .gcs_uri = "gs://b/n/o.csv"};
    json_t *tmpl =
        fixture_json("{\"s\": \"${bucket}|${name}|${generation}|${event_id}|${event_key}|"
                     "${event_time}|${rule}|${gcs_uri}\","
                     " \"esc\": \"$${bucket} $$ $x ${}x\", \"n\": 5, \"b\": true, \"z\": null,"
                     " \"a\": [\"${generation}\", 1.5]}");
    json_t *out = rules_expand(churn, tmpl, &v);
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
    rules_vars empty = {0};
    char *s = rules_expand_string(churn, "[${generation}][${rule}]", &empty, f->a);
    assert_string_equal(s, "[][churn]");
}

static void test_expand_refuses_invalid_utf8(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    rules_vars v = {.event_id = "\xff\xfe"};
    json_t *tmpl = json_string("id-${event_id}");
    assert_null(rules_expand(churn, tmpl, &v));
    json_decref(tmpl);
}

static void test_vars_without_data(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = fixture_event(FIXTURE_FINALIZED, "objects/datasets/churn/a.csv");
    ev.extensions = ext;
    ev.n_extensions = 1;
    rules_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_string_equal(v.bucket, "acme-data");
    assert_string_equal(v.name, "datasets/churn/a.csv");
    assert_null(v.generation);
    assert_string_equal(v.event_id, "4242");
    assert_string_equal(v.event_time, "2026-11-26T07:00:00Z");
    assert_string_equal(v.rule, "churn");
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    ev.n_extensions = 0;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_null(v.bucket);
    assert_null(v.gcs_uri);
}

static void test_artifact_uri(void **state)
{
    rules_fixture *f = *state;
    const rule *reg = rules_find(f->rs, "saved-models");
    rules_vars v = {.bucket = "b",
                    .name = "models/m1/saved_model.pb",
                    .gcs_uri = "gs://b/models/m1/saved_model.pb"};
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "gs://b/models/m1/");
    v.gcs_uri = "gs://b/top.pb";
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "gs://b/");
    v.gcs_uri = NULL;
    assert_string_equal(rules_artifact_uri(reg, &v, f->a), "");

    json_t *r = fixture_rule("register");
    json_object_set_new(json_object_get(r, "model"), "artifact_uri",
                        json_string("gs://${bucket}/exports/${generation}/"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    json_decref(arr);
    v.generation = "9";
    assert_string_equal(rules_artifact_uri(rules_at(rs, 0), &v, f->a), "gs://b/exports/9/");
    rules_free(rs);
}

int main(void)
{
#define F(name) cmocka_unit_test_setup_teardown(name, rules_fixture_setup, rules_fixture_teardown)
    const struct CMUnitTest tests[] = {
        F(test_expand_job),
        F(test_expand_every_placeholder),
        F(test_expand_refuses_invalid_utf8),
        F(test_vars_without_data),
        F(test_artifact_uri),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
