/* The SQLite ledger's files changed under a running handle: deleted, replaced, a -wal deleted
 * alone, a -shm truncated (SIGBUS on SQLite's mapping of it); and a ledger that is missing or
 * empty when opened. Whatever happens, a write into a file no longer at the path is never
 * reported done, no process dies of a signal from its own database, and nothing but
 * ledger_create() begins a ledger where one is expected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "builtins.h"
#include "clk.h"
#include "cmd_events.h"
#include "config.h"
#include "ledger.h"
#include "ledger_sqlite_file.h"
#include "service.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/file"

static char dir[64], path[128], url[160];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_ledger_file.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Names the test's ledger file NAME under the temp dir: sets path and url. */
static void use(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(url, sizeof url, "sqlite://%s", path);
}

/* A fresh ledger at the current path (see use). */
static ledger *create_here(void)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(url, &l, err) != LEDGER_OK)
        fail_msg("ledger_create: %s", err);
    return l;
}

static ledger *fresh(const char *name)
{
    use(name);
    return create_here();
}

static const char *side(const char *suffix)
{
    static char p[3][160];
    static int next;
    char *out = p[next++ % 3];
    snprintf(out, 160, "%s%s", path, suffix);
    return out;
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void remove_all(void)
{
    unlink(side(""));
    unlink(side("-wal"));
    unlink(side("-shm"));
}

/* Claims ID; HOLD (may be NULL) gets the claim when it was taken. */
static ledger_status claim_held(ledger *l, const char *id, ledger_claim_result *res,
                                ledger_hold *hold)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, id, key);
    ledger_event ev = {.source = SRC, .id = id, .type = "t", .event_json = "{}"};
    ledger_record rec;
    ledger_status st = ledger_claim(l, key, &ev, 60, res, &rec);
    if (hold && st == LEDGER_OK)
        *hold = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    return st;
}

static ledger_status claim(ledger *l, const char *id, ledger_claim_result *res)
{
    return claim_held(l, id, res, NULL);
}

static void claim_and_finish(ledger *l, const char *id)
{
    ledger_claim_result res;
    ledger_hold hold;
    assert_int_equal(claim_held(l, id, &res, &hold), LEDGER_OK);
    assert_int_equal(res, LEDGER_NEW);
    assert_int_equal(ledger_finish(l, &hold, "done", "{}", NULL), LEDGER_OK);
}

static const char *status_of(ledger *l, const char *id, char out[16])
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, id, key);
    ledger_record rec;
    ledger_status st = ledger_get(l, key, &rec);
    snprintf(out, 16, "%s", st == LEDGER_OK ? rec.status : ledger_status_name(st));
    ledger_record_clear(&rec);
    return out;
}

/* ---- open: a ledger begins only where ledger_create says so --------------------------------- */

static void test_open_never_creates(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/missing/ledger.db", dir);
    snprintf(url, sizeof url, "sqlite://%s", path);
    ledger *l = (ledger *)1;
    char err[LEDGER_ERR_MAX];
    assert_int_equal(ledger_open(url, &l, err), LEDGER_ERR_UNAVAILABLE);
    assert_null(l);
    assert_non_null(strstr(err, "no ledger at"));
    assert_false(exists(path));

    /* An empty file (a restore gone wrong, `: > ledger.db`) is not a ledger either. */
    ledger_close(fresh("empty.db"));
    remove_all();
    int fd = open(path, O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ledger_open(url, &l, err), LEDGER_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "holds no ledger"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* The pool's start may begin one there. */
    assert_int_equal(ledger_create(url, &l, err), LEDGER_OK);
    ledger_close(l);
    assert_int_equal(ledger_open(url, &l, err), LEDGER_OK);
    ledger_close(l);
}

/* retrainctl opens the ledger the same way: a missing one is an error, and stays missing. */
static void test_retrainctl_does_not_create(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/ctl/ledger.db", dir);
    snprintf(url, sizeof url, "sqlite://%s", path);
    char *argv[] = {"events", "list", "--ledger", url, NULL};
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    int rc = cmd_events(4, argv);
    dup2(saved, 2);
    close(saved);
    close(null);
    assert_int_equal(rc, 2);
    assert_false(exists(path));
}

/* ---- files deleted or replaced under a handle ----------------------------------------------- */

static void test_deleted_file_fails_every_call(void **state)
{
    (void)state;
    ledger *l = fresh("deleted.db");
    claim_and_finish(l, "before");
    remove_all();
    ledger_claim_result res = LEDGER_DONE;
    /* At once, even within LEDGER_FILE_CHECK_MS of the last check: the write is checked. */
    assert_int_equal(claim(l, "after", &res), LEDGER_ERR_UNAVAILABLE);
    assert_true(ledger_lost(l));
    assert_non_null(strstr(ledger_last_error(l), "deleted"));
    assert_non_null(strstr(ledger_last_error(l), path));
    char st[16];
    assert_string_equal(status_of(l, "before", st), "unavailable");
    assert_int_equal(ledger_ping(l), LEDGER_ERR_UNAVAILABLE);
    ledger_close(l);
    assert_false(exists(path)); /* closing the lost handle made nothing at the path */
}

static void test_write_into_a_replaced_file_is_not_done(void **state)
{
    (void)state;
    ledger *other = fresh("other.db");
    claim_and_finish(other, "other's");
    ledger_close(other);
    char other_path[128];
    snprintf(other_path, sizeof other_path, "%s", path);

    ledger *l = fresh("replaced.db");
    ledger_claim_result res;
    ledger_hold hold;
    assert_int_equal(claim_held(l, "held", &res, &hold), LEDGER_OK);
    /* A restore moves another ledger into place while the event is being worked on. */
    unlink(side("-wal"));
    unlink(side("-shm"));
    assert_int_equal(rename(other_path, path), 0);
    assert_int_equal(ledger_finish(l, &hold, "done", "{}", NULL), LEDGER_ERR_UNAVAILABLE);
    assert_true(ledger_lost(l));
    assert_non_null(strstr(ledger_last_error(l), "replaced"));
    ledger_close(l);

    /* The file now at the path is the other ledger, untouched by the lost handle's close. */
    char err[LEDGER_ERR_MAX], st[16];
    assert_int_equal(ledger_open(url, &l, err), LEDGER_OK);
    assert_string_equal(status_of(l, "other's", st), "done");
    assert_string_equal(status_of(l, "held", st), "not found");
    ledger_close(l);
}

/* Only the -wal deleted: the handle stops at once; closing it, the last holder of the old -wal,
 * checkpoints what it held into the database, so a fresh handle finds every finished record. */
static void test_wal_deleted_alone(void **state)
{
    (void)state;
    ledger *l = fresh("wal.db");
    claim_and_finish(l, "w-1");
    claim_and_finish(l, "w-2");
    assert_int_equal(unlink(side("-wal")), 0);
    ledger_claim_result res;
    assert_int_equal(claim(l, "w-3", &res), LEDGER_ERR_UNAVAILABLE);
    assert_true(ledger_lost(l));
    assert_non_null(strstr(ledger_last_error(l), "-wal was deleted"));
    ledger_close(l);

    char err[LEDGER_ERR_MAX], st[16];
    assert_int_equal(ledger_open(url, &l, err), LEDGER_OK);
    assert_string_equal(status_of(l, "w-1", st), "done");
    assert_string_equal(status_of(l, "w-2", st), "done");
    assert_int_equal(claim(l, "w-4", &res), LEDGER_OK);
    assert_int_equal(res, LEDGER_NEW);
    assert_false(ledger_lost(l));
    ledger_close(l);
}

/* Only the -shm deleted: another process (the sqlite3 shell: a child of ours would inherit
 * this process's wal-index) makes a new one and commits through it into the same -wal. The
 * stale handle stops, and its close leaves the -wal alone: as the last connection it would
 * checkpoint with its stale wal-index and delete the -wal, and the newer commit with it. */
static void test_shm_deleted_alone(void **state)
{
    (void)state;
    ledger *stale = fresh("shm-alone.db");
    claim_and_finish(stale, "h-1");
    assert_int_equal(unlink(side("-shm")), 0);
    char key[LEDGER_KEY_HEX + 1], cmd[1024];
    ledger_key(SRC, "h-2", key);
    snprintf(cmd, sizeof cmd,
             "sqlite3 -cmd '.timeout 5000' %s \"INSERT INTO ledger_events (key, source, id, status,"
             " first_seen_ms, last_seen_ms, lease_until_ms, attempts) VALUES ('%s', '%s', 'h-2',"
             " 'done', 1, 1, 0, 1)\"",
             path, key, SRC);
    assert_int_equal(system(cmd), 0);
    assert_true(exists(side("-shm")));
    ledger_claim_result res;
    assert_int_equal(claim(stale, "h-3", &res), LEDGER_ERR_UNAVAILABLE);
    assert_non_null(strstr(ledger_last_error(stale), "-shm was"));
    ledger_close(stale);

    /* Read by another process: this one keeps the stale wal-index for the database. */
    snprintf(cmd, sizeof cmd,
             "test \"$(sqlite3 -cmd '.timeout 5000' %s \"SELECT group_concat(id || '=' || status)"
             " FROM (SELECT id, status FROM ledger_events ORDER BY id)\")\" = 'h-1=done,h-2=done'",
             path);
    assert_int_equal(system(cmd), 0);
}

/* ---- the -shm truncated: SIGBUS inside SQLite becomes an error ------------------------------ */

/* In a child, so that the fault's abandoned state stays there: 0 when every check held. SIGBUS
 * as a process starts with it (cmocka catches it in the test's own process). */
static int shm_truncated_child(void)
{
    signal(SIGBUS, SIG_DFL);
    ledger *l = create_here();
    claim_and_finish(l, "s-1");
    if (truncate(side("-shm"), 0) != 0)
        return 10;
    ledger_claim_result res;
    if (claim(l, "s-2", &res) != LEDGER_ERR_UNAVAILABLE)
        return 11;
    if (!ledger_lost(l) || !ledger_lost(NULL) || !strstr(ledger_last_error(l), "SIGBUS"))
        return 12;
    if (ledger_ping(l) != LEDGER_ERR_UNAVAILABLE) /* never handed to SQLite again */
        return 13;
    ledger_close(l); /* abandoned, not closed: no second fault */
    return 0;
}

static void test_shm_truncated_is_an_error_not_a_signal(void **state)
{
    (void)state;
    use("shm.db");
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        _exit(shm_truncated_child());
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    if (WIFSIGNALED(status))
        fail_msg("the ledger's process died on signal %d", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The next process opens the ledger and finds what was finished before the fault. */
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX], st[16];
    assert_int_equal(ledger_open(url, &l, err), LEDGER_OK);
    assert_string_equal(status_of(l, "s-1", st), "done");
    assert_string_equal(status_of(l, "s-2", st), "not found");
    assert_false(ledger_lost(l));
    ledger_close(l);
}

/* The guard takes only faults inside SQLite: any other SIGBUS does what it always did. */
static void test_other_sigbus_still_kills(void **state)
{
    (void)state;
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        signal(SIGBUS, SIG_DFL);
        ledger_close(fresh("other-sigbus.db")); /* the guard is installed */
        raise(SIGBUS);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGBUS);
}

/* ---- the identity check itself -------------------------------------------------------------- */

static void test_intact_until_a_path_names_another_file(void **state)
{
    (void)state;
    ledger_close(fresh("ids.db"));
    for (int i = 0; i < 3; i++) {
        int fd = open(side(i == 0 ? "" : i == 1 ? "-wal" : "-shm"), O_CREAT | O_WRONLY, 0640);
        assert_true(fd >= 0);
        close(fd);
    }
    ledger_file f;
    char err[LEDGER_ERR_MAX];
    assert_int_equal(ledger_file_pin(&f, path, err), 0);
    assert_true(ledger_file_intact(&f, true));
    /* The same file under the same name again (a rename onto itself) is still the file. */
    char moved[160];
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(side("-shm"), moved), 0);
    assert_int_equal(rename(moved, side("-shm")), 0);
    assert_true(ledger_file_intact(&f, true));
    /* Another file under the -shm's name. */
    assert_int_equal(rename(side("-shm"), moved), 0);
    int fd = open(side("-shm"), O_CREAT | O_WRONLY, 0640);
    assert_true(fd >= 0);
    close(fd);
    clk_sleep_ms(LEDGER_FILE_CHECK_MS + 5);
    assert_false(
        ledger_file_intact(&f, false)); /* noticed without FORCE once the interval passed */
    assert_non_null(strstr(f.why, "-shm was replaced"));
    /* Lost for good, even once the original is back. */
    assert_int_equal(rename(moved, side("-shm")), 0);
    assert_false(ledger_file_intact(&f, true));
    ledger_file_release(&f);

    remove_all();
    assert_int_equal(ledger_file_pin(&f, path, err), -1);
    assert_non_null(strstr(err, path));
}

/* ---- the service: 503 with Retry-After, /readyz says why, the worker is to be replaced ------ */

static void deliver(service *svc, arena *a, const char *id, http_response *resp)
{
    http_header h[] = {{"ce-specversion", "1.0"},
                       {"ce-type", "t.v1"},
                       {"ce-source", "//unit/file"},
                       {"ce-id", id},
                       {"content-type", "application/json"}};
    http_request req = {.method = id ? "POST" : "GET",
                        .path = id ? "/" : "/readyz",
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = id ? 5 : 0,
                        .body = (const unsigned char *)"{}",
                        .body_len = 2};
    memset(resp, 0, sizeof *resp);
    service_handle(svc, &req, a, resp);
}

static const char *header(const http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void test_service_answers_503_and_asks_for_a_restart(void **state)
{
    (void)state;
    ledger_close(fresh("service.db"));
    config cfg;
    config_defaults(&cfg);
    config_set_string(&cfg.listen, "unix:/tmp/unused.sock");
    config_set_string(&cfg.ledger.url, url);
    cfg.auth.disabled = true;
    char err[256];
    service *svc = service_new(&cfg, NULL, err, sizeof err);
    if (!svc)
        fail_msg("service_new: %s", err);
    arena *a = arena_new(4096);
    http_response resp;
    deliver(svc, a, "before", &resp);
    assert_int_equal(resp.status, 200);
    assert_false(service_restart_wanted(svc));

    remove_all();
    arena_reset(a);
    deliver(svc, a, "after", &resp);
    assert_int_equal(resp.status, 503);
    assert_non_null(header(&resp, "Retry-After"));
    assert_true(service_restart_wanted(svc));
    arena_reset(a);
    deliver(svc, a, NULL, &resp); /* /readyz */
    assert_int_equal(resp.status, 503);
    assert_non_null(memmem(resp.body, resp.body_len, "was deleted", strlen("was deleted")));

    /* A fresh worker finds no ledger, creates none, and says so. */
    service_free(svc);
    svc = service_new(&cfg, NULL, err, sizeof err);
    assert_non_null(svc);
    arena_reset(a);
    deliver(svc, a, "after", &resp);
    assert_int_equal(resp.status, 503);
    assert_false(service_restart_wanted(svc));
    arena_reset(a);
    deliver(svc, a, NULL, &resp);
    assert_int_equal(resp.status, 503);
    assert_non_null(memmem(resp.body, resp.body_len, "no ledger at", strlen("no ledger at")));
    assert_false(exists(path));
    service_free(svc);
    arena_free(a);
    config_free(&cfg);
}

int main(void)
{
    builtins_register(); /* as the binaries do */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_never_creates),
        cmocka_unit_test(test_retrainctl_does_not_create),
        cmocka_unit_test(test_deleted_file_fails_every_call),
        cmocka_unit_test(test_write_into_a_replaced_file_is_not_done),
        cmocka_unit_test(test_wal_deleted_alone),
        cmocka_unit_test(test_shm_deleted_alone),
        cmocka_unit_test(test_shm_truncated_is_an_error_not_a_signal),
        cmocka_unit_test(test_other_sigbus_still_kills),
        cmocka_unit_test(test_intact_until_a_path_names_another_file),
        cmocka_unit_test(test_service_answers_503_and_asks_for_a_restart),
    };
    return cmocka_run_group_tests_name("ledger_file", tests, setup, teardown);
}
