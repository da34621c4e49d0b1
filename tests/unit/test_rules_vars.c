/* Unit tests for src/rules_vars.c: the placeholders' values for an event matched to a rule (with
 * and without its data), the rule's job template filled in (and left untouched), and the
 * model's artifact URI. */
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
    template_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, &o, "abc123", f->a, &v), 0);
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    assert_string_equal(v.name_dir, "datasets/churn");
    json_t *job = template_expand(rules_job(churn), &v);
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

static void test_vars_without_data(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = fixture_event(FIXTURE_FINALIZED, "objects/datasets/churn/a.csv");
    ev.extensions = ext;
    ev.n_extensions = 1;
    template_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_string_equal(v.bucket, "acme-data");
    assert_string_equal(v.name, "datasets/churn/a.csv");
    assert_null(v.generation);
    assert_string_equal(v.event_id, "4242");
    assert_string_equal(v.event_time, "2026-11-26T07:00:00Z");
    assert_string_equal(v.rule, "churn");
    assert_string_equal(v.gcs_uri, "gs://acme-data/datasets/churn/a.csv");
    cloudevent top = fixture_event(FIXTURE_FINALIZED, "objects/a.csv");
    assert_int_equal(rules_vars_for_event(churn, &top, NULL, "key", f->a, &v), 0);
    assert_string_equal(v.name_dir, ""); /* no '/': no directory */
    ev.n_extensions = 0;
    assert_int_equal(rules_vars_for_event(churn, &ev, NULL, "key", f->a, &v), 0);
    assert_null(v.bucket);
    assert_null(v.gcs_uri);
}

static void test_artifact_uri(void **state)
{
    rules_fixture *f = *state;
    const rule *reg = rules_find(f->rs, "saved-models");
    template_vars v = {.bucket = "b",
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

/* A run's batch placeholders: one event's own, and many events' with their common directory. */
static void test_batch_placeholders(void **state)
{
    rules_fixture *f = *state;
    const rule *churn = rules_find(f->rs, "churn");
    cloudevent ev = fixture_event(FIXTURE_FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/a.csv");
    template_vars v;
    assert_int_equal(rules_vars_for_event(churn, &ev, &o, "k", f->a, &v), 0);
    assert_string_equal(v.batch_size, "1");
    assert_string_equal(v.batch_first_name, "datasets/churn/a.csv");
    assert_string_equal(v.batch_last_name, "datasets/churn/a.csv");
    assert_string_equal(v.batch_prefix, "datasets/churn/");
    assert_null(v.run_id);

    const char *names[] = {"ds/2026-12-03/part-1.csv", "ds/2026-12-03/part-10.csv",
                           "ds/2026-12-04/part-2.csv"};
    assert_int_equal(rules_vars_batch(&v, names, 3, 3, f->a), 0);
    assert_string_equal(v.batch_size, "3");
    assert_string_equal(v.batch_first_name, names[0]);
    assert_string_equal(v.batch_last_name, names[2]);
    assert_string_equal(v.batch_prefix, "ds/"); /* "ds/2026-12-0" cut at its last '/' */
    assert_int_equal(rules_vars_batch(&v, names, 2, 2, f->a), 0);
    assert_string_equal(v.batch_prefix, "ds/2026-12-03/");
    const char *flat[] = {"a.csv", "b.csv"};
    assert_int_equal(rules_vars_batch(&v, flat, 2, 2, f->a), 0);
    assert_string_equal(v.batch_prefix, "");
    /* Events that name no object count, but give no name. */
    assert_int_equal(rules_vars_batch(&v, NULL, 0, 4, f->a), 0);
    assert_string_equal(v.batch_size, "4");
    assert_null(v.batch_first_name);
    assert_null(v.batch_prefix);

    /* Only a rule whose templates name ${run_id} needs its body built once the run has one. */
    assert_false(rules_uses_run_id(churn));
    json_t *r = fixture_rule("train");
    json_object_set_new(json_object_get(r, "job"), "displayName", json_string("run-${run_id}"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    json_decref(arr);
    assert_true(rules_uses_run_id(rules_at(rs, 0)));
    rules_free(rs);

    v.run_id = "0123456789abcdef01234567";
    char *s = template_expand_string("${run_id}:${batch_size}", &v, f->a);
    assert_string_equal(s, "0123456789abcdef01234567:4");
}

int main(void)
{
#define F(name) cmocka_unit_test_setup_teardown(name, rules_fixture_setup, rules_fixture_teardown)
    const struct CMUnitTest tests[] = {
        F(test_expand_job),
        F(test_vars_without_data),
        F(test_artifact_uri),
        F(test_batch_placeholders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
