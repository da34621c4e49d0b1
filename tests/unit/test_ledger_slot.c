/* The ledger's rule slots (burst control), one test table run against both backends: SQLite in
 * a temp dir and PostgreSQL at $RETRAIN_TEST_PG_URL (tests/run-unit.sh starts one). Each test
 * gets a fresh store: its own SQLite file, or its own PostgreSQL schema. Without
 * RETRAIN_TEST_PG_URL the PostgreSQL group fails rather than skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/test_store.h"

#include "ledger.h"

#include <errno.h>
#include <ftw.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/test"
#define RACE_PROCS 8
#define RACE_EVENTS 50 /* per process: 400 events asking for one rule's slot at once */

typedef test_store backend;

static backend *cur;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static ledger *open_url(const char *url, bool create)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if ((create ? ledger_create : ledger_open)(url, &l, err) != LEDGER_OK)
        fail_msg("ledger_open: %s", err);
    return l;
}

/* A ledger on a store nobody else uses. */
static ledger *open_fresh(void)
{
    return open_url(test_store_fresh(cur, "s%d.db"), true);
}

static const char *key(int i)
{
    static char keys[4][LEDGER_KEY_HEX + 1];
    static int next;
    char id[32];
    snprintf(id, sizeof id, "ev-%d", i);
    char *k = keys[next++ % 4];
    ledger_key(SRC, id, k);
    return k;
}

/* Asks for RULE's slot and fails the test on an error status. */
static ledger_slot_result take(ledger *l, const char *rule, int interval, const char *k,
                               const char *replace, ledger_slot *slot)
{
    ledger_slot_result res = LEDGER_SLOT_HELD;
    ledger_status st = ledger_rule_slot(l, rule, interval, k, replace, &res, slot);
    if (st != LEDGER_OK)
        fail_msg("rule slot: %s: %s", ledger_status_name(st), ledger_last_error(l));
    return res;
}

/* ---- transitions -------------------------------------------------------------------------- */

static void test_take_hold_and_resource(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char a[LEDGER_KEY_HEX + 1], b[LEDGER_KEY_HEX + 1];
    snprintf(a, sizeof a, "%s", key(1));
    snprintf(b, sizeof b, "%s", key(2));
    ledger_slot s;

    assert_int_equal(ledger_rule_slot_get(l, "churn", &s), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(take(l, "churn", 600, a, NULL, &s), LEDGER_SLOT_TAKEN);
    assert_string_equal(s.event_key, a);
    assert_null(s.resource);
    assert_true(s.age_ms >= 0 && s.age_ms < 1000);
    int64_t taken_at = s.submitted_ms;
    ledger_slot_clear(&s);

    /* Another event within the interval: held by A, which has not named its job yet. */
    assert_int_equal(take(l, "churn", 600, b, NULL, &s), LEDGER_SLOT_HELD);
    assert_string_equal(s.event_key, a);
    assert_null(s.resource);
    ledger_slot_clear(&s);

    /* Only the holder names the resource. */
    assert_int_equal(ledger_rule_slot_set_resource(l, "churn", b, "projects/p/x/1"),
                     LEDGER_ERR_STATE);
    sleep_ms(20);
    assert_int_equal(ledger_rule_slot_set_resource(l, "churn", a, "projects/p/customJobs/1"),
                     LEDGER_OK);
    assert_int_equal(take(l, "churn", 600, b, NULL, &s), LEDGER_SLOT_HELD);
    assert_string_equal(s.event_key, a);
    assert_string_equal(s.resource, "projects/p/customJobs/1");
    assert_true(s.submitted_ms >= taken_at + 20); /* the clock restarts when the work exists */
    taken_at = s.submitted_ms;
    ledger_slot_clear(&s);

    /* The holder's own retry takes it again and keeps its clock and resource. */
    assert_int_equal(take(l, "churn", 600, a, NULL, &s), LEDGER_SLOT_TAKEN);
    assert_string_equal(s.resource, "projects/p/customJobs/1");
    assert_int_equal(s.submitted_ms, taken_at);
    ledger_slot_clear(&s);

    /* Slots are per rule. */
    assert_int_equal(take(l, "fraud", 600, b, NULL, NULL), LEDGER_SLOT_TAKEN);
    ledger_close(l);
}

/* ledger_slot_in: slots in the request's arena, one per call, whose resource strings the reset
 * releases (under ASan a leak fails the test). */
static void test_slots_in_an_arena(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    arena *ar = arena_new(512);
    char a[LEDGER_KEY_HEX + 1], b[LEDGER_KEY_HEX + 1];
    snprintf(a, sizeof a, "%s", key(3));
    snprintf(b, sizeof b, "%s", key(4));
    assert_int_equal(take(l, "arena", 600, a, NULL, NULL), LEDGER_SLOT_TAKEN);
    assert_int_equal(ledger_rule_slot_set_resource(l, "arena", a, "projects/p/customJobs/3"),
                     LEDGER_OK);
    for (int round = 0; round < 3; round++) {
        ledger_slot *s = ledger_slot_in(ar);
        assert_non_null(s);
        assert_int_equal(take(l, "arena", 600, b, NULL, s), LEDGER_SLOT_HELD);
        assert_string_equal(s->resource, "projects/p/customJobs/3");
        ledger_slot *g = ledger_slot_in(ar);
        assert_int_equal(ledger_rule_slot_get(l, "arena", g), LEDGER_OK);
        assert_string_equal(g->event_key, a);
        arena_reset(ar);
    }
    arena_free(ar);
    ledger_close(l);
}

static void test_interval_replace_and_free(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char a[LEDGER_KEY_HEX + 1], b[LEDGER_KEY_HEX + 1], c[LEDGER_KEY_HEX + 1];
    snprintf(a, sizeof a, "%s", key(1));
    snprintf(b, sizeof b, "%s", key(2));
    snprintf(c, sizeof c, "%s", key(3));
    ledger_slot s;

    assert_int_equal(take(l, "r", 1, a, NULL, NULL), LEDGER_SLOT_TAKEN);
    sleep_ms(600);
    assert_int_equal(ledger_rule_slot_set_resource(l, "r", a, "job-a"), LEDGER_OK);
    sleep_ms(600); /* 1.2 s after the take, 0.6 s after the work existed: still held */
    assert_int_equal(take(l, "r", 1, b, NULL, NULL), LEDGER_SLOT_HELD);
    sleep_ms(500);
    /* The interval has passed: B takes it, and A's job is no longer named. */
    assert_int_equal(take(l, "r", 1, b, NULL, &s), LEDGER_SLOT_TAKEN);
    assert_string_equal(s.event_key, b);
    assert_null(s.resource);
    ledger_slot_clear(&s);

    /* REPLACE takes it from the named holder only (its job finished early). */
    assert_int_equal(take(l, "r", 600, c, a, &s), LEDGER_SLOT_HELD);
    assert_string_equal(s.event_key, b);
    ledger_slot_clear(&s);
    assert_int_equal(take(l, "r", 600, c, b, &s), LEDGER_SLOT_TAKEN);
    assert_string_equal(s.event_key, c);
    ledger_slot_clear(&s);

    /* Freeing by a non-holder changes nothing; by the holder, the slot is free. */
    assert_int_equal(ledger_rule_slot_free(l, "r", a), LEDGER_OK);
    assert_int_equal(ledger_rule_slot_get(l, "r", &s), LEDGER_OK);
    assert_string_equal(s.event_key, c);
    ledger_slot_clear(&s);
    assert_int_equal(ledger_rule_slot_free(l, "r", c), LEDGER_OK);
    assert_int_equal(ledger_rule_slot_get(l, "r", &s), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(ledger_rule_slot_set_resource(l, "r", c, "job-c"), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(take(l, "r", 600, a, NULL, NULL), LEDGER_SLOT_TAKEN);

    /* Interval 0: every event takes it. */
    assert_int_equal(take(l, "zero", 0, a, NULL, NULL), LEDGER_SLOT_TAKEN);
    assert_int_equal(take(l, "zero", 0, b, NULL, &s), LEDGER_SLOT_TAKEN);
    assert_string_equal(s.event_key, b);
    ledger_slot_clear(&s);
    ledger_close(l);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_slot_result res;
    ledger_slot s;
    char long_rule[LEDGER_SLOT_RULE_MAX + 2];
    memset(long_rule, 'r', sizeof long_rule - 1);
    long_rule[sizeof long_rule - 1] = '\0';
    const char *k = key(1);
    assert_int_equal(ledger_rule_slot(l, "", 1, k, NULL, &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot(l, NULL, 1, k, NULL, &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot(l, long_rule, 1, k, NULL, &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot(l, "r", -1, k, NULL, &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot(l, "r", 1, "nothex", NULL, &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot(l, "r", 1, k, "nothex", &res, &s), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot_set_resource(l, "r", k, ""), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot_set_resource(l, "r", k, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot_free(l, "r", "x"), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_rule_slot_get(l, "", &s), LEDGER_ERR_INVALID);
    assert_string_equal(ledger_slot_result_name(LEDGER_SLOT_TAKEN), "taken");
    assert_string_equal(ledger_slot_result_name(LEDGER_SLOT_HELD), "held");
    ledger_close(l);
}

/* A store made by the first schema (no slots, no runs) gains every later table when opened by
 * this build, and keeps its events. */
static void test_upgrade_from_the_first_schema(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    const char *k = key(1);
    ledger_event ev = {.source = SRC, .id = "ev-1"};
    ledger_claim_result claimed;
    assert_int_equal(ledger_claim(l, k, &ev, 60, &claimed, NULL), LEDGER_OK);
    ledger_close(l);
    if (cur->pg) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SET search_path TO slot_t%d_%d; DROP TABLE ledger_alias_moves;"
                 " DROP TABLE ledger_run_events;"
                 " DROP TABLE ledger_runs; DROP TABLE ledger_budgets; ALTER TABLE ledger_events "
                 "DROP COLUMN run_id;"
                 " DROP TABLE ledger_rule_slots; DELETE FROM ledger_schema WHERE version >= 2;"
                 " RESET search_path",
                 (int)getpid(), cur->stores);
        PGresult *r = PQexec(cur->admin, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    } else {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(cur->url + strlen("sqlite://"), &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(
                db,
                "DROP TABLE ledger_alias_moves;"
                "DROP TABLE ledger_run_events; DROP TABLE ledger_runs;"
                "DROP TABLE ledger_budgets;"
                "DROP INDEX ledger_events_run; ALTER TABLE ledger_events DROP COLUMN run_id;"
                "DROP TABLE ledger_rule_slots; PRAGMA user_version = 1",
                NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
    }
    l = open_url(cur->url, false);
    ledger_record rec;
    assert_int_equal(ledger_get(l, k, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "claimed");
    ledger_record_clear(&rec);
    assert_int_equal(take(l, "r", 60, k, NULL, NULL), LEDGER_SLOT_TAKEN);
    ledger_close(l);
}

/* Many processes, each with its own handle, ask for one rule's slot for different events at
 * the same moment: exactly one event takes it, every other one sees that event as holder. */
static void test_concurrent_takers_one_wins(void **state)
{
    (void)state;
    ledger_close(open_fresh());
    int *counts =
        mmap(NULL, sizeof(int) * 3, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(counts != MAP_FAILED);
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t kids[RACE_PROCS];
    for (int p = 0; p < RACE_PROCS; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            close(gate[1]);
            ledger *mine = NULL;
            char err[LEDGER_ERR_MAX], c;
            if (ledger_open(cur->url, &mine, err) != LEDGER_OK || read(gate[0], &c, 1) != 0)
                _exit(2);
            for (int j = 0; j < RACE_EVENTS; j++) {
                const char *k = key(p * RACE_EVENTS + j);
                ledger_slot_result res;
                ledger_slot s;
                if (ledger_rule_slot(mine, "burst", 600, k, NULL, &res, &s) != LEDGER_OK)
                    __atomic_fetch_add(&counts[2], 1, __ATOMIC_SEQ_CST);
                else
                    __atomic_fetch_add(&counts[res == LEDGER_SLOT_TAKEN ? 0 : 1], 1,
                                       __ATOMIC_SEQ_CST);
                ledger_slot_clear(&s);
            }
            ledger_close(mine);
            _exit(0);
        }
    }
    close(gate[0]);
    sleep_ms(100); /* let every child open its handle */
    close(gate[1]);
    for (int p = 0; p < RACE_PROCS; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(counts[2], 0);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], RACE_PROCS * RACE_EVENTS - 1);
    munmap(counts, sizeof(int) * 3);
}

/* ---- groups ------------------------------------------------------------------------------- */

static backend sqlite_backend, pg_backend;

static int sqlite_setup(void **state)
{
    (void)state;
    cur = &sqlite_backend;
    return test_store_sqlite_setup(cur, "test_ledger_slot");
}

static int sqlite_teardown(void **state)
{
    (void)state;
    return test_store_sqlite_teardown(&sqlite_backend);
}

static int pg_setup(void **state)
{
    (void)state;
    cur = &pg_backend;
    return test_store_pg_setup(cur, "slot");
}

static int pg_teardown(void **state)
{
    (void)state;
    return test_store_pg_teardown(&pg_backend);
}

int main(void)
{
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_take_hold_and_resource),
        cmocka_unit_test(test_slots_in_an_arena),
        cmocka_unit_test(test_interval_replace_and_free),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_upgrade_from_the_first_schema),
        cmocka_unit_test(test_concurrent_takers_one_wins),
    };
    int failed =
        cmocka_run_group_tests_name("ledger_slot_sqlite", table, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("ledger_slot_postgres", table, pg_setup, pg_teardown);
    return failed ? 1 : 0;
}
