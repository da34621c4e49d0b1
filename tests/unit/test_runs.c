/* Runs in the ledger (runs.h), one test table against both backends, as test_ledger.c does:
 * a run begins under an event's hold and the event names it, moves forward only, keeps Google's
 * error, lists and pages, and an existing ledger of the schema before runs is upgraded in
 * place. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/test_store.h"

#include "budget.h"
#include "ledger.h"
#include "runs.h"
#include "trace.h"

#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/test"

static test_store *cur;

static ledger *open_fresh(void)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(test_store_fresh(cur, "r%d/ledger.db"), &l, err) != LEDGER_OK)
        fail_msg("ledger_create: %s", err);
    return l;
}

/* Claims a new event ID and returns its hold. */
static ledger_hold claim(ledger *l, const char *id)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, id, key);
    ledger_event ev = {.source = SRC, .id = id, .type = "t"};
    ledger_claim_result res;
    ledger_record rec;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, &rec), LEDGER_OK);
    assert_int_equal(res, LEDGER_NEW);
    ledger_hold h = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    return h;
}

/* Takes event ID over after its holder released it (a redelivery reclaiming it). */
static ledger_hold claim_again(ledger *l, const char *id)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, id, key);
    ledger_event ev = {.source = SRC, .id = id, .type = "t"};
    ledger_claim_result res;
    ledger_record rec;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, &rec), LEDGER_OK);
    assert_int_equal(res, LEDGER_RECLAIMED);
    ledger_hold h = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    assert_true(h.attempt > 1);
    return h;
}

static char *run_of_event(ledger *l, const char *key)
{
    ledger_record rec;
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    static char id[RUN_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", rec.run_id ? rec.run_id : "");
    ledger_record_clear(&rec);
    return id;
}

static void test_begin_names_the_run(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_hold h = claim(l, "e1");
    run_record run;
    bool existed = true;
    assert_int_equal(runs_begin(l, &h, "churn", "custom_job", &run, &existed), LEDGER_OK);
    assert_false(existed);
    assert_int_equal(strlen(run.id), RUN_ID_LEN);
    assert_int_equal(run.state, RUN_QUEUED);
    assert_string_equal(run.rule, "churn");
    assert_string_equal(run.action, "custom_job");
    assert_null(run.resource);
    assert_int_equal(run.events, 1);
    assert_true(run.queued_ms > 0);
    assert_int_equal(run.submitted_ms, 0);
    assert_string_equal(run_of_event(l, h.key), run.id);

    /* The same hold again (a retry after a crash): the run it began, not a second one. */
    run_record again;
    assert_int_equal(runs_begin(l, &h, "churn", "custom_job", &again, &existed), LEDGER_OK);
    assert_true(existed);
    assert_string_equal(again.id, run.id);
    assert_int_equal(again.events, 1);
    char keys[4][LEDGER_KEY_HEX + 1];
    size_t n = 0;
    assert_int_equal(runs_events(l, run.id, keys, 4, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], h.key);

    /* A hold that no longer stands begins nothing. */
    ledger_hold stale = claim(l, "e2");
    stale.attempt++;
    run_record none;
    assert_int_equal(runs_begin(l, &stale, "churn", "custom_job", &none, &existed),
                     LEDGER_ERR_STATE);
    assert_string_equal(run_of_event(l, stale.key), "");
    assert_int_equal(runs_begin(l, &h, "", "custom_job", &none, &existed), LEDGER_ERR_INVALID);
    assert_null(run.trace); /* begun outside any trace */

    /* A run begun while a delivery's trace is current records it. */
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    trace_begin(tp, NULL);
    ledger_hold traced = claim(l, "e3");
    run_record t;
    assert_int_equal(runs_begin(l, &traced, "churn", "custom_job", &t, &existed), LEDGER_OK);
    trace_end();
    assert_string_equal(t.trace, tp);
    run_record_clear(&t);
    assert_int_equal(runs_get(l, run_of_event(l, traced.key), &t), LEDGER_OK);
    assert_string_equal(t.trace, tp);
    run_record_clear(&t);
    run_record_clear(&run);
    run_record_clear(&again);
    ledger_close(l);
}

/* An event coalesced into work already going joins its run; an event that began a run of its
 * own stays with it; a stale hold and an unknown run change nothing. */
static void test_join_folds_an_event_in(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_hold first = claim(l, "e1"), later = claim(l, "e2"), own = claim(l, "e3");
    run_record run, mine;
    bool existed, joined = false;
    assert_int_equal(runs_begin(l, &first, "churn", "custom_job", &run, &existed), LEDGER_OK);
    assert_int_equal(runs_join(l, &later, run.id, &joined), LEDGER_OK);
    assert_true(joined);
    assert_string_equal(run_of_event(l, later.key), run.id);
    assert_int_equal(runs_join(l, &later, run.id, &joined), LEDGER_OK); /* a retry: no change */
    assert_true(joined);
    char keys[4][LEDGER_KEY_HEX + 1];
    size_t n = 0;
    assert_int_equal(runs_events(l, run.id, keys, 4, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], first.key);
    assert_string_equal(keys[1], later.key);

    assert_int_equal(runs_begin(l, &own, "churn", "custom_job", &mine, &existed), LEDGER_OK);
    assert_int_equal(runs_join(l, &own, run.id, &joined), LEDGER_OK);
    assert_false(joined);
    assert_string_equal(run_of_event(l, own.key), mine.id);

    ledger_hold stale = claim(l, "e4");
    stale.attempt++;
    assert_int_equal(runs_join(l, &stale, run.id, &joined), LEDGER_ERR_STATE);
    assert_false(joined);
    assert_int_equal(runs_join(l, &later, "ffffffffffffffffffffffff", &joined),
                     LEDGER_ERR_NOT_FOUND);
    run_record got;
    assert_int_equal(runs_get(l, run.id, &got), LEDGER_OK);
    assert_int_equal(got.events, 2);
    run_record_clear(&got);
    run_record_clear(&run);
    run_record_clear(&mine);
    ledger_close(l);
}

static void change(ledger *l, const char *id, run_change ch, ledger_status want)
{
    assert_int_equal(runs_update(l, id, &ch), want);
}

static void test_states_move_forward_only(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_hold h = claim(l, "e1");
    run_record run;
    bool existed;
    assert_int_equal(runs_begin(l, &h, "churn", "train_and_register", &run, &existed), LEDGER_OK);
    const char *job = "projects/p/locations/l/trainingPipelines/7";
    change(l, run.id, (run_change){.state = RUN_SUBMITTED, .resource = job}, LEDGER_OK);
    change(l, run.id, (run_change){.state = RUN_RUNNING}, LEDGER_OK);
    change(l, run.id, (run_change){.state = RUN_RUNNING}, LEDGER_OK); /* a read saying so again */
    change(l, run.id, (run_change){.state = RUN_SUBMITTED}, LEDGER_ERR_STATE);
    change(l, run.id, (run_change){.state = RUN_QUEUED}, LEDGER_ERR_STATE);
    run_record mid;
    assert_int_equal(runs_get(l, run.id, &mid), LEDGER_OK);
    assert_int_equal(mid.state, RUN_RUNNING);
    assert_string_equal(mid.resource, job);
    assert_true(mid.submitted_ms >= run.queued_ms && mid.started_ms >= mid.submitted_ms);
    assert_int_equal(mid.ended_ms, 0);

    change(l, run.id, (run_change){.state = RUN_SUCCEEDED}, LEDGER_OK);
    run_record end;
    assert_int_equal(runs_get(l, run.id, &end), LEDGER_OK);
    /* Ended: the version read afterwards is filled in, the end time stays, no other end. */
    change(l, run.id,
           (run_change){.state = RUN_SUCCEEDED,
                        .model_version = "projects/p/locations/l/models/m@3",
                        .model_version_id = "3"},
           LEDGER_OK);
    change(l, run.id, (run_change){.state = RUN_FAILED, .error_code = 13}, LEDGER_ERR_STATE);
    change(l, run.id, (run_change){.state = RUN_CANCELLED}, LEDGER_ERR_STATE);
    change(l, run.id, (run_change){.state = RUN_RUNNING}, LEDGER_ERR_STATE);
    run_record last;
    assert_int_equal(runs_get(l, run.id, &last), LEDGER_OK);
    assert_int_equal(last.state, RUN_SUCCEEDED);
    assert_int_equal(last.ended_ms, end.ended_ms);
    assert_true(last.ended_ms >= mid.started_ms);
    assert_string_equal(last.model_version, "projects/p/locations/l/models/m@3");
    assert_string_equal(last.model_version_id, "3");
    assert_int_equal(last.error_code, 0);
    assert_null(last.error_message);
    assert_string_equal(last.resource, job);

    change(l, "0123456789abcdef01234567", (run_change){.state = RUN_RUNNING}, LEDGER_ERR_NOT_FOUND);
    change(l, "not-a-run", (run_change){.state = RUN_RUNNING}, LEDGER_ERR_INVALID);
    change(l, run.id, (run_change){.state = (run_state)42}, LEDGER_ERR_INVALID);
    run_record nothing;
    assert_int_equal(runs_get(l, "0123456789abcdef01234567", &nothing), LEDGER_ERR_NOT_FOUND);
    run_record_clear(&run);
    run_record_clear(&mid);
    run_record_clear(&end);
    run_record_clear(&last);
    ledger_close(l);
}

/* A failed run keeps Google's google.rpc.Status as given; a replay of the event begins a new
 * run, and the failed one still lists the event. */
static void test_failure_and_replay(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_hold h = claim(l, "e1");
    run_record first;
    bool existed;
    assert_int_equal(runs_begin(l, &h, "churn", "custom_job", &first, &existed), LEDGER_OK);
    const char *why = "Quota exceeded for aiplatform.googleapis.com/custom_model_training_cpus";
    change(l, first.id, (run_change){.state = RUN_FAILED, .error_code = 8, .error_message = why},
           LEDGER_OK);
    assert_int_equal(ledger_finish(l, &h, "failed", NULL, "quota"), LEDGER_OK);

    ledger_hold again;
    assert_int_equal(ledger_reopen(l, h.key, 60, &again), LEDGER_OK);
    assert_string_equal(run_of_event(l, h.key), "");
    run_record second;
    assert_int_equal(runs_begin(l, &again, "churn", "custom_job", &second, &existed), LEDGER_OK);
    assert_false(existed);
    assert_string_not_equal(second.id, first.id);
    assert_string_equal(run_of_event(l, h.key), second.id);

    run_record failed;
    assert_int_equal(runs_get(l, first.id, &failed), LEDGER_OK);
    assert_int_equal(failed.state, RUN_FAILED);
    assert_int_equal(failed.error_code, 8);
    assert_string_equal(failed.error_message, why);
    assert_int_equal(failed.events, 1);
    assert_true(failed.ended_ms > 0);
    run_record_clear(&first);
    run_record_clear(&second);
    run_record_clear(&failed);
    ledger_close(l);
}

static void test_list_filters_and_pages(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char ids[6][RUN_ID_LEN + 1];
    for (int i = 0; i < 6; i++) {
        char eid[16];
        snprintf(eid, sizeof eid, "e%d", i);
        ledger_hold h = claim(l, eid);
        run_record run;
        bool existed;
        assert_int_equal(runs_begin(l, &h, i % 2 ? "odd" : "even", "custom_job", &run, &existed),
                         LEDGER_OK);
        snprintf(ids[i], sizeof ids[i], "%s", run.id);
        run_record_clear(&run);
        if (i >= 4)
            change(l, ids[i], (run_change){.state = RUN_SUBMITTED, .resource = "r"}, LEDGER_OK);
        usleep(2000); /* queued_ms apart */
    }
    run_record got[8];
    size_t n;
    assert_int_equal(runs_list(l, &(run_query){.state = -1}, got, 8, &n), LEDGER_OK);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i].id, ids[i]); /* in the order they were queued */
        run_record_clear(&got[i]);
    }
    assert_int_equal(runs_list(l, &(run_query){.rule = "odd", .state = -1}, got, 8, &n), LEDGER_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i].rule, "odd");
        run_record_clear(&got[i]);
    }
    assert_int_equal(runs_list(l, &(run_query){.state = RUN_SUBMITTED}, got, 8, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].id, ids[4]);
    assert_string_equal(got[1].id, ids[5]);
    run_record_clear(&got[0]);
    run_record_clear(&got[1]);
    /* Pages of two, each after the last one seen. */
    const char *after = NULL;
    char last[RUN_ID_LEN + 1];
    int seen = 0;
    for (int page = 0; page < 4; page++) {
        assert_int_equal(
            runs_list(l, &(run_query){.state = -1, .limit = 2, .after_id = after}, got, 8, &n),
            LEDGER_OK);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(got[i].id, ids[seen++]);
            memcpy(last, got[i].id, sizeof last);
            run_record_clear(&got[i]);
        }
        after = last;
        if (n < 2)
            break;
    }
    assert_int_equal(seen, 6);
    assert_int_equal(runs_list(l, &(run_query){.state = 9}, got, 8, &n), LEDGER_ERR_INVALID);
    assert_int_equal(runs_list(l, &(run_query){.state = -1, .after_id = "x"}, got, 8, &n),
                     LEDGER_ERR_INVALID);
    ledger_close(l);
}

/* A ledger of the schema before runs, with an event in it, is upgraded in place when opened. */
static void exec_admin(const char *sql)
{
    PGresult *r = PQexec(cur->admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void test_upgrades_a_ledger_from_before_runs(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_hold h = claim(l, "old");
    assert_int_equal(ledger_finish(l, &h, "done", "{\"job\":\"j\"}", NULL), LEDGER_OK);
    ledger_close(l);
    /* Back to schema 2: no runs anywhere. */
    if (!cur->pg) {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(cur->sqlite_path, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(
                db,
                "DROP TABLE ledger_alias_moves;"
                "DROP TABLE ledger_run_events; DROP TABLE ledger_runs;"
                "DROP TABLE ledger_budgets;"
                "DROP INDEX ledger_events_run; ALTER TABLE ledger_events DROP COLUMN run_id;"
                "PRAGMA user_version = 2",
                NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
    } else {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SET search_path TO runs_t%d_%d; DROP TABLE ledger_alias_moves;"
                 " DROP TABLE ledger_run_events;"
                 " DROP TABLE ledger_runs; DROP TABLE ledger_budgets;"
                 " ALTER TABLE ledger_events DROP COLUMN run_id;"
                 " DELETE FROM ledger_schema WHERE version > 2; RESET search_path",
                 (int)getpid(), cur->stores);
        exec_admin(sql);
    }
    char err[LEDGER_ERR_MAX];
    assert_int_equal(ledger_open(cur->url, &l, err), LEDGER_OK);
    ledger_record rec;
    assert_int_equal(ledger_get(l, h.key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "done");
    assert_string_equal(rec.outcome, "{\"job\":\"j\"}");
    assert_null(rec.run_id);
    ledger_record_clear(&rec);
    ledger_hold nh = claim(l, "new");
    run_record run;
    bool existed;
    assert_int_equal(runs_begin(l, &nh, "churn", "custom_job", &run, &existed), LEDGER_OK);
    assert_string_equal(run_of_event(l, nh.key), run.id);
    run_record_clear(&run);
    ledger_close(l);
}

/* A submitted run with RESOURCE, begun by a new event ID. */
static run_record submitted_run(ledger *l, const char *id, const char *resource)
{
    ledger_hold h = claim(l, id);
    run_record run;
    bool existed;
    assert_int_equal(runs_begin(l, &h, "churn", "custom_job", &run, &existed), LEDGER_OK);
    if (resource)
        change(l, run.id, (run_change){.state = RUN_SUBMITTED, .resource = resource}, LEDGER_OK);
    return run;
}

static ledger_status lease(ledger *l, const char *owner, int lease_s, int first_s, char *id_out)
{
    run_record run;
    ledger_status st = runs_lease(l, owner, lease_s, first_s, RUNS_LEASE_ANY, &run);
    if (id_out)
        snprintf(id_out, RUN_ID_LEN + 1, "%s", st == LEDGER_OK ? run.id : "");
    run_record_clear(&run);
    return st;
}

/* One follower at a time: a run is due first_s after it was submitted, leased by one owner,
 * handed back with its next look, and taken over only once its lease ran out; a run with
 * nothing at Google yet or that has ended is never leased. */
static void test_follow_one_at_a_time(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record queued = submitted_run(l, "q", NULL);
    run_record r = submitted_run(l, "s", "projects/p/locations/l/customJobs/1");
    char got[RUN_ID_LEN + 1];
    assert_int_equal(lease(l, "a", 60, 3600, got), LEDGER_ERR_NOT_FOUND); /* not due yet */
    assert_int_equal(lease(l, "a", 60, 0, got), LEDGER_OK);
    assert_string_equal(got, r.id);
    assert_int_equal(lease(l, "b", 60, 0, got), LEDGER_ERR_NOT_FOUND); /* a's now */
    assert_int_equal(runs_checked(l, r.id, "b", 0, 1), LEDGER_ERR_STATE);
    assert_int_equal(runs_checked(l, r.id, "a", 3600, 2), LEDGER_OK);
    run_record back;
    assert_int_equal(runs_get(l, r.id, &back), LEDGER_OK);
    assert_int_equal(back.checks, 2);
    assert_true(back.next_check_ms >= back.submitted_ms + 3600 * 1000);
    run_record_clear(&back);
    assert_int_equal(lease(l, "b", 60, 0, got), LEDGER_ERR_NOT_FOUND);    /* next look in an hour */
    assert_int_equal(runs_checked(l, r.id, "a", 0, 0), LEDGER_ERR_STATE); /* given back */

    /* A lease that runs out is taken over, and its old owner's record is refused. */
    run_record r2 = submitted_run(l, "t", "projects/p/locations/l/trainingPipelines/2");
    assert_int_equal(lease(l, "a", 1, 0, got), LEDGER_OK);
    assert_string_equal(got, r2.id);
    usleep(1100 * 1000);
    assert_int_equal(lease(l, "b", 60, 0, got), LEDGER_OK);
    assert_string_equal(got, r2.id);
    assert_int_equal(runs_checked(l, r2.id, "a", 0, 1), LEDGER_ERR_STATE);
    assert_int_equal(runs_checked(l, r2.id, "b", 0, 1), LEDGER_OK);

    /* Ended: never looked at again. */
    change(l, r2.id, (run_change){.state = RUN_SUCCEEDED}, LEDGER_OK);
    assert_int_equal(lease(l, "a", 60, 0, got), LEDGER_ERR_NOT_FOUND);

    assert_int_equal(lease(l, "", 60, 0, got), LEDGER_ERR_INVALID);
    assert_int_equal(lease(l, "a", 0, 0, got), LEDGER_ERR_INVALID);
    assert_int_equal(runs_checked(l, "not-a-run", "a", 0, 0), LEDGER_ERR_INVALID);
    run_record_clear(&queued);
    run_record_clear(&r);
    run_record_clear(&r2);
    ledger_close(l);
}

/* Events that arrive while their rule's run is going join one follow-up, which waits for that
 * run to end; the follower's lease seals it, and a later event starts the next one. */
static void test_follow_up_collects_until_sealed(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record a = submitted_run(l, "a", "projects/p/locations/l/customJobs/1");
    char f[RUN_ID_LEN + 1] = "", id[RUN_ID_LEN + 1];
    ledger_hold first = {0};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        ledger_hold h = claim(l, name);
        if (i == 0)
            first = h;
        bool joined = false;
        assert_int_equal(runs_follow_up(l, &h, "churn", "custom_job", a.id, id, &joined),
                         LEDGER_OK);
        assert_true(joined);
        if (i == 0)
            snprintf(f, sizeof f, "%s", id);
        assert_string_equal(id, f);
        assert_string_equal(run_of_event(l, h.key), f);
        /* Again (a redelivery): still one entry. */
        assert_int_equal(runs_follow_up(l, &h, "churn", "custom_job", a.id, id, &joined),
                         LEDGER_OK);
        assert_string_equal(id, f);
    }
    run_record fr;
    assert_int_equal(runs_get(l, f, &fr), LEDGER_OK);
    assert_int_equal(fr.state, RUN_QUEUED);
    assert_int_equal(fr.events, 3);
    assert_string_equal(fr.after_run, a.id);
    assert_string_not_equal(f, a.id);
    run_record_clear(&fr);

    /* The first follow-up made a due for a look now (its end matters sooner); not f, a is
     * going. */
    char got[RUN_ID_LEN + 1];
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_OK);
    assert_string_equal(got, a.id);
    assert_int_equal(runs_checked(l, a.id, "x", 3600, 1), LEDGER_OK);
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_ERR_NOT_FOUND);
    change(l, a.id, (run_change){.state = RUN_SUCCEEDED}, LEDGER_OK);
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_OK);
    assert_string_equal(got, f); /* due as soon as a ended */
    /* Sealed: one of its events delivered again (its worker died before recording it, and the
     * claim is taken over) stays in it, never in the next follow-up as well. */
    assert_int_equal(ledger_release(l, &first, "died"), LEDGER_OK);
    ledger_hold again = claim_again(l, "f0");
    bool joined_again = false;
    assert_int_equal(runs_follow_up(l, &again, "churn", "custom_job", a.id, id, &joined_again),
                     LEDGER_OK);
    assert_string_equal(id, f);
    assert_int_equal(runs_get(l, f, &fr), LEDGER_OK);
    assert_int_equal(fr.events, 3);
    run_record_clear(&fr);

    /* Sealed: a later event starts the next follow-up, after this one. */
    ledger_hold late = claim(l, "late");
    bool joined = false;
    assert_int_equal(runs_follow_up(l, &late, "churn", "custom_job", f, id, &joined), LEDGER_OK);
    assert_true(joined);
    assert_string_not_equal(id, f);
    assert_int_equal(runs_get(l, f, &fr), LEDGER_OK);
    assert_int_equal(fr.events, 3);
    run_record_clear(&fr);
    assert_int_equal(runs_get(l, id, &fr), LEDGER_OK);
    assert_string_equal(fr.after_run, f);
    assert_int_equal(fr.events, 1);
    run_record_clear(&fr);
    /* The next one waits for f, which x still holds queued. */
    assert_int_equal(lease(l, "y", 60, 3600, got), LEDGER_ERR_NOT_FOUND);

    /* Counted for the metrics: queued runs with the events they cover, ended ones by how long
     * they took from their first event (a moment here: within the first bucket). */
    run_count counts[8];
    size_t n = 0;
    assert_int_equal(runs_count(l, counts, 8, &n), LEDGER_OK);
    int64_t queued_events = -1, quick = -1, ended = -1;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(counts[i].rule, "churn");
        if (counts[i].state == RUN_QUEUED)
            queued_events = counts[i].queued_events;
        if (counts[i].state == RUN_SUCCEEDED) {
            quick = counts[i].within[0];
            ended = counts[i].count;
            assert_true(counts[i].duration_ms_sum < 60000);
        }
    }
    assert_int_equal(queued_events, 4); /* f's 3 and the next one's 1 */
    assert_int_equal(ended, 1);
    assert_int_equal(quick, 1);

    assert_int_equal(runs_follow_up(l, &late, "churn", "custom_job", "nope", id, &joined),
                     LEDGER_ERR_INVALID);
    run_record_clear(&a);
    ledger_close(l);
}

/* Joins event NAME to batch KEY under TERMS; returns its batch in ID, *SIZE and *CLOSED. */
static ledger_hold batch_join(ledger *l, const char *name, runs_batch_terms t, char *id, int *size,
                              bool *closed)
{
    ledger_hold h = claim(l, name);
    assert_int_equal(runs_batch_join(l, &h, &t, id, size, closed), LEDGER_OK);
    assert_string_equal(run_of_event(l, h.key), id);
    return h;
}

static void test_batch_fills_to_min_events(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    runs_batch_terms t = {.rule = "shards", .action = "train", .key = "shards", .min_events = 3};
    char ids[7][RUN_ID_LEN + 1];
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        int size = 0;
        bool closed = true;
        ledger_hold h = batch_join(l, name, t, ids[i], &size, &closed);
        assert_int_equal(size, i % 3 + 1);
        assert_int_equal(closed, i % 3 == 2); /* the third closes its batch */
        if (i % 3)
            assert_string_equal(ids[i], ids[i - 1]);
        else if (i)
            assert_string_not_equal(ids[i], ids[i - 1]);
        /* Delivered again after its worker died (the claim taken over): the batch it is in,
         * counted once, even when that batch is closed. */
        assert_int_equal(ledger_release(l, &h, "died"), LEDGER_OK);
        ledger_hold re = claim_again(l, name);
        char again[RUN_ID_LEN + 1];
        assert_int_equal(runs_batch_join(l, &re, &t, again, &size, &closed), LEDGER_OK);
        assert_string_equal(again, ids[i]);
        assert_int_equal(size, i % 3 + 1);
    }
    run_record r;
    assert_int_equal(runs_get(l, ids[0], &r), LEDGER_OK);
    assert_int_equal(r.events, 3);
    assert_false(r.collecting);
    assert_string_equal(r.batch_key, "shards");
    assert_string_equal(r.batch_closed, RUN_BATCH_MIN_EVENTS);
    assert_true(r.closed_ms > 0 && r.next_check_ms == r.closed_ms);
    run_record_clear(&r);
    assert_int_equal(runs_get(l, ids[6], &r), LEDGER_OK);
    assert_true(r.collecting);
    assert_int_equal(r.next_check_ms, 0); /* no timed condition: due only when full */
    run_record_clear(&r);

    /* The follower takes the full ones (both due since they closed, maybe in the same
     * millisecond: in either order); the open one is not due. */
    char got[RUN_ID_LEN + 1], got2[RUN_ID_LEN + 1];
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_OK);
    assert_int_equal(lease(l, "x", 60, 3600, got2), LEDGER_OK);
    bool in_order = strcmp(got, ids[0]) == 0 && strcmp(got2, ids[3]) == 0;
    bool swapped = strcmp(got, ids[3]) == 0 && strcmp(got2, ids[0]) == 0;
    assert_true(in_order || swapped);
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_ERR_NOT_FOUND);

    /* Listed while not submitted: all three; counted for the metrics apart from queued runs. */
    run_record list[8];
    size_t n = 0;
    assert_int_equal(runs_list(l, &(run_query){.state = -1, .open_batches = true}, list, 8, &n),
                     LEDGER_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        run_record_clear(&list[i]);
    change(l, ids[0], (run_change){.state = RUN_SUBMITTED, .resource = "j"}, LEDGER_OK);
    assert_int_equal(runs_list(l, &(run_query){.state = -1, .open_batches = true}, list, 8, &n),
                     LEDGER_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        run_record_clear(&list[i]);
    run_count counts[8];
    assert_int_equal(runs_count(l, counts, 8, &n), LEDGER_OK);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        if (counts[i].state == RUN_QUEUED) {
            seen = true;
            assert_int_equal(counts[i].batches, 2);
            assert_int_equal(counts[i].batch_events, 4);
            assert_int_equal(counts[i].queued_events, 0);
            assert_true(counts[i].oldest_batch_ms > 0);
        }
    assert_true(seen);
    ledger_close(l);
}

static void test_batch_keys_and_marker(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    runs_batch_terms a = {.rule = "ds", .action = "train", .key = "ds/a", .max_wait_s = 3600};
    runs_batch_terms b = a;
    b.key = "ds/b";
    char ia[RUN_ID_LEN + 1], ib[RUN_ID_LEN + 1], id[RUN_ID_LEN + 1];
    int size;
    bool closed;
    batch_join(l, "a1", a, ia, &size, &closed);
    batch_join(l, "b1", b, ib, &size, &closed);
    assert_string_not_equal(ia, ib);
    batch_join(l, "a2", a, id, &size, &closed);
    assert_string_equal(id, ia);
    assert_int_equal(size, 2);
    assert_false(closed);
    /* The marker closes its own key's batch, and is in it. */
    a.closes = true;
    batch_join(l, "a-done", a, id, &size, &closed);
    assert_string_equal(id, ia);
    assert_int_equal(size, 3);
    assert_true(closed);
    run_record r;
    assert_int_equal(runs_get(l, ia, &r), LEDGER_OK);
    assert_string_equal(r.batch_closed, RUN_BATCH_MARKER);
    run_record_clear(&r);
    assert_int_equal(runs_get(l, ib, &r), LEDGER_OK);
    assert_true(r.collecting);
    /* Due at its deadline: an hour after its first event. */
    assert_true(r.next_check_ms >= r.queued_ms + 3600 * 1000 - 1 &&
                r.next_check_ms <= r.queued_ms + 3600 * 1000 + 1);
    run_record_clear(&r);
    /* A shard after the marker opens the next batch of its key. */
    a.closes = false;
    batch_join(l, "a3", a, id, &size, &closed);
    assert_string_not_equal(id, ia);
    assert_int_equal(size, 1);
    /* A cancelled open batch takes no more events. */
    change(l, id, (run_change){.state = RUN_CANCELLED}, LEDGER_OK);
    char next[RUN_ID_LEN + 1];
    batch_join(l, "a4", a, next, &size, &closed);
    assert_string_not_equal(next, id);
    ledger_close(l);
}

static void test_batch_quiet_period_and_seal(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    runs_batch_terms t = {
        .rule = "q", .action = "train", .key = "q", .quiet_period_s = 1, .max_wait_s = 60};
    char id[RUN_ID_LEN + 1], id2[RUN_ID_LEN + 1], got[RUN_ID_LEN + 1];
    int size;
    bool closed;
    batch_join(l, "q1", t, id, &size, &closed);
    batch_join(l, "q2", t, id2, &size, &closed);
    assert_string_equal(id, id2);
    run_record r;
    assert_int_equal(runs_get(l, id, &r), LEDGER_OK);
    assert_true(r.next_check_ms >= r.last_event_ms + 1000 - 1 &&
                r.next_check_ms <= r.last_event_ms + 1000 + 1);
    assert_string_equal(r.batch_closed, "");
    run_record_clear(&r);
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_ERR_NOT_FOUND); /* not quiet yet */
    usleep(1100 * 1000);
    assert_int_equal(lease(l, "x", 60, 3600, got), LEDGER_OK);
    assert_string_equal(got, id);
    /* Sealed by the lease: the next event opens another batch. */
    batch_join(l, "q3", t, id2, &size, &closed);
    assert_string_not_equal(id2, id);
    assert_int_equal(size, 1);
    assert_int_equal(runs_batch_closed(l, id, RUN_BATCH_QUIET, 1234), LEDGER_OK);
    assert_int_equal(runs_batch_closed(l, id, RUN_BATCH_MAX_WAIT, 99), LEDGER_OK); /* kept */
    assert_int_equal(runs_get(l, id, &r), LEDGER_OK);
    assert_false(r.collecting);
    assert_int_equal(r.events, 2);
    assert_string_equal(r.batch_closed, RUN_BATCH_QUIET);
    assert_int_equal(r.closed_ms, 1234);
    run_record_clear(&r);
    ledger_close(l);
}

static void test_batch_expired_events_replay(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    runs_batch_terms t = {.rule = "x", .action = "train", .key = "x", .max_wait_s = 60};
    char id[RUN_ID_LEN + 1], again[RUN_ID_LEN + 1];
    int size;
    bool closed;
    ledger_hold h = batch_join(l, "x1", t, id, &size, &closed);
    char outcome[128];
    snprintf(outcome, sizeof outcome, "{\"status\":\"batched\",\"run\":\"%s\"}", id);
    assert_int_equal(ledger_finish(l, &h, "done", outcome, NULL), LEDGER_OK);
    int64_t n = 0;
    assert_int_equal(runs_expire_events(l, id, "batch x expired", &n), LEDGER_OK);
    assert_int_equal(n, 1);
    change(l, id, (run_change){.state = RUN_CANCELLED, .error_code = 4}, LEDGER_OK);
    ledger_record rec;
    assert_int_equal(ledger_get(l, h.key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "expired");
    assert_true(ledger_status_replayable(rec.status));
    assert_true(ledger_status_replayable("failed"));
    assert_false(ledger_status_replayable("done"));
    assert_false(ledger_status_replayable(NULL));
    assert_string_equal(rec.last_error, "batch x expired");
    ledger_record_clear(&rec);
    ledger_record recs[4];
    size_t got = 0;
    assert_int_equal(ledger_list(l, &(ledger_query){.status = "expired"}, recs, 4, &got),
                     LEDGER_OK);
    assert_int_equal(got, 1);
    ledger_record_clear(&recs[0]);
    /* Replayed: reopened as a failed event is, and it joins a new batch, not the expired one. */
    ledger_hold re;
    assert_int_equal(ledger_reopen(l, h.key, 60, &re), LEDGER_OK);
    assert_int_equal(runs_batch_join(l, &re, &t, again, &size, &closed), LEDGER_OK);
    assert_string_not_equal(again, id);
    assert_int_equal(size, 1);
    /* Bad terms are refused. */
    runs_batch_terms bad = t;
    bad.key = NULL;
    assert_int_equal(runs_batch_join(l, &re, &bad, again, &size, &closed), LEDGER_ERR_INVALID);
    bad = t;
    bad.min_events = -1;
    assert_int_equal(runs_batch_join(l, &re, &bad, again, &size, &closed), LEDGER_ERR_INVALID);
    ledger_close(l);
}

/* A queued run is the request path's until it is handed to the follower (runs_queue). */
static void test_queue_hands_a_run_to_the_follower(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record q = submitted_run(l, "q", NULL);
    char got[RUN_ID_LEN + 1];
    assert_int_equal(lease(l, "x", 60, 0, got), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(runs_queue(l, q.id, 3600), LEDGER_OK);
    assert_int_equal(lease(l, "x", 60, 0, got), LEDGER_ERR_NOT_FOUND); /* in an hour */
    assert_int_equal(runs_queue(l, q.id, 0), LEDGER_OK);
    /* An open run due longer than the queued one: the queued run goes first, unless the caller
     * asks for looks only (its create budget is spent). */
    run_record o = submitted_run(l, "o", "projects/p/locations/l/customJobs/3");
    run_record lr;
    assert_int_equal(runs_lease(l, "x", 60, 0, RUNS_LEASE_LOOKS, &lr), LEDGER_OK);
    assert_string_equal(lr.id, o.id);
    run_record_clear(&lr);
    assert_int_equal(runs_lease(l, "x", 60, 0, RUNS_LEASE_LOOKS, &lr), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(runs_lease(l, "x", 60, 0, 0, &lr), LEDGER_ERR_INVALID);
    assert_int_equal(runs_lease(l, "x", 60, 0, RUNS_LEASE_QUEUED, &lr), LEDGER_OK);
    assert_string_equal(lr.id, q.id);
    run_record_clear(&lr);
    assert_int_equal(runs_checked(l, q.id, "x", 0, 0), LEDGER_OK);
    assert_int_equal(runs_checked(l, o.id, "x", 0, 0), LEDGER_OK);
    assert_int_equal(lease(l, "x", 60, 0, got), LEDGER_OK);
    assert_string_equal(got, q.id);
    run_record_clear(&o);
    change(l, q.id, (run_change){.state = RUN_SUBMITTED, .resource = "projects/p/customJobs/9"},
           LEDGER_OK);
    assert_int_equal(runs_queue(l, q.id, 0), LEDGER_ERR_STATE);
    assert_int_equal(runs_queue(l, "bad", 0), LEDGER_ERR_INVALID);
    run_record_clear(&q);
    ledger_close(l);
}

/* A run that ends has its notice pending until one is taken; a failed one waits its delay. */
static void test_notice_pending_until_taken(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record r = submitted_run(l, "n", "projects/p/locations/l/customJobs/5");
    run_record got;
    assert_int_equal(runs_notice_lease(l, "x", 60, 0, &got), LEDGER_ERR_NOT_FOUND); /* going */
    change(l, r.id, (run_change){.state = RUN_FAILED, .error_code = 13, .error_message = "boom"},
           LEDGER_OK);
    assert_int_equal(runs_notice_lease(l, "x", 60, 0, &got), LEDGER_OK);
    assert_string_equal(got.id, r.id);
    assert_int_equal(got.notify_state, RUN_NOTICE_PENDING);
    assert_int_equal(got.notify_tries, 0);
    run_record_clear(&got);
    assert_int_equal(runs_notice_lease(l, "y", 60, 0, &got), LEDGER_ERR_NOT_FOUND); /* x's */
    assert_int_equal(runs_noticed(l, r.id, "y", true, 0, 0), LEDGER_ERR_STATE);
    assert_int_equal(runs_noticed(l, r.id, "x", false, 1, 3600), LEDGER_OK);
    assert_int_equal(runs_notice_lease(l, "x", 60, 0, &got), LEDGER_ERR_NOT_FOUND); /* later */
    /* An end older than SINCE is not announced. */
    assert_int_equal(runs_noticed(l, r.id, "x", false, 1, 0), LEDGER_ERR_STATE);
    run_record again = submitted_run(l, "n2", "projects/p/locations/l/customJobs/6");
    change(l, again.id, (run_change){.state = RUN_SUCCEEDED}, LEDGER_OK);
    assert_int_equal(runs_notice_lease(l, "x", 60, INT64_MAX / 2, &got), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(runs_notice_lease(l, "x", 60, 0, &got), LEDGER_OK);
    assert_string_equal(got.id, again.id);
    run_record_clear(&got);
    assert_int_equal(runs_noticed(l, again.id, "x", true, 0, 0), LEDGER_OK);
    assert_int_equal(runs_get(l, again.id, &got), LEDGER_OK);
    assert_int_equal(got.notify_state, RUN_NOTICE_SENT);
    run_record_clear(&got);
    /* A change after the end (a model version read late) does not announce it again. */
    change(l, again.id, (run_change){.state = RUN_SUCCEEDED, .model_version = "m@1"}, LEDGER_OK);
    assert_int_equal(runs_notice_lease(l, "x", 60, 0, &got), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(runs_notice_lease(l, "", 60, 0, &got), LEDGER_ERR_INVALID);
    run_record_clear(&r);
    run_record_clear(&again);
    ledger_close(l);
}

/* gc collects the runs that ended before its cutoff with their lists of events; open ones stay. */
static void test_gc_collects_ended_runs(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record done = submitted_run(l, "g1", "projects/p/locations/l/customJobs/8");
    run_record open = submitted_run(l, "g2", "projects/p/locations/l/customJobs/9");
    change(l, done.id, (run_change){.state = RUN_SUCCEEDED}, LEDGER_OK);
    int64_t removed = -1;
    assert_int_equal(ledger_gc(l, 3600, &removed), LEDGER_OK); /* ended just now: kept */
    run_record got;
    assert_int_equal(runs_get(l, done.id, &got), LEDGER_OK);
    run_record_clear(&got);
    usleep(20 * 1000);
    assert_int_equal(ledger_gc(l, 0, &removed), LEDGER_OK);
    assert_int_equal(runs_get(l, done.id, &got), LEDGER_ERR_NOT_FOUND);
    char keys[2][LEDGER_KEY_HEX + 1];
    size_t n = 9;
    assert_int_equal(runs_events(l, done.id, keys, 2, &n), LEDGER_OK);
    assert_int_equal(n, 0);
    assert_int_equal(runs_get(l, open.id, &got), LEDGER_OK);
    assert_int_equal(got.events, 1);
    run_record_clear(&got);
    run_record_clear(&done);
    run_record_clear(&open);
    ledger_close(l);
}

/* Google's start and end times are kept once, over the store's clock; without them the store's
 * clock marks running and the end. */
static void test_times_from_google(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    run_record r = submitted_run(l, "t1", "projects/p/locations/l/customJobs/11");
    change(l, r.id,
           (run_change){.state = RUN_SUCCEEDED, .started_ms = 1000000, .ended_ms = 2000000},
           LEDGER_OK);
    run_record got;
    assert_int_equal(runs_get(l, r.id, &got), LEDGER_OK);
    assert_int_equal(got.started_ms, 1000000); /* first seen ended: still has its start */
    assert_int_equal(got.ended_ms, 2000000);
    run_record_clear(&got);
    change(l, r.id, (run_change){.state = RUN_SUCCEEDED, .ended_ms = 3000000}, LEDGER_OK);
    assert_int_equal(runs_get(l, r.id, &got), LEDGER_OK);
    assert_int_equal(got.ended_ms, 2000000); /* set once */
    run_record_clear(&got);
    run_record s = submitted_run(l, "t2", "projects/p/locations/l/customJobs/12");
    change(l, s.id, (run_change){.state = RUN_RUNNING}, LEDGER_OK);
    assert_int_equal(runs_get(l, s.id, &got), LEDGER_OK);
    assert_true(got.started_ms >= got.submitted_ms); /* the store's clock */
    run_record_clear(&got);
    run_record_clear(&r);
    run_record_clear(&s);
    ledger_close(l);
}

/* A budget of 120 a minute lets a burst of 10 through and then refuses; each name has its own. */
static void test_budget_refuses_past_its_burst(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    int granted = 0;
    for (int i = 0; i < 30; i++) {
        bool ok;
        assert_int_equal(budget_take(l, "vertex.reads/p/l", 120, &ok), LEDGER_OK);
        granted += ok;
    }
    /* 10 at once, and at most one more refilled while the loop ran (one every 500 ms). */
    assert_in_range(granted, 10, 11);
    bool ok;
    assert_int_equal(budget_take(l, "vertex.reads/p/other", 120, &ok), LEDGER_OK);
    assert_true(ok);
    usleep(600 * 1000);
    assert_int_equal(budget_take(l, "vertex.reads/p/l", 120, &ok), LEDGER_OK);
    assert_true(ok); /* refilled */
    assert_int_equal(budget_take(l, "", 120, &ok), LEDGER_ERR_INVALID);
    assert_int_equal(budget_take(l, "x", 0, &ok), LEDGER_ERR_INVALID);
    assert_int_equal(budget_wait_ms(120), 500);
    assert_int_equal(budget_wait_ms(600000), 10);
    ledger_close(l);
}

static test_store sqlite_store, pg_store;

static int sqlite_setup(void **state)
{
    (void)state;
    cur = &sqlite_store;
    return test_store_sqlite_setup(cur, "test_runs");
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
    return test_store_pg_setup(cur, "runs");
}

static int pg_teardown(void **state)
{
    (void)state;
    return test_store_pg_teardown(&pg_store);
}

int main(void)
{
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_begin_names_the_run),
        cmocka_unit_test(test_join_folds_an_event_in),
        cmocka_unit_test(test_states_move_forward_only),
        cmocka_unit_test(test_failure_and_replay),
        cmocka_unit_test(test_list_filters_and_pages),
        cmocka_unit_test(test_upgrades_a_ledger_from_before_runs),
        cmocka_unit_test(test_follow_one_at_a_time),
        cmocka_unit_test(test_budget_refuses_past_its_burst),
        cmocka_unit_test(test_follow_up_collects_until_sealed),
        cmocka_unit_test(test_queue_hands_a_run_to_the_follower),
        cmocka_unit_test(test_batch_fills_to_min_events),
        cmocka_unit_test(test_batch_keys_and_marker),
        cmocka_unit_test(test_batch_quiet_period_and_seal),
        cmocka_unit_test(test_batch_expired_events_replay),
        cmocka_unit_test(test_notice_pending_until_taken),
        cmocka_unit_test(test_gc_collects_ended_runs),
        cmocka_unit_test(test_times_from_google),
    };
    int failed = cmocka_run_group_tests_name("runs_sqlite", table, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("runs_postgres", table, pg_setup, pg_teardown);
    return failed ? 1 : 0;
}
