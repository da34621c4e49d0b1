/* The ledger's side of the promotion gate, against both backends: a run that succeeds behind a
 * gate has its decision pending, the follower leases it until the decision is recorded (pending
 * -> promoting -> promoted, or held), decisions are counted by rule and outcome, runs are listed
 * by the model they made, and every alias move is an audit record, listed newest first and one
 * per alias for "who holds it now". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/test_store.h"

#include "alias_moves.h"
#include "ledger.h"
#include "runs.h"

#include <stdio.h>
#include <string.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/test"
#define MODEL "projects/p/locations/l/models/churn"

static test_store *cur;

static ledger *open_fresh(void)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(test_store_fresh(cur, "p%d/ledger.db"), &l, err) != LEDGER_OK)
        fail_msg("ledger_create: %s", err);
    return l;
}

/* A run of rule RULE begun by event ID, succeeded with version MODEL@VERSION; DECISION as the
 * follower sets it (NULL: the rule has no gate). */
static run_record succeeded(ledger *l, const char *id, const char *rule, const char *model,
                            const char *version, const char *decision)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, id, key);
    ledger_event ev = {.source = SRC, .id = id, .type = "t"};
    ledger_claim_result res;
    ledger_record rec;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, &rec), LEDGER_OK);
    ledger_hold h = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    run_record run;
    bool existed;
    assert_int_equal(runs_begin(l, &h, rule, "train_and_register", &run, &existed), LEDGER_OK);
    char name[256];
    snprintf(name, sizeof name, "%s@%s", model, version);
    assert_int_equal(runs_update(l, run.id,
                                 &(run_change){.state = RUN_SUBMITTED,
                                               .resource = "projects/p/locations/l/"
                                                           "trainingPipelines/1"}),
                     LEDGER_OK);
    assert_int_equal(runs_update(l, run.id,
                                 &(run_change){.state = RUN_SUCCEEDED,
                                               .model_version = name,
                                               .model_version_id = version,
                                               .decision = decision}),
                     LEDGER_OK);
    char run_id[RUN_ID_LEN + 1];
    snprintf(run_id, sizeof run_id, "%s", run.id);
    run_record_clear(&run);
    assert_int_equal(runs_get(l, run_id, &run), LEDGER_OK);
    return run;
}

static ledger_status lease_decide(ledger *l, const char *owner, char *id)
{
    run_record run;
    ledger_status st = runs_lease(l, owner, 60, 0, RUNS_LEASE_DECIDE, &run);
    snprintf(id, RUN_ID_LEN + 1, "%s", st == LEDGER_OK ? run.id : "");
    if (st == LEDGER_OK)
        run_record_clear(&run);
    return st;
}

static void test_decision_pending_until_recorded(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record plain = succeeded(l, "e0", "plain", MODEL, "1", NULL);
    run_record r = succeeded(l, "e1", "churn", MODEL, "2", RUN_DECISION_PENDING);
    assert_string_equal(plain.decision, "");
    assert_string_equal(r.decision, RUN_DECISION_PENDING);
    assert_null(r.decision_json);

    char got[RUN_ID_LEN + 1];
    assert_int_equal(lease_decide(l, "a", got), LEDGER_OK); /* due at once: the gate's turn */
    assert_string_equal(got, r.id);
    assert_int_equal(lease_decide(l, "b", got), LEDGER_ERR_NOT_FOUND); /* a's now; plain never */
    assert_int_equal(runs_checked(l, r.id, "a", 3600, 1), LEDGER_OK);
    assert_int_equal(lease_decide(l, "a", got), LEDGER_ERR_NOT_FOUND); /* on its backoff */

    /* Its notice waits for the decision (the plain run's is due at once). */
    run_record nr;
    assert_int_equal(runs_notice_lease(l, "n", 60, 0, &nr), LEDGER_OK);
    assert_string_equal(nr.id, plain.id);
    assert_int_equal(runs_noticed(l, nr.id, "n", true, 0, 0), LEDGER_OK);
    run_record_clear(&nr);
    assert_int_equal(runs_notice_lease(l, "n", 60, 0, &nr), LEDGER_ERR_NOT_FOUND);

    /* The intent, then the end; a second end and a step back are refused. */
    assert_int_equal(
        runs_decide(l, r.id, RUN_DECISION_PROMOTING, "{\"champion\":null}", ",pending,promoting,"),
        LEDGER_OK);
    assert_int_equal(runs_decide(l, r.id, RUN_DECISION_HELD, NULL, ",pending,"), LEDGER_ERR_STATE);
    assert_int_equal(
        runs_decide(l, r.id, RUN_DECISION_PROMOTED, "{\"reason\":\"wins\"}", ",pending,promoting,"),
        LEDGER_OK);
    assert_int_equal(runs_decide(l, r.id, RUN_DECISION_HELD, NULL, ",pending,promoting,"),
                     LEDGER_ERR_STATE);
    run_record now;
    assert_int_equal(runs_get(l, r.id, &now), LEDGER_OK);
    assert_string_equal(now.decision, RUN_DECISION_PROMOTED);
    assert_string_equal(now.decision_json, "{\"reason\":\"wins\"}");
    run_record_clear(&now);
    assert_int_equal(runs_notice_lease(l, "n", 60, 0, &nr), LEDGER_OK); /* decided: due */
    assert_string_equal(nr.id, r.id);
    run_record_clear(&nr);

    /* A later look saying "succeeded" again never overwrites a decision. */
    assert_int_equal(
        runs_update(l, r.id,
                    &(run_change){.state = RUN_SUCCEEDED, .decision = RUN_DECISION_PENDING}),
        LEDGER_OK);
    assert_int_equal(runs_get(l, r.id, &now), LEDGER_OK);
    assert_string_equal(now.decision, RUN_DECISION_PROMOTED);
    run_record_clear(&now);
    run_record held = succeeded(l, "e2", "churn", MODEL, "3", RUN_DECISION_PENDING);
    assert_int_equal(runs_decide(l, held.id, RUN_DECISION_HELD, "{}", ",pending,promoting,"),
                     LEDGER_OK);
    assert_int_equal(runs_decide(l, held.id, "maybe", "{}", ",pending,"), LEDGER_ERR_INVALID);
    assert_int_equal(runs_decide(l, "nope", RUN_DECISION_HELD, "{}", ",pending,"),
                     LEDGER_ERR_INVALID);

    decision_count counts[8];
    size_t n = 0;
    assert_int_equal(runs_decision_counts(l, counts, 8, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(counts[0].rule, "churn");
    assert_string_equal(counts[0].decision, RUN_DECISION_HELD);
    assert_int_equal(counts[0].count, 1);
    assert_string_equal(counts[1].decision, RUN_DECISION_PROMOTED);
    assert_int_equal(counts[1].count, 1);

    run_record_clear(&plain);
    run_record_clear(&r);
    run_record_clear(&held);
    ledger_close(l);
}

static void test_runs_listed_by_model(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record a = succeeded(l, "m1", "churn", MODEL, "1", NULL);
    run_record b = succeeded(l, "m2", "churn", MODEL "x", "1", NULL); /* another model */
    run_record c = succeeded(l, "m3", "churn", MODEL, "2", NULL);
    run_record got[4];
    size_t n = 0;
    run_query q = {.state = -1, .model = MODEL "@"};
    assert_int_equal(runs_list(l, &q, got, 4, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].id, a.id);
    assert_string_equal(got[1].id, c.id);
    for (size_t i = 0; i < n; i++)
        run_record_clear(&got[i]);
    run_record_clear(&a);
    run_record_clear(&b);
    run_record_clear(&c);
    ledger_close(l);
}

static void add(ledger *l, const char *model, const char *alias, const char *from, const char *to,
                bool has_value, double value, const char *by)
{
    alias_move m = {.model = (char *)model,
                    .alias = (char *)alias,
                    .from_version = (char *)from,
                    .to_version = (char *)to,
                    .metric = has_value ? "auRoc" : NULL,
                    .has_value = has_value,
                    .value = value,
                    .run_id = strcmp(by, ALIAS_BY_GATE) == 0 ? "0123456789abcdef01234567" : NULL,
                    .by = (char *)by,
                    .why = "because"};
    assert_int_equal(alias_moves_add(l, &m), LEDGER_OK);
}

static void test_alias_moves_are_an_audit(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    add(l, MODEL, "production", NULL, "1", true, 0.8, ALIAS_BY_GATE);
    add(l, MODEL, "production", "1", "2", true, 0.9, ALIAS_BY_GATE);
    add(l, MODEL, "shadow", NULL, "2", false, 0, ALIAS_BY_HAND);
    add(l, MODEL "x", "production", NULL, "7", true, 0.25, ALIAS_BY_GATE);
    add(l, MODEL, "production", "2", "1", true, 0.8, ALIAS_BY_ROLLBACK);

    alias_move m[8];
    size_t n = 0;
    assert_int_equal(
        alias_moves_list(l, &(alias_move_query){.model = MODEL, .alias = "production"}, m, 8, &n),
        LEDGER_OK);
    assert_int_equal(n, 3); /* newest first */
    assert_string_equal(m[0].by, ALIAS_BY_ROLLBACK);
    assert_string_equal(m[0].from_version, "2");
    assert_string_equal(m[0].to_version, "1");
    assert_null(m[0].run_id);
    assert_string_equal(m[2].to_version, "1");
    assert_null(m[2].from_version);
    assert_string_equal(m[2].run_id, "0123456789abcdef01234567");
    assert_true(m[2].has_value);
    assert_true(m[2].value > 0.79 && m[2].value < 0.81);
    assert_true(m[0].seq > m[1].seq && m[1].seq > m[2].seq);
    assert_true(m[0].at_ms > 0);
    for (size_t i = 0; i < n; i++)
        alias_move_clear(&m[i]);

    /* Who holds each alias now: one line per (model, alias). */
    assert_int_equal(alias_moves_list(l, &(alias_move_query){.latest = true}, m, 8, &n), LEDGER_OK);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].model, MODEL) == 0 && strcmp(m[i].alias, "production") == 0) {
            assert_string_equal(m[i].to_version, "1");
            seen |= 1;
        } else if (strcmp(m[i].alias, "shadow") == 0) {
            assert_false(m[i].has_value);
            assert_null(m[i].metric);
            seen |= 2;
        } else {
            assert_string_equal(m[i].model, MODEL "x");
            assert_string_equal(m[i].to_version, "7");
            seen |= 4;
        }
        alias_move_clear(&m[i]);
    }
    assert_int_equal(seen, 7);

    assert_int_equal(alias_moves_list(l, &(alias_move_query){.limit = 2}, m, 8, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    alias_move_clear(&m[0]);
    alias_move_clear(&m[1]);

    alias_move bad = {.model = MODEL, .alias = "production", .by = ALIAS_BY_HAND, .why = "x"};
    assert_int_equal(alias_moves_add(l, &bad), LEDGER_ERR_INVALID); /* moved to no version */
    ledger_close(l);
}

static test_store sqlite_store, pg_store;

static int sqlite_setup(void **state)
{
    (void)state;
    cur = &sqlite_store;
    return test_store_sqlite_setup(cur, "test_promotions");
}

static int sqlite_teardown(void **state)
{
    (void)state;
    return test_store_sqlite_teardown(&sqlite_store);
}

static int pg_setup(void **state)
{
    (void)state;
    cur = &pg_store;
    return test_store_pg_setup(cur, "promotions");
}

static int pg_teardown(void **state)
{
    (void)state;
    return test_store_pg_teardown(&pg_store);
}

int main(void)
{
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_decision_pending_until_recorded),
        cmocka_unit_test(test_runs_listed_by_model),
        cmocka_unit_test(test_alias_moves_are_an_audit),
    };
    int failed =
        cmocka_run_group_tests_name("promotions_sqlite", table, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("promotions_postgres", table, pg_setup, pg_teardown);
    return failed ? 1 : 0;
}
