/* Unit tests for src/rules.c: compiling valid rules (what a compiled rule hands out), an empty
 * set, a small error buffer, and matching events (by object, type, source and subject, first
 * match first, without data), unsafe names and buckets matching no rule unless it opts in, and
 * why. Events are built by hand: cloudevent is a plain struct. Every malformed rule, with its
 * JSON path, is a config case (tests/data/config/, run by test_config_cases); so is what
 * rules_job.c checks (the CustomJob schema, labels). Expansion: test_template.c and
 * test_rules_vars.c; names: test_rules_name.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retrain_body.h"
#include "rules.h"
#include "support/rules_fixture.h"

#define FINALIZED FIXTURE_FINALIZED

/* ---- compiling valid rules -------------------------------------------------------------- */

static void test_compile_valid_rules(void **state)
{
    (void)state;
    json_t *arr = fixture_rules("churn register train");
    rules *rs;
    char err[4096];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr); /* the compiled rules keep their own copy */
    assert_int_equal(rules_count(rs), 3);

    const rule *churn = rules_at(rs, 0);
    assert_string_equal(rules_name(churn), "churn");
    assert_int_equal(rules_action_of(churn), RULES_TRAIN_AND_REGISTER);
    assert_int_equal(rules_min_interval_s(churn), 600);
    assert_string_equal(json_string_value(json_object_get(rules_job(churn), "displayName")),
                        "churn-${event_key}");
    assert_null(rules_pipeline(churn));
    assert_null(rules_labels(churn));
    const rules_model *m = rules_model_of(churn);
    assert_non_null(m);
    assert_string_equal(m->parent, "projects/p/locations/us-central1/models/123");
    assert_null(m->model_id);
    assert_string_equal(m->container_image, "us-docker.pkg.dev/p/r/serve:latest");
    assert_string_equal(m->display_name, "churn");
    assert_int_equal(m->n_aliases, 1);
    assert_string_equal(m->aliases[0], "default");

    const rule *reg = rules_find(rs, "saved-models");
    assert_ptr_equal(reg, rules_at(rs, 1));
    assert_int_equal(rules_action_of(reg), RULES_REGISTER);
    assert_null(rules_job(reg));
    assert_string_equal(rules_model_of(reg)->model_id, "saved-models");
    assert_null(rules_model_of(reg)->parent);
    assert_string_equal(json_string_value(json_object_get(rules_labels(reg), "team")), "ml");
    assert_int_equal(rules_min_interval_s(reg), 0);

    const rule *nightly = rules_find(rs, "nightly");
    assert_int_equal(rules_action_of(nightly), RULES_TRAIN);
    assert_null(rules_model_of(nightly));
    assert_null(rules_find(rs, "absent"));
    assert_null(rules_at(rs, 3));
    rules_free(rs);
}

static void test_compile_empty(void **state)
{
    (void)state;
    rules *rs;
    char err[64];
    json_t *arr = json_array();
    assert_int_equal(rules_compile(arr, &rs, err, sizeof err), 0);
    assert_int_equal(rules_count(rs), 0);
    rules_free(rs);
    json_decref(arr);
    assert_int_equal(rules_compile(NULL, &rs, err, sizeof err), 0);
    assert_int_equal(rules_count(rs), 0);
    rules_free(rs);
    rules_free(NULL);
}

static void test_pipeline_and_model_templates(void **state)
{
    (void)state;
    json_t *r = fixture_rule("churn");
    json_object_set_new(r, "pipeline",
                        fixture_json("{\"displayName\": \"churn-pipeline-${event_key}\","
                                     " \"labels\": {\"kind\": \"pipeline\"}}"));
    json_t *model = json_object_get(r, "model");
    json_object_set_new(model, "artifact_uri", json_string("gs://${bucket}/out/${generation}/"));
    json_object_set_new(model, "description", json_string("from ${name}; cost $5, $${x}"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    const rule *churn = rules_at(rs, 0);
    assert_string_equal(json_string_value(json_object_get(rules_pipeline(churn), "displayName")),
                        "churn-pipeline-${event_key}");
    assert_string_equal(rules_model_of(churn)->artifact_uri, "gs://${bucket}/out/${generation}/");
    rules_free(rs);
    json_decref(arr);
}

/* A batch section: its terms as compiled, the key's default (per directory with a marker), the
 * marker matched against names, the manifest's URI for a run. */
static void test_batch_section(void **state)
{
    (void)state;
    json_t *r = fixture_rule("churn");
    json_object_del(r, "min_interval_s");
    json_object_set_new(r, "batch",
                        fixture_json("{\"marker\": \"**/_SUCCESS\", \"max_wait_s\": 60,"
                                     " \"on_timeout\": \"expire\", \"manifest\": \"gs://b-1/m\"}"));
    json_t *q = fixture_rule("train");
    json_object_set_new(q, "batch", fixture_json("{\"quiet_period_s\": 5, \"min_events\": 7}"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    json_array_append_new(arr, q);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    const rules_batch *b = rules_batch_of(rules_at(rs, 0));
    assert_non_null(b);
    assert_string_equal(b->key, "${rule}/${name_dir}");
    assert_true(b->expire);
    assert_int_equal(b->max_wait_s, 60);
    assert_true(rules_batch_marks(rules_at(rs, 0), "ds/2026-12-03/_SUCCESS"));
    assert_false(rules_batch_marks(rules_at(rs, 0), "ds/2026-12-03/part-1.csv"));
    assert_false(rules_batch_marks(rules_at(rs, 0), NULL));
    arena *a = arena_new(1024);
    assert_string_equal(rules_batch_manifest_uri(rules_at(rs, 0), "0123", a),
                        "gs://b-1/m/churn/0123.jsonl");
    const rules_batch *qb = rules_batch_of(rules_at(rs, 1));
    assert_string_equal(qb->key, "${rule}");
    assert_int_equal(qb->quiet_period_s, 5);
    assert_int_equal(qb->min_events, 7);
    assert_false(qb->expire);
    assert_null(rules_batch_manifest_uri(rules_at(rs, 1), "0123", a));
    assert_false(rules_batch_marks(rules_at(rs, 1), "x/_SUCCESS"));
    arena_free(a);
    rules_free(rs);
    json_decref(arr);
}

/* A promote section: its defaults, who wins by how much in each direction, and the version a
 * train_and_register run uploads carrying the candidate alias only. */
static void test_promote_section(void **state)
{
    (void)state;
    json_t *r = fixture_rule("churn");
    json_object_del(json_object_get(r, "model"), "aliases");
    json_object_set_new(r, "promote",
                        fixture_json("{\"alias\": \"production\", \"metric\": \"auRoc\","
                                     " \"goal\": \"maximize\", \"min_delta\": 0.01}"));
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    const rules_promote *p = rules_promote_of(rules_at(rs, 0));
    assert_non_null(p);
    assert_string_equal(p->alias, "production");
    assert_string_equal(p->candidate_alias, "candidate");
    assert_string_equal(p->metric, "auRoc");
    assert_false(p->minimize);
    assert_true(p->require_evaluation);
    assert_string_equal(p->metrics_uri, "${artifact_uri}/metrics.json");
    assert_true(rules_promote_wins(p, 0.92, 0.90));
    assert_false(rules_promote_wins(p, 0.905, 0.90)); /* inside min_delta: a tie */
    assert_false(rules_promote_wins(p, 0.80, 0.90));
    rules_promote down = *p;
    down.minimize = true;
    down.min_delta = 0;
    assert_true(rules_promote_wins(&down, 0.10, 0.20));
    assert_false(rules_promote_wins(&down, 0.20, 0.20));

    template_vars v = {.event_key = "0123abcd", .rule = "churn"};
    arena *a = arena_new(1024);
    json_t *body = retrain_request_body(rules_at(rs, 0), &v, a, err, sizeof err);
    if (!body)
        fail_msg("%s", err);
    const json_t *aliases =
        json_object_get(json_object_get(body, "modelToUpload"), "versionAliases");
    assert_int_equal(json_array_size(aliases), 1);
    assert_string_equal(json_string_value(json_array_get(aliases, 0)), "candidate");
    json_decref(body);
    rules_free(rs);
    json_decref(arr);

    /* A register rule behind the gate: its upload carries the candidate alias only. */
    r = fixture_rule("register");
    json_object_set_new(r, "promote",
                        fixture_json("{\"alias\": \"default\", \"metric\": \"logLoss\","
                                     " \"goal\": \"minimize\", \"candidate_alias\": \"next\"}"));
    arr = json_array();
    json_array_append_new(arr, r);
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(rules_promote_of(rules_at(rs, 0))->minimize);
    template_vars rv = {.event_key = "0123abcd",
                        .rule = "saved-models",
                        .bucket = "b",
                        .name = "models/m1/saved_model.pb",
                        .gcs_uri = "gs://b/models/m1/saved_model.pb"};
    body = retrain_request_body(rules_at(rs, 0), &rv, a, err, sizeof err);
    if (!body)
        fail_msg("%s", err);
    aliases = json_object_get(json_object_get(body, "model"), "versionAliases");
    assert_int_equal(json_array_size(aliases), 1);
    assert_string_equal(json_string_value(json_array_get(aliases, 0)), "next");
    json_decref(body);
    arena_free(a);
    rules_free(rs);
    json_decref(arr);
}

/* ---- problems --------------------------------------------------------------------------- */

/* One rule: the churn rule with KEY (a dotted path of objects) set to VALUE_JSON, or removed
 * when VALUE_JSON is NULL. */
static json_t *churn_with(const char *key, const char *value_json)
{
    json_t *r = fixture_rule("churn");
    char path[256];
    snprintf(path, sizeof path, "%s", key);
    json_t *obj = r;
    char *last = path, *dot;
    while ((dot = strchr(last, '.'))) {
        *dot = '\0';
        obj = json_object_get(obj, last);
        if (json_is_array(obj))
            obj = json_array_get(obj, 0);
        assert_non_null(obj);
        last = dot + 1;
    }
    if (value_json)
        json_object_set_new(obj, last, fixture_json(value_json));
    else
        json_object_del(obj, last);
    json_t *arr = json_array();
    json_array_append_new(arr, r);
    return arr;
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    json_t *arr = churn_with("match.name", "\"***\"");
    rules *rs;
    char err[16];
    memset(err, 'x', sizeof err);
    assert_int_equal(rules_compile(arr, &rs, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), -1);
    json_decref(arr);
}

/* ---- matching --------------------------------------------------------------------------- */

static const char *matched(const rules_fixture *f, const cloudevent *ev, const storage_object *obj)
{
    const rule *r = rules_match(f->rs, ev, obj);
    return r ? rules_name(r) : NULL;
}

static void test_match_by_object(void **state)
{
    rules_fixture *f = *state;
    cloudevent ev = fixture_event(FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/2026/11/a.csv");
    assert_string_equal(matched(f, &ev, &o), "churn");
    o.name = "datasets/churn/a.csv";
    assert_string_equal(matched(f, &ev, &o), "churn");
    o.name = "datasets/churn/a.json"; /* no rule for that name in acme-data */
    assert_null(matched(f, &ev, &o));
    o.name = "models/m1/saved_model.pb"; /* any bucket */
    assert_string_equal(matched(f, &ev, &o), "saved-models");
    o.bucket = "elsewhere";
    assert_string_equal(matched(f, &ev, &o), "saved-models");
    o = fixture_object("other", "anything/at/all");
    assert_string_equal(matched(f, &ev, &o), "nightly");
    o = fixture_object("acme-datas", "datasets/churn/a.csv"); /* bucket is exact, not a prefix */
    assert_null(matched(f, &ev, &o));
}

static void test_match_type_exact(void **state)
{
    rules_fixture *f = *state;
    cloudevent ev = fixture_event("google.cloud.storage.object.v1.deleted", NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/a.csv");
    assert_null(matched(f, &ev, &o));
    ev.type = "google.cloud.storage.object.v1.finalized.x";
    assert_null(matched(f, &ev, &o));
}

static void test_first_match_wins(void **state)
{
    (void)state;
    json_t *second = fixture_rule("churn");
    json_object_set_new(second, "name", json_string("churn-2"));
    json_t *arr = fixture_rules("churn");
    json_array_append_new(arr, second);
    rules *rs;
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    json_decref(arr);
    cloudevent ev = fixture_event(FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/a.csv");
    assert_ptr_equal(rules_match(rs, &ev, &o), rules_at(rs, 0));
    rules_free(rs);
}

static void test_match_without_data(void **state)
{
    rules_fixture *f = *state;
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = fixture_event(FINALIZED, "objects/datasets/churn/x/y.csv");
    ev.extensions = ext;
    ev.n_extensions = 1;
    assert_string_equal(matched(f, &ev, NULL), "churn");
    ev.subject = "datasets/churn/x/y.csv"; /* not "objects/...": no object name */
    assert_null(matched(f, &ev, NULL));
    ev.subject = NULL;
    assert_null(matched(f, &ev, NULL));
    ev.subject = "objects/datasets/churn/x/y.csv";
    ev.n_extensions = 0; /* no bucket anywhere: a rule testing the bucket cannot match */
    assert_null(matched(f, &ev, NULL));
    /* The object data, when present, wins over the extension and the subject. */
    ev.extensions = ext;
    ev.n_extensions = 1;
    storage_object o = fixture_object("other", "z");
    assert_string_equal(matched(f, &ev, &o), "nightly");
}

static void test_match_source_and_subject(void **state)
{
    (void)state;
    json_t *arr = json_array();
    json_array_append_new(
        arr,
        fixture_json("{\"name\": \"by-source\", \"action\": \"register\","
                     " \"match\": {\"type\": \"t\", \"source\": \"//storage.googleapis.com/x\","
                     "             \"subject\": \"objects/exports/*.pb\"},"
                     " \"model\": {\"model_id\": \"m\", \"container_image\": \"img\"}}"));
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr);
    cloudevent ev = fixture_event("t", "objects/exports/m.pb");
    ev.source = "//storage.googleapis.com/x";
    assert_non_null(rules_match(rs, &ev, NULL));
    ev.subject = "objects/exports/deep/m.pb";
    assert_null(rules_match(rs, &ev, NULL));
    ev.subject = "objects/exports/m.pb";
    ev.source = "//storage.googleapis.com/y";
    assert_null(rules_match(rs, &ev, NULL));
    rules_free(rs);
}

/* Names that would read outside the dataset once a training container maps gs:// paths to
 * files (gcsfuse), and names Cloud Storage itself never makes: no rule matches them. */
static const char *const unsafe_names[] = {
    /* "." and ".." segments, anywhere */
    "datasets/churn/../../secrets/x.csv",
    "datasets/churn/./a.csv",
    "datasets/churn/..",
    "datasets/churn/a/../../../etc/passwd.csv",
    "../datasets/churn/a.csv",
    "./datasets/churn/a.csv",
    /* empty segments */
    "datasets/churn//a.csv",
    "/datasets/churn/a.csv",
    "datasets/churn/a//b.csv",
    /* control characters: C0, DEL, C1 (U+0080-U+009F) */
    "datasets/churn/a\n.csv",
    "datasets/churn/a\r.csv",
    "datasets/churn/\x01.csv",
    "datasets/churn/a\t.csv",
    "datasets/churn/a\x1b[2J.csv",
    "datasets/churn/a\x7f.csv",
    "datasets/churn/a\xc2\x85.csv",
    "datasets/churn/a\xc2\x9f.csv",
    /* not UTF-8: a lone byte, an overlong '/', a surrogate, a truncated sequence */
    "datasets/churn/\xff.csv",
    "datasets/churn/..\xc0\xaf..\xc0\xafx.csv",
    "datasets/churn/\xed\xa0\x80.csv",
    "datasets/churn/a\xe2\x82.csv",
};

/* Names that look odd but stay inside the dataset: they still match. */
static const char *const safe_names[] = {
    "datasets/churn/a.csv",
    "datasets/churn/..a.csv",
    "datasets/churn/a...csv",
    "datasets/churn/.hidden.csv",
    "datasets/churn/.../x.csv",
    "datasets/churn/données été.csv",
    "datasets/churn/#1 [copy] *?.csv",
    "datasets/churn/a\\..\\..\\b.csv",
    "datasets/churn/\xc2\xa0nbsp.csv",
};

static void test_unsafe_names_match_no_rule(void **state)
{
    rules_fixture *f = *state;
    cloudevent ev = fixture_event(FINALIZED, NULL);
    for (size_t i = 0; i < sizeof unsafe_names / sizeof unsafe_names[0]; i++) {
        storage_object o = fixture_object("acme-data", unsafe_names[i]);
        if (matched(f, &ev, &o))
            fail_msg("unsafe name #%zu matched rule %s", i, matched(f, &ev, &o));
        /* The same name from the subject (no data). */
        char subject[256];
        snprintf(subject, sizeof subject, "objects/%s", unsafe_names[i]);
        ce_attr ext[] = {{"bucket", "acme-data"}};
        cloudevent bare = fixture_event(FINALIZED, subject);
        bare.extensions = ext;
        bare.n_extensions = 1;
        if (matched(f, &bare, NULL))
            fail_msg("unsafe subject #%zu matched", i);
    }
    for (size_t i = 0; i < sizeof safe_names / sizeof safe_names[0]; i++) {
        storage_object o = fixture_object("acme-data", safe_names[i]);
        if (!matched(f, &ev, &o))
            fail_msg("safe name #%zu matched no rule", i);
    }
    /* A rule without a name glob refuses them too: the name still reaches the job. */
    storage_object o = fixture_object("other", "x/../../y");
    assert_null(matched(f, &ev, &o));
    o.name = "x/y";
    assert_string_equal(matched(f, &ev, &o), "nightly");
}

static void test_unsafe_bucket_matches_no_rule(void **state)
{
    rules_fixture *f = *state;
    cloudevent ev = fixture_event(FINALIZED, NULL);
    /* saved-models takes any bucket: gs://acme/../x/... would climb out of it. */
    storage_object o = fixture_object("acme/../x", "models/m1/saved_model.pb");
    char why[512];
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "rule saved-models would match, but the bucket has characters Cloud "
                             "Storage does not allow in a bucket name (at byte 4), which no rule "
                             "takes unless its match sets allow_unsafe_names");
    o.bucket = "..";
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_non_null(strstr(why, "the bucket has the name \".\" or \"..\" (at byte 0)"));
    o.bucket = "acme";
    assert_string_equal(matched(f, &ev, &o), "saved-models");
}

static void test_unsafe_name_reason(void **state)
{
    rules_fixture *f = *state;
    cloudevent ev = fixture_event(FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/../../secrets/x.csv");
    char why[512];
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "rule churn would match, but the object name has a \".\" or \"..\" "
                             "segment (at byte 15), which no rule takes unless its match sets "
                             "allow_unsafe_names");
    o.name = "datasets/churn/a\x1b[31m.csv"; /* the name itself never reaches the reason */
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_non_null(strstr(why, "a control character (at byte 16)"));
    assert_null(strchr(why, '\x1b'));
    /* No rule at all: no reason beyond that. */
    o.name = "elsewhere/a.csv";
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "");
    o.name = "elsewhere/../a.csv"; /* unsafe, but no rule would take it anyway */
    assert_null(rules_match_why(f->rs, &ev, &o, why, sizeof why));
    assert_string_equal(why, "");
    /* A small buffer is truncated, never overrun; no buffer is fine. */
    o.name = "datasets/churn/../x.csv";
    char tiny[8];
    assert_null(rules_match_why(f->rs, &ev, &o, tiny, sizeof tiny));
    assert_string_equal(tiny, "rule ch");
    assert_null(rules_match_why(f->rs, &ev, &o, NULL, 0));
}

static void test_allow_unsafe_names(void **state)
{
    (void)state;
    /* The churn rule, then the same with the opt-in: a safe name takes the first, an unsafe
     * one skips it for the second. */
    json_t *second = fixture_rule("churn");
    json_object_set_new(second, "name", json_string("churn-any-name"));
    json_object_set_new(json_object_get(second, "match"), "allow_unsafe_names", json_true());
    json_t *arr = fixture_rules("churn");
    json_array_append_new(arr, second);
    rules *rs;
    char err[1024];
    if (rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s", err);
    json_decref(arr);
    cloudevent ev = fixture_event(FINALIZED, NULL);
    storage_object o = fixture_object("acme-data", "datasets/churn/a.csv");
    assert_ptr_equal(rules_match(rs, &ev, &o), rules_at(rs, 0));
    for (size_t i = 0; i < sizeof unsafe_names / sizeof unsafe_names[0]; i++) {
        o.name = unsafe_names[i];
        size_t n = strlen(o.name);
        if (strncmp(o.name, "datasets/churn/", 15) != 0 || strcmp(o.name + n - 4, ".csv") != 0)
            continue; /* not the glob's shape */
        char why[256] = "x";
        if (rules_match_why(rs, &ev, &o, why, sizeof why) != rules_at(rs, 1))
            fail_msg("unsafe name #%zu not taken by the opted-in rule", i);
    }
    /* The glob still applies to an opted-in rule. */
    o.name = "other/../a.csv";
    assert_null(rules_match(rs, &ev, &o));
    rules_free(rs);
    /* false is the default, and allowed. */
    arr = churn_with("match.allow_unsafe_names", "false");
    assert_int_equal(rules_compile(arr, &rs, NULL, 0), 0);
    o.name = "datasets/churn/../a.csv";
    assert_null(rules_match(rs, &ev, &o));
    rules_free(rs);
    json_decref(arr);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(rules_action_name(RULES_TRAIN), "train");
    assert_string_equal(rules_action_name(RULES_TRAIN_AND_REGISTER), "train_and_register");
    assert_string_equal(rules_action_name(RULES_REGISTER), "register");
}

int main(void)
{
#define F(name) cmocka_unit_test_setup_teardown(name, rules_fixture_setup, rules_fixture_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_valid_rules),
        cmocka_unit_test(test_compile_empty),
        cmocka_unit_test(test_pipeline_and_model_templates),
        cmocka_unit_test(test_batch_section),
        cmocka_unit_test(test_promote_section),
        cmocka_unit_test(test_small_error_buffer),
        F(test_match_by_object),
        F(test_match_type_exact),
        cmocka_unit_test(test_first_match_wins),
        F(test_match_without_data),
        cmocka_unit_test(test_match_source_and_subject),
        F(test_unsafe_names_match_no_rule),
        F(test_unsafe_bucket_matches_no_rule),
        F(test_unsafe_name_reason),
        cmocka_unit_test(test_allow_unsafe_names),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
