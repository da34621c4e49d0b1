/* The ledger's contract, one test table run against both backends: SQLite in a temp dir and
 * PostgreSQL at $RETRAIN_TEST_PG_URL (tests/run-unit.sh starts one with tests/lib/pg.sh). Each
 * test gets a fresh store: its own SQLite file, or its own PostgreSQL schema. Without
 * RETRAIN_TEST_PG_URL the PostgreSQL group fails rather than skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/test_store.h"

#include "clk.h"
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/test"

typedef test_store backend;

static backend *cur;

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Points cur->url at a store nobody else uses. */
static const char *fresh_store(void)
{
    return test_store_fresh(cur, "t%d/nested/ledger.db");
}

static ledger *open_fresh(void)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    ledger_status st = ledger_create(fresh_store(), &l, err);
    if (st != LEDGER_OK)
        fail_msg("ledger_create: %s", err);
    return l;
}

/* The current store again (CREATE: ledger_create, else ledger_open); NULL when it fails. */
static ledger *open_store(bool create)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if ((create ? ledger_create : ledger_open)(cur->url, &l, err) != LEDGER_OK)
        return NULL;
    return l;
}

static ledger *open_again(void)
{
    return open_store(false);
}

static void key_for(const char *tag, int i, char id[64], char key[LEDGER_KEY_HEX + 1])
{
    snprintf(id, 64, "%s-%d", tag, i);
    ledger_key(SRC, id, key);
}

static ledger_event event_for(const char *id)
{
    return (ledger_event){.source = SRC,
                          .id = id,
                          .type = "google.cloud.storage.object.v1.finalized",
                          .subject = "objects/data.csv",
                          .event_time = "2026-11-26T07:00:00Z",
                          .event_json = "{\"specversion\":\"1.0\"}"};
}

/* The hold of KEY's claim as it now stands (what its holder got from its claim); attempt 1 when
 * there is no record. Valid until the next call. */
static const ledger_hold *held(ledger *l, const char *key)
{
    static ledger_hold h;
    memset(&h, 0, sizeof h);
    snprintf(h.key, sizeof h.key, "%s", key);
    h.attempt = 1;
    ledger_record rec;
    if (ledger_get(l, key, &rec) == LEDGER_OK) {
        h.attempt = rec.attempts;
        ledger_record_clear(&rec);
    }
    return &h;
}

/* Claims KEY (event ID) and returns the result; fails the test on an error status. */
static ledger_claim_result claim(ledger *l, const char *key, const char *id, int lease_s,
                                 ledger_record *rec)
{
    ledger_event ev = event_for(id);
    ledger_claim_result res = LEDGER_BUSY;
    ledger_status st = ledger_claim(l, key, &ev, lease_s, &res, rec);
    if (st != LEDGER_OK)
        fail_msg("claim: %s: %s", ledger_status_name(st), ledger_last_error(l));
    return res;
}

/* ---- transitions -------------------------------------------------------------------------- */

static void test_claim_transitions(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char id[64], key[LEDGER_KEY_HEX + 1];
    key_for("tr", 1, id, key);
    ledger_record rec;

    int64_t before = now_ms();
    assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_NEW);
    assert_string_equal(rec.key, key);
    assert_string_equal(rec.status, "claimed");
    assert_string_equal(rec.source, SRC);
    assert_string_equal(rec.id, id);
    assert_string_equal(rec.subject, "objects/data.csv");
    assert_string_equal(rec.event_json, "{\"specversion\":\"1.0\"}");
    assert_int_equal(rec.attempts, 1);
    assert_true(rec.first_seen_ms >= before - 1000 && rec.first_seen_ms <= now_ms() + 1000);
    assert_true(rec.lease_until_ms >= rec.first_seen_ms + 59000);
    assert_null(rec.outcome);
    ledger_record_clear(&rec);

    assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_BUSY);
    assert_int_equal(rec.attempts, 1);
    ledger_record_clear(&rec);

    assert_int_equal(ledger_finish(l, held(l, key), "done", "{\"job\":\"j1\"}", NULL), LEDGER_OK);
    assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_DONE);
    assert_string_equal(rec.status, "done");
    assert_string_equal(rec.outcome, "{\"job\":\"j1\"}");
    ledger_record_clear(&rec);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_DONE);

    /* Release: the next claim takes over at once and sees the noted error. */
    key_for("tr", 2, id, key);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
    assert_int_equal(ledger_release(l, held(l, key), "vertex 503"), LEDGER_OK);
    assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_RECLAIMED);
    assert_int_equal(rec.attempts, 2);
    assert_string_equal(rec.last_error, "vertex 503");
    assert_true(rec.lease_until_ms > now_ms() + 50000);
    ledger_record_clear(&rec);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_BUSY);

    /* Every final status answers DONE. */
    const char *finals[] = {"failed", "coalesced", "ignored"};
    for (int i = 0; i < 3; i++) {
        key_for("final", i, id, key);
        assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
        assert_int_equal(ledger_finish(l, held(l, key), finals[i], NULL, "why"), LEDGER_OK);
        assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_DONE);
        assert_string_equal(rec.status, finals[i]);
        assert_string_equal(rec.last_error, "why");
        ledger_record_clear(&rec);
    }
    ledger_close(l);
}

static void test_state_rules(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char id[64], key[LEDGER_KEY_HEX + 1], missing[LEDGER_KEY_HEX + 1];
    key_for("st", 1, id, key);
    ledger_key(SRC, "never-seen", missing);
    ledger_record rec;

    assert_int_equal(ledger_finish(l, held(l, missing), "done", NULL, NULL), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(ledger_release(l, held(l, missing), NULL), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(ledger_reopen(l, missing, 60, NULL), LEDGER_ERR_NOT_FOUND);
    assert_int_equal(ledger_get(l, missing, &rec), LEDGER_ERR_NOT_FOUND);

    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
    assert_int_equal(ledger_reopen(l, key, 60, NULL), LEDGER_ERR_STATE); /* claimed, not failed */
    assert_int_equal(ledger_finish(l, held(l, key), "claimed", NULL, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_finish(l, held(l, key), "bogus", NULL, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_finish(l, held(l, key), "done", NULL, NULL), LEDGER_OK);
    assert_int_equal(ledger_finish(l, held(l, key), "failed", NULL, NULL), LEDGER_ERR_STATE);
    assert_non_null(strstr(ledger_last_error(l), "done"));
    assert_int_equal(ledger_release(l, held(l, key), "late"), LEDGER_ERR_STATE);
    assert_int_equal(ledger_reopen(l, key, 60, NULL), LEDGER_ERR_STATE); /* done, not failed */

    /* failed -> reopen -> claimed (BUSY to others) -> finish. */
    key_for("st", 2, id, key);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
    assert_int_equal(ledger_finish(l, held(l, key), "failed", "{\"code\":400}", "INVALID_ARGUMENT"),
                     LEDGER_OK);
    assert_int_equal(ledger_reopen(l, key, 60, NULL), LEDGER_OK);
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "claimed");
    assert_int_equal(rec.attempts, 2);
    assert_string_equal(rec.last_error, "INVALID_ARGUMENT");
    ledger_record_clear(&rec);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_BUSY);
    assert_int_equal(ledger_reopen(l, key, 60, NULL), LEDGER_ERR_STATE);
    assert_int_equal(ledger_finish(l, held(l, key), "done", NULL, NULL), LEDGER_OK);

    /* Malformed arguments. */
    ledger_event ev = event_for("x");
    ledger_claim_result res;
    assert_int_equal(ledger_claim(l, "abc", &ev, 60, &res, NULL), LEDGER_ERR_INVALID);
    char upper[LEDGER_KEY_HEX + 1];
    memcpy(upper, key, sizeof upper);
    upper[0] = 'A';
    assert_int_equal(ledger_claim(l, upper, &ev, 60, &res, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_claim(l, key, &ev, 0, &res, NULL), LEDGER_ERR_INVALID);
    ev.id = NULL;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_claim(l, key, NULL, 60, &res, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_finish(l, NULL, "done", NULL, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_release(l, &(ledger_hold){.key = "zz", .attempt = 1}, NULL),
                     LEDGER_ERR_INVALID);
    ledger_hold no_attempt = *held(l, key);
    no_attempt.attempt = 0;
    assert_int_equal(ledger_renew(l, &no_attempt, 60), LEDGER_ERR_INVALID);
    ledger_hold current = *held(l, key);
    assert_int_equal(ledger_renew(l, &current, 0), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_reopen(l, key, -1, NULL), LEDGER_ERR_INVALID);
    assert_int_equal(ledger_get(l, "", &rec), LEDGER_ERR_INVALID);
    ledger_close(l);
}

/* A holder whose lease ran out and was taken over can no longer renew, release or finish: it
 * would otherwise hand the new holder's lease to a third delivery or record over it. */
static void test_taken_over_holder_is_fenced(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char id[64], key[LEDGER_KEY_HEX + 1];
    key_for("fence", 1, id, key);
    ledger_record rec;

    assert_int_equal(claim(l, key, id, 1, &rec), LEDGER_NEW);
    ledger_hold first = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    assert_string_equal(first.key, key);
    assert_int_equal(first.attempt, 1);
    assert_int_equal(ledger_renew(l, &first, 1), LEDGER_OK);
    usleep(1200 * 1000);
    assert_int_equal(claim(l, key, id, 60, &rec), LEDGER_RECLAIMED);
    ledger_hold second = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    assert_int_equal(second.attempt, 2);

    assert_int_equal(ledger_renew(l, &first, 60), LEDGER_ERR_STATE);
    assert_int_equal(first.until_ms, 0); /* a hold lost is known to be lost */
    assert_non_null(strstr(ledger_last_error(l), "taken over"));
    assert_int_equal(ledger_release(l, &first, "late"), LEDGER_ERR_STATE);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_BUSY); /* the second lease stands */
    assert_int_equal(ledger_finish(l, &first, "done", "{\"by\":1}", NULL), LEDGER_ERR_STATE);

    int64_t before = now_ms();
    int64_t mono = clk_mono_ms();
    assert_int_equal(ledger_renew(l, &second, 120), LEDGER_OK);
    assert_true(second.until_ms >= mono + 120000 && second.until_ms <= clk_mono_ms() + 120000);
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_true(rec.lease_until_ms >= before + 119000);
    ledger_record_clear(&rec);
    before = now_ms();
    assert_int_equal(ledger_renew(l, &second, 1), LEDGER_OK); /* back to a short lease */
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_true(rec.lease_until_ms >= before + 500 && rec.lease_until_ms <= now_ms() + 1500);
    ledger_record_clear(&rec);

    assert_int_equal(ledger_finish(l, &second, "failed", "{\"by\":2}", "why"), LEDGER_OK);
    assert_int_equal(ledger_renew(l, &second, 60), LEDGER_ERR_STATE); /* final now */
    ledger_hold third;
    assert_int_equal(ledger_reopen(l, key, 60, &third), LEDGER_OK);
    assert_int_equal(third.attempt, 3);
    assert_true(third.until_ms > clk_mono_ms() + 59000);
    assert_int_equal(ledger_finish(l, &second, "done", NULL, NULL), LEDGER_ERR_STATE);
    assert_int_equal(ledger_finish(l, &third, "done", "{\"by\":3}", NULL), LEDGER_OK);
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_string_equal(rec.outcome, "{\"by\":3}");
    ledger_record_clear(&rec);
    ledger_close(l);
}

/* ---- processes ---------------------------------------------------------------------------- */

#define RACE_PROCS 8
#define RACE_KEYS 1000

static void test_concurrent_claims(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_close(l);
    int *news = mmap(NULL, sizeof(int) * (RACE_KEYS + 1), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(news != MAP_FAILED);
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t kids[RACE_PROCS];
    for (int p = 0; p < RACE_PROCS; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            close(gate[1]);
            ledger *mine = open_again();
            char c;
            if (!mine || read(gate[0], &c, 1) != 0) /* wait until the parent opens the gate */
                _exit(2);
            for (int j = 0; j < RACE_KEYS; j++) {
                int k = (j + p * (RACE_KEYS / RACE_PROCS)) % RACE_KEYS;
                char id[64], key[LEDGER_KEY_HEX + 1];
                key_for("race", k, id, key);
                ledger_event ev = event_for(id);
                ledger_claim_result res;
                ledger_status st;
                /* A claim that waited out the busy timeout answers UNAVAILABLE (a 503, so the
                 * delivery comes again): retry it the way redelivery would. */
                int tries = 0;
                do
                    st = ledger_claim(mine, key, &ev, 60, &res, NULL);
                while (st == LEDGER_ERR_UNAVAILABLE && ++tries < 20);
                if (st != LEDGER_OK)
                    __atomic_fetch_add(&news[RACE_KEYS], 1, __ATOMIC_SEQ_CST);
                else if (res == LEDGER_NEW)
                    __atomic_fetch_add(&news[k], 1, __ATOMIC_SEQ_CST);
                else if (res != LEDGER_BUSY) /* the 60 s leases are live: nobody takes over */
                    __atomic_fetch_add(&news[k], 1000, __ATOMIC_SEQ_CST);
            }
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
    assert_int_equal(news[RACE_KEYS], 0);
    for (int k = 0; k < RACE_KEYS; k++)
        if (news[k] != 1)
            fail_msg("key %d: %d NEW, %d other than NEW or BUSY", k, news[k] % 1000,
                     news[k] / 1000);
    munmap(news, sizeof(int) * (RACE_KEYS + 1));
}

static void test_concurrent_open_migrates_once(void **state)
{
    (void)state;
    fresh_store(); /* nobody has opened it: 16 processes race to create the schema */
    pid_t kids[16];
    for (int p = 0; p < 16; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            ledger *mine = open_store(true);
            char id[64], key[LEDGER_KEY_HEX + 1];
            key_for("open", p, id, key);
            ledger_event ev = event_for(id);
            ledger_claim_result res = LEDGER_BUSY;
            _exit(mine && ledger_claim(mine, key, &ev, 60, &res, NULL) == LEDGER_OK &&
                          res == LEDGER_NEW
                      ? 0
                      : 1);
        }
    }
    for (int p = 0; p < 16; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ledger *l = open_again();
    assert_non_null(l);
    ledger_record recs[32];
    size_t n = 0;
    assert_int_equal(ledger_list(l, &(ledger_query){.limit = 32}, recs, 32, &n), LEDGER_OK);
    assert_int_equal(n, 16);
    for (size_t i = 0; i < n; i++)
        ledger_record_clear(&recs[i]);
    ledger_close(l);
}

static void test_killed_holder_is_reclaimed_after_lease(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    char id[64], key[LEDGER_KEY_HEX + 1];
    key_for("kill", 1, id, key);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        ledger *mine = open_again();
        ledger_event ev = event_for(id);
        ledger_claim_result res;
        if (!mine || ledger_claim(mine, key, &ev, 1, &res, NULL) != LEDGER_OK || res != LEDGER_NEW)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    kill(kid, SIGKILL);
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFSIGNALED(status));

    ledger_record rec;
    assert_int_equal(claim(l, key, id, 30, &rec), LEDGER_BUSY);
    int64_t until = rec.lease_until_ms;
    ledger_record_clear(&rec);
    sleep_ms(until - 250 - now_ms());
    assert_int_equal(claim(l, key, id, 30, NULL), LEDGER_BUSY); /* not before the lease ends */
    sleep_ms(until + 50 - now_ms());
    assert_int_equal(claim(l, key, id, 30, &rec), LEDGER_RECLAIMED);
    assert_int_equal(rec.attempts, 2);
    ledger_record_clear(&rec);
    assert_int_equal(claim(l, key, id, 30, NULL), LEDGER_BUSY);
    ledger_close(l);
}

#define CRASH_PROCS 4
#define CRASH_KEYS 3000

static int verify_sqlite_integrity(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int ok = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        ok = sqlite3_step(st) == SQLITE_ROW &&
             strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return ok;
}

static void test_kill_all_mid_load_loses_nothing(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_close(l);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t kids[CRASH_PROCS];
    for (int p = 0; p < CRASH_PROCS; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            close(out[0]);
            ledger *mine = open_again();
            if (!mine)
                _exit(2);
            /* Overlapping ranges, so workers also meet each other's claims. */
            for (int j = 0; j < CRASH_KEYS; j++) {
                char id[64], key[LEDGER_KEY_HEX + 2];
                key_for("crash", (j + p * 500) % CRASH_KEYS, id, key);
                ledger_event ev = event_for(id);
                ledger_claim_result res;
                if (ledger_claim(mine, key, &ev, 60, &res, NULL) != LEDGER_OK || res != LEDGER_NEW)
                    continue;
                ledger_hold hold = {.attempt = 1};
                memcpy(hold.key, key, LEDGER_KEY_HEX + 1);
                if (ledger_finish(mine, &hold, "done", "{}", NULL) != LEDGER_OK)
                    continue;
                key[LEDGER_KEY_HEX] = '\n'; /* one atomic write per acknowledged key */
                if (write(out[1], key, LEDGER_KEY_HEX + 1) != LEDGER_KEY_HEX + 1)
                    _exit(3);
            }
            pause();
            _exit(0);
        }
    }
    close(out[1]);
    /* Collect reports while the load runs, then kill everyone mid-flight. */
    size_t cap = CRASH_KEYS, n = 0, got = 0;
    char(*keys)[LEDGER_KEY_HEX + 1] = calloc(cap, LEDGER_KEY_HEX + 1);
    char buf[(LEDGER_KEY_HEX + 1) * 64];
    size_t have = 0;
    int64_t stop_at = now_ms() + 500;
    bool killed = false;
    for (;;) {
        if (!killed && (n >= CRASH_KEYS / 3 || now_ms() >= stop_at)) {
            for (int p = 0; p < CRASH_PROCS; p++)
                kill(kids[p], SIGKILL);
            killed = true;
        }
        struct pollfd pfd = {out[0], POLLIN, 0};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        ssize_t r = read(out[0], buf + have, sizeof buf - have);
        if (r <= 0)
            break; /* EOF: every child is dead */
        have += (size_t)r;
        size_t whole = have / (LEDGER_KEY_HEX + 1);
        for (size_t i = 0; i < whole && n < cap; i++, n++) {
            memcpy(keys[n], buf + i * (LEDGER_KEY_HEX + 1), LEDGER_KEY_HEX);
            keys[n][LEDGER_KEY_HEX] = '\0';
        }
        memmove(buf, buf + whole * (LEDGER_KEY_HEX + 1), have - whole * (LEDGER_KEY_HEX + 1));
        have -= whole * (LEDGER_KEY_HEX + 1);
    }
    close(out[0]);
    for (int p = 0; p < CRASH_PROCS; p++)
        waitpid(kids[p], NULL, 0);
    assert_true(n > 0 && n < CRASH_KEYS); /* killed mid-load */

    if (!cur->pg)
        assert_true(verify_sqlite_integrity(cur->sqlite_path));
    l = open_again();
    assert_non_null(l);
    assert_int_equal(ledger_ping(l), LEDGER_OK);
    for (size_t i = 0; i < n; i++) {
        ledger_record rec;
        assert_int_equal(ledger_get(l, keys[i], &rec), LEDGER_OK);
        if (strcmp(rec.status, "done") == 0)
            got++;
        ledger_record_clear(&rec);
    }
    assert_int_equal(got, n);
    free(keys);
    ledger_close(l);
}

/* ---- outage ------------------------------------------------------------------------------- */

static void test_pg_restart_reconnects(void **state)
{
    (void)state;
    if (!cur->pg)
        skip(); /* a PostgreSQL server outage; SQLite has no server to lose */
    const char *dir = getenv("RETRAIN_TEST_PG_DIR");
    if (!dir)
        fail_msg("RETRAIN_TEST_PG_DIR is not set: run through tests/run-unit.sh");
    ledger *l = open_fresh();
    char id[64], key[LEDGER_KEY_HEX + 1];
    key_for("outage", 0, id, key);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
    assert_int_equal(ledger_finish(l, held(l, key), "done", NULL, NULL), LEDGER_OK);
    ledger *idle = open_again(); /* a handle nobody uses while the server restarts */
    assert_non_null(idle);

    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execl("tests/lib/pg.sh", "pg.sh", "restart", dir, "0", (char *)NULL);
        _exit(127);
    }
    const char *pw_start = strchr(cur->base + strlen("postgres://"), ':') + 1;
    char password[128];
    snprintf(password, sizeof password, "%.*s", (int)(strchr(pw_start, '@') - pw_start), pw_start);

    bool down = false, back = false;
    int64_t deadline = now_ms() + 20000;
    for (int i = 1; !back && now_ms() < deadline; i++) {
        key_for("outage", i, id, key);
        ledger_event ev = event_for(id);
        ledger_claim_result res;
        ledger_status st = ledger_claim(l, key, &ev, 60, &res, NULL);
        if (st == LEDGER_ERR_UNAVAILABLE) {
            down = true;
            assert_null(strstr(ledger_last_error(l), password));
        } else {
            assert_int_equal(st, LEDGER_OK);
            assert_int_equal(res, LEDGER_NEW);
            back = down;
        }
        sleep_ms(50);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    PQreset(cur->admin);
    assert_true(down);
    assert_true(back);
    /* Same handle, the record from before the outage is still there. */
    key_for("outage", 0, id, key);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_DONE);
    assert_int_equal(ledger_ping(l), LEDGER_OK);
    /* The idle handle's connection died unseen: its first ping (a /readyz) re-makes it. */
    assert_int_equal(ledger_ping(idle), LEDGER_OK);
    ledger_close(idle);
    ledger_close(l);
}

/* ---- gc and list -------------------------------------------------------------------------- */

static void finish_new(ledger *l, const char *tag, int i, const char *status)
{
    char id[64], key[LEDGER_KEY_HEX + 1];
    key_for(tag, i, id, key);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_NEW);
    if (status)
        assert_int_equal(ledger_finish(l, held(l, key), status, NULL, NULL), LEDGER_OK);
}

static bool exists(ledger *l, const char *tag, int i)
{
    char id[64], key[LEDGER_KEY_HEX + 1];
    ledger_record rec;
    key_for(tag, i, id, key);
    ledger_status st = ledger_get(l, key, &rec);
    ledger_record_clear(&rec);
    assert_true(st == LEDGER_OK || st == LEDGER_ERR_NOT_FOUND);
    return st == LEDGER_OK;
}

/* Moves KEY's first and last receipt MS into the past, straight in the store: the ledger has no
 * API to forge time, and tests should not wait minutes. */
static void age_record(const char *tag, int i, int64_t ms)
{
    char id[64], key[LEDGER_KEY_HEX + 1], sql[512];
    key_for(tag, i, id, key);
    if (!cur->pg) {
        snprintf(sql, sizeof sql,
                 "UPDATE ledger_events SET first_seen_ms = first_seen_ms - %lld,"
                 " last_seen_ms = last_seen_ms - %lld WHERE key = '%s'",
                 (long long)ms, (long long)ms, key);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(cur->sqlite_path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_close(db);
        return;
    }
    snprintf(sql, sizeof sql,
             "UPDATE ledger_t%d_%d.ledger_events SET first_seen_ms = first_seen_ms - %lld,"
             " last_seen_ms = last_seen_ms - %lld WHERE key = '%s'",
             (int)getpid(), cur->stores, (long long)ms, (long long)ms, key);
    PGresult *r = PQexec(cur->admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(r), "1");
    PQclear(r);
}

static void test_gc_removes_only_old_final_records(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    finish_new(l, "gc", 1, "done");
    finish_new(l, "gc", 2, "failed");
    finish_new(l, "gc", 3, NULL); /* old, but claimed: never collected */
    finish_new(l, "gc", 4, "done");
    finish_new(l, "gc", 5, "done");
    for (int i = 1; i <= 5; i++)
        if (i != 4)
            age_record("gc", i, 120000);

    char id[64], key[LEDGER_KEY_HEX + 1];
    ledger_record before, after;
    /* A duplicate of a young record is a read: last_seen stays. */
    key_for("gc", 4, id, key);
    assert_int_equal(ledger_get(l, key, &before), LEDGER_OK);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_DONE);
    assert_int_equal(ledger_get(l, key, &after), LEDGER_OK);
    assert_int_equal(after.last_seen_ms, before.last_seen_ms);
    ledger_record_clear(&before);
    ledger_record_clear(&after);
    /* A duplicate of an old record refreshes last_seen, which keeps the record from gc. */
    key_for("gc", 5, id, key);
    assert_int_equal(ledger_get(l, key, &before), LEDGER_OK);
    assert_int_equal(claim(l, key, id, 60, NULL), LEDGER_DONE);
    assert_int_equal(ledger_get(l, key, &after), LEDGER_OK);
    assert_true(after.last_seen_ms >= before.last_seen_ms + 100000);
    assert_int_equal(after.first_seen_ms, before.first_seen_ms);
    ledger_record_clear(&before);
    ledger_record_clear(&after);

    int64_t removed = -1;
    assert_int_equal(ledger_gc(l, 60, &removed), LEDGER_OK);
    assert_int_equal(removed, 2);
    assert_false(exists(l, "gc", 1));
    assert_false(exists(l, "gc", 2));
    assert_true(exists(l, "gc", 3));
    assert_true(exists(l, "gc", 4));
    assert_true(exists(l, "gc", 5));
    sleep_ms(20);
    assert_int_equal(ledger_gc(l, 0, &removed), LEDGER_OK);
    assert_int_equal(removed, 2);
    assert_true(exists(l, "gc", 3));
    assert_false(exists(l, "gc", 4));
    assert_false(exists(l, "gc", 5));
    assert_int_equal(ledger_gc(l, -1, &removed), LEDGER_ERR_INVALID);
    ledger_close(l);
}

static void test_list_filters_and_pages(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    const char *statuses[] = {"done", NULL, "failed", "done", "ignored"};
    int64_t third_seen = 0;
    for (int i = 0; i < 5; i++) {
        finish_new(l, "ls", i, statuses[i]);
        if (i == 2) {
            char id[64], key[LEDGER_KEY_HEX + 1];
            ledger_record rec;
            key_for("ls", i, id, key);
            assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
            third_seen = rec.first_seen_ms;
            ledger_record_clear(&rec);
        }
        sleep_ms(3);
    }
    int64_t count = -1; /* what /metrics reads: retrain_dead_letters */
    assert_int_equal(ledger_count_status(l, "failed", &count), LEDGER_OK);
    assert_int_equal(count, 1);
    assert_int_equal(ledger_count_status(l, "done", &count), LEDGER_OK);
    assert_int_equal(count, 2);
    assert_int_equal(ledger_count_status(l, "expired", &count), LEDGER_OK);
    assert_int_equal(count, 0);
    assert_int_equal(ledger_count_status(l, "no-such", &count), LEDGER_ERR_INVALID);
    ledger_record recs[8];
    size_t n = 0, seen = 0;
    char after[LEDGER_KEY_HEX + 1] = "";
    char order[5][LEDGER_KEY_HEX + 1];
    /* Pages of two walk all five in (first_seen, key) order. */
    for (int page = 0; page < 4; page++) {
        ledger_query q = {.limit = 2, .after_key = after[0] ? after : NULL};
        assert_int_equal(ledger_list(l, &q, recs, 8, &n), LEDGER_OK);
        assert_true(n == (page < 2 ? 2u : page == 2 ? 1u : 0u));
        for (size_t i = 0; i < n; i++) {
            char id[64], key[LEDGER_KEY_HEX + 1];
            key_for("ls", (int)seen, id, key);
            assert_string_equal(recs[i].key, key);
            memcpy(order[seen++], recs[i].key, LEDGER_KEY_HEX + 1);
            ledger_record_clear(&recs[i]);
        }
        if (n)
            memcpy(after, order[seen - 1], sizeof after);
    }
    assert_int_equal(seen, 5);

    assert_int_equal(ledger_list(l, &(ledger_query){.status = "done"}, recs, 8, &n), LEDGER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0].key, order[0]);
    assert_string_equal(recs[1].key, order[3]);
    for (size_t i = 0; i < n; i++)
        ledger_record_clear(&recs[i]);
    assert_int_equal(ledger_list(l, &(ledger_query){.status = "claimed"}, recs, 8, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].key, order[1]);
    ledger_record_clear(&recs[0]);

    assert_int_equal(ledger_list(l, &(ledger_query){.since_ms = third_seen}, recs, 8, &n),
                     LEDGER_OK);
    assert_int_equal(n, 3);
    assert_string_equal(recs[0].key, order[2]);
    for (size_t i = 0; i < n; i++)
        ledger_record_clear(&recs[i]);

    assert_int_equal(ledger_list(l, &(ledger_query){.id = "ls-4"}, recs, 8, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].status, "ignored");
    ledger_record_clear(&recs[0]);

    /* cap bounds the answer below the limit */
    assert_int_equal(ledger_list(l, &(ledger_query){.limit = 100}, recs, 3, &n), LEDGER_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        ledger_record_clear(&recs[i]);

    assert_int_equal(ledger_list(l, &(ledger_query){.status = "bogus"}, recs, 8, &n),
                     LEDGER_ERR_INVALID);
    assert_int_equal(ledger_list(l, &(ledger_query){.after_key = "nothex"}, recs, 8, &n),
                     LEDGER_ERR_INVALID);
    ledger_close(l);
}

/* ---- schema ------------------------------------------------------------------------------ */

static void test_newer_schema_is_refused(void **state)
{
    (void)state;
    ledger *l = open_fresh();
    ledger_close(l);
    /* Another build migrated this store further than we know how to read. */
    if (!cur->pg) {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(cur->sqlite_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    } else {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO ledger_t%d_%d.ledger_schema VALUES (99)",
                 (int)getpid(), cur->stores);
        PGresult *r = PQexec(cur->admin, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    char err[LEDGER_ERR_MAX];
    l = (ledger *)1;
    assert_int_equal(ledger_open(cur->url, &l, err), LEDGER_ERR_UNAVAILABLE);
    assert_null(l);
    assert_non_null(strstr(err, "newer"));
}

/* ---- open errors -------------------------------------------------------------------------- */

static void expect_open_error(const char *url, ledger_status want, const char *secret)
{
    ledger *l = (ledger *)1;
    char err[LEDGER_ERR_MAX] = "";
    assert_int_equal(ledger_open(url, &l, err), want);
    assert_null(l);
    assert_true(err[0] != '\0');
    if (secret)
        assert_null(strstr(err, secret));
}

static void test_open_errors(void **state)
{
    (void)state;
    expect_open_error(NULL, LEDGER_ERR_INVALID, NULL);
    expect_open_error("", LEDGER_ERR_INVALID, NULL);
    expect_open_error("mysql://u:hunter2@127.0.0.1/db", LEDGER_ERR_INVALID, "hunter2");
    expect_open_error("sqlite://relative/ledger.db", LEDGER_ERR_INVALID, NULL);
    expect_open_error("sqlite://", LEDGER_ERR_INVALID, NULL);
    expect_open_error("sqlite:///", LEDGER_ERR_INVALID, NULL);
    expect_open_error("sqlite:///tmp/ledger.db?mode=ro", LEDGER_ERR_INVALID, NULL);
    expect_open_error("sqlite:///proc/no/such/dir/ledger.db", LEDGER_ERR_UNAVAILABLE, NULL);
    expect_open_error("postgres://u:s3cretpw@127.0.0.1:1/db", LEDGER_ERR_UNAVAILABLE, "s3cretpw");
    expect_open_error("postgresql://u:s3cretpw@127.0.0.1:1/db", LEDGER_ERR_UNAVAILABLE, "s3cretpw");
    expect_open_error("postgres://u:s3cretpw@127.0.0.1:notaport/db?bogus=1", LEDGER_ERR_INVALID,
                      "s3cretpw");
    if (cur->pg) {
        /* The right server and user with a wrong password: refused, the password unsaid. */
        char url[1200];
        const char *at = strchr(cur->base, '@');
        const char *colon = strchr(cur->base + strlen("postgres://"), ':');
        snprintf(url, sizeof url, "%.*s:Wr0ngPassw0rd%s", (int)(colon - cur->base), cur->base, at);
        expect_open_error(url, LEDGER_ERR_UNAVAILABLE, "Wr0ngPassw0rd");
    }
}

static void test_key_is_blake2b_of_length_prefixed_parts(void **state)
{
    (void)state;
    char a[LEDGER_KEY_HEX + 1], b[LEDGER_KEY_HEX + 1];
    /* Reference values from Python's hashlib.blake2b(digest_size=32) over the same encoding
     * (each part prefixed by its 8-byte big-endian length). */
    ledger_key("//storage.googleapis.com/projects/_/buckets/b", "1234567890", a);
    assert_string_equal(a, "ff338f68dfb0b82c8eeb57aeeddeb2dee83c1b01170a217790b8028ae74c59cb");
    ledger_key("", "", a);
    assert_string_equal(a, "94c1c088cc9453996779630ad3af45cbd92814828dd784cf2aa12df95d1b8afe");
    ledger_key("ab", "c", a);
    ledger_key("a", "bc", b);
    assert_string_not_equal(a, b);
    ledger_key("c", "ab", b);
    assert_string_not_equal(a, b);
    ledger_key("ab", "c", b);
    assert_string_equal(a, b);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ledger_claim_result_name(LEDGER_RECLAIMED), "reclaimed");
    assert_string_equal(ledger_status_name(LEDGER_ERR_UNAVAILABLE), "unavailable");
}

/* ---- groups ------------------------------------------------------------------------------- */

static backend sqlite_backend, pg_backend;

static int sqlite_setup(void **state)
{
    (void)state;
    cur = &sqlite_backend;
    return test_store_sqlite_setup(cur, "test_ledger");
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
    return test_store_pg_setup(cur, "ledger");
}

static int pg_teardown(void **state)
{
    (void)state;
    return test_store_pg_teardown(&pg_backend);
}

int main(void)
{
    /* The one table every backend must pass. */
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_claim_transitions),
        cmocka_unit_test(test_state_rules),
        cmocka_unit_test(test_taken_over_holder_is_fenced),
        cmocka_unit_test(test_concurrent_claims),
        cmocka_unit_test(test_concurrent_open_migrates_once),
        cmocka_unit_test(test_killed_holder_is_reclaimed_after_lease),
        cmocka_unit_test(test_kill_all_mid_load_loses_nothing),
        cmocka_unit_test(test_pg_restart_reconnects),
        cmocka_unit_test(test_gc_removes_only_old_final_records),
        cmocka_unit_test(test_list_filters_and_pages),
        cmocka_unit_test(test_newer_schema_is_refused),
        cmocka_unit_test(test_open_errors),
    };
    const struct CMUnitTest common[] = {
        cmocka_unit_test(test_key_is_blake2b_of_length_prefixed_parts),
        cmocka_unit_test(test_names),
    };
    int failed = cmocka_run_group_tests_name("ledger_key", common, NULL, NULL);
    failed += cmocka_run_group_tests_name("ledger_sqlite", table, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("ledger_postgres", table, pg_setup, pg_teardown);
    return failed ? 1 : 0;
}
