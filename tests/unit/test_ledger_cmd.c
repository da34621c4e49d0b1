/* `retrainctl events list|show`, `retrainctl batches list` and `retrainctl gc`, called as functions
 * against a SQLite ledger in a temp dir, with stdout captured in a file and parsed back as JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "builtins.h"
#include "cmd_batches.h"
#include "cmd_events.h"
#include "ledger.h"
#include "runs.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/cmd"

static char dir[64], url[128], out_path[128], err_path[128];
static char keys[5][LEDGER_KEY_HEX + 1];

/* Runs FN with ARGV (NULL-terminated), stdout and stderr captured; returns its exit status. */
static int run_argv(int (*fn)(int, char **), char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(out);
    close(err);
    close(saved_out);
    close(saved_err);
    return rc;
}

#define RUN(fn, ...) run_argv(fn, (char *[]){__VA_ARGS__, NULL})

/* The captured stdout as JSON values, one per line; returns how many. */
static size_t output_lines(json_t *lines[16])
{
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = 0;
    while (n < 16 && fgets(buf, sizeof buf, f)) {
        json_error_t e;
        lines[n] = json_loads(buf, 0, &e);
        if (!lines[n])
            fail_msg("not JSON: %s (%s)", buf, e.text);
        n++;
    }
    fclose(f);
    return n;
}

static json_t *output_whole(void)
{
    json_error_t e;
    json_t *v = json_load_file(out_path, JSON_DISABLE_EOF_CHECK, &e);
    if (!v)
        fail_msg("stdout is not JSON: %s", e.text);
    return v;
}

static bool stderr_has(const char *needle)
{
    char buf[4096] = "";
    FILE *f = fopen(err_path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return strstr(buf, needle) != NULL;
}

static void free_lines(json_t *lines[], size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_ledger_cmd.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(url, sizeof url, "sqlite://%s/ledger.db", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    ledger *l;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(url, &l, err) != LEDGER_OK)
        return -1;
    /* Five events: done, claimed, failed, done, ignored. */
    const char *final[] = {"done", NULL, "failed", "done", "ignored"};
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "evt-%d", i);
        ledger_key(SRC, id, keys[i]);
        ledger_event ev = {.source = SRC, .id = id, .type = "t", .event_json = "{\"n\":1}"};
        ledger_claim_result res;
        ledger_record rec;
        if (ledger_claim(l, keys[i], &ev, 60, &res, &rec) != LEDGER_OK || res != LEDGER_NEW)
            return -1;
        ledger_hold hold = ledger_hold_of(&rec);
        ledger_record_clear(&rec);
        if (final[i] && ledger_finish(l, &hold, final[i], "{\"job\":\"j\"}", NULL) != LEDGER_OK)
            return -1;
        usleep(3000);
    }
    /* The same id from another source, for `show ID`. */
    char other[LEDGER_KEY_HEX + 1];
    ledger_key("//other/source", "evt-4", other);
    ledger_event ev = {.source = "//other/source", .id = "evt-4"};
    ledger_claim_result res;
    ledger_status st = ledger_claim(l, other, &ev, 60, &res, NULL);
    ledger_close(l);
    unsetenv("RETRAIN_LEDGER");
    unsetenv("RETRAIN_CONFIG");
    return st == LEDGER_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_list_all_and_filters(void **state)
{
    (void)state;
    json_t *lines[16];
    assert_int_equal(RUN(cmd_events, "events", "list", "--ledger", url), 0);
    size_t n = output_lines(lines);
    assert_int_equal(n, 6);
    for (int i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_object_get(lines[i], "key")), keys[i]);
    assert_string_equal(json_string_value(json_object_get(lines[1], "status")), "claimed");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(lines[0], "outcome"), "job")), "j");
    assert_non_null(strchr(json_string_value(json_object_get(lines[0], "first_seen")), 'T'));
    assert_null(json_object_get(lines[0], "event")); /* list stays short; show has it */
    free_lines(lines, n);

    assert_int_equal(RUN(cmd_events, "events", "list", "--status", "done", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 2);
    assert_string_equal(json_string_value(json_object_get(lines[1], "key")), keys[3]);
    free_lines(lines, n);

    assert_int_equal(RUN(cmd_events, "events", "list", "--limit", "3", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 3);
    free_lines(lines, n);

    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "1h", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 6);
    free_lines(lines, n);
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "2h ago", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 6);
    free_lines(lines, n);
    assert_int_equal(
        RUN(cmd_events, "events", "list", "--since", "2999-01-01T00:00:00Z", "--ledger", url), 0);
    assert_int_equal(output_lines(lines), 0);
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "2000-01-01T00:00:00.5+02:00",
                         "--ledger", url),
                     0);
    n = output_lines(lines);
    assert_int_equal(n, 6);
    free_lines(lines, n);
}

static void test_show_by_key_and_id(void **state)
{
    (void)state;
    assert_int_equal(RUN(cmd_events, "events", "show", keys[2], "--ledger", url), 0);
    json_t *rec = output_whole();
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(rec, "id")), "evt-2");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "event"), "n")), 1);
    json_decref(rec);

    assert_int_equal(RUN(cmd_events, "events", "show", "--ledger", url, "evt-0"), 0);
    rec = output_whole();
    assert_string_equal(json_string_value(json_object_get(rec, "key")), keys[0]);
    json_decref(rec);

    /* An id shared by two sources shows both. */
    assert_int_equal(RUN(cmd_events, "events", "show", "evt-4", "--ledger", url), 0);
    FILE *f = fopen(out_path, "r");
    char buf[16384];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    assert_non_null(strstr(buf, SRC));
    assert_non_null(strstr(buf, "//other/source"));

    char unknown[LEDGER_KEY_HEX + 1];
    ledger_key(SRC, "never", unknown);
    assert_int_equal(RUN(cmd_events, "events", "show", unknown, "--ledger", url), 1);
    assert_true(stderr_has("no event"));
    assert_int_equal(RUN(cmd_events, "events", "show", "no-such-id", "--ledger", url), 1);
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(RUN(cmd_events, "events"), 2);
    assert_int_equal(RUN(cmd_events, "events", "frobnicate"), 2);
    assert_true(stderr_has("unknown action"));
    assert_int_equal(RUN(cmd_events, "events", "list", "--status", "bogus", "--ledger", url), 2);
    assert_true(stderr_has("--status"));
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "yesterday"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "2026-13-01T00:00:00Z"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "2026-11-01T00:00:00"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--since", "5x"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--limit", "0"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--limit", "ten"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--wat"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "extra", "--ledger", url), 2);
    assert_int_equal(RUN(cmd_events, "events", "show", "--ledger", url), 2);
    assert_int_equal(RUN(cmd_events, "events", "show", "--status", "done", "x"), 2);
    assert_int_equal(RUN(cmd_events, "events", "list", "--ledger", "mysql://x"), 2);
    assert_true(stderr_has("sqlite://"));
    assert_int_equal(RUN(cmd_gc, "gc", "--older-than", "soon"), 2);
    assert_int_equal(RUN(cmd_gc, "gc", "--older-than"), 2);
    assert_int_equal(RUN(cmd_gc, "gc", "stray"), 2);

    assert_int_equal(RUN(cmd_events, "events", "--help"), 0);
    FILE *f = fopen(out_path, "r");
    char buf[256] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_non_null(strstr(buf, "usage: retrainctl events list"));
    assert_int_equal(RUN(cmd_events, "events", "list", "--help"), 0);
    assert_int_equal(RUN(cmd_gc, "gc", "--help"), 0);
}

static void test_ledger_from_environment_and_config(void **state)
{
    (void)state;
    json_t *lines[16];
    setenv("RETRAIN_LEDGER", url, 1);
    assert_int_equal(RUN(cmd_events, "events", "list", "--status", "failed"), 0);
    size_t n = output_lines(lines);
    assert_int_equal(n, 1);
    free_lines(lines, n);
    unsetenv("RETRAIN_LEDGER");

    char cfg_path[128];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    FILE *f = fopen(cfg_path, "w");
    fprintf(f, "{\"ledger\": {\"url\": \"%s\"}}\n", url);
    fclose(f);
    setenv("RETRAIN_CONFIG", cfg_path, 1);
    assert_int_equal(RUN(cmd_events, "events", "list", "--status", "ignored"), 0);
    n = output_lines(lines);
    assert_int_equal(n, 1);
    free_lines(lines, n);

    f = fopen(cfg_path, "w");
    fputs("{\"ledger\": {\"url\": 5}}\n", f);
    fclose(f);
    assert_int_equal(RUN(cmd_events, "events", "list"), 2);
    assert_true(stderr_has("ledger.url"));
    unsetenv("RETRAIN_CONFIG");
}

/* Two batches of rule "shards" (one full, one open) and the config that says what they wait
 * for: each listed with its key, events and conditions; --rule filters. */
static void test_batches_list(void **state)
{
    (void)state;
    ledger *l;
    char err[LEDGER_ERR_MAX];
    assert_int_equal(ledger_open(url, &l, err), LEDGER_OK);
    runs_batch_terms t = {.rule = "shards",
                          .action = "train",
                          .key = "shards/d1",
                          .min_events = 2,
                          .quiet_period_s = 60,
                          .max_wait_s = 600};
    for (int i = 0; i < 3; i++) {
        char id[32], key[LEDGER_KEY_HEX + 1], run[RUN_ID_LEN + 1];
        snprintf(id, sizeof id, "shard-%d", i);
        ledger_key(SRC, id, key);
        ledger_event ev = {.source = SRC, .id = id, .type = "t"};
        ledger_claim_result res;
        ledger_record rec;
        assert_int_equal(ledger_claim(l, key, &ev, 60, &res, &rec), LEDGER_OK);
        ledger_hold hold = ledger_hold_of(&rec);
        ledger_record_clear(&rec);
        int size;
        bool closed;
        assert_int_equal(runs_batch_join(l, &hold, &t, run, &size, &closed), LEDGER_OK);
        usleep(3000);
    }
    ledger_close(l);
    char cfg_path[128];
    snprintf(cfg_path, sizeof cfg_path, "%s/batches.json", dir);
    FILE *f = fopen(cfg_path, "w");
    fprintf(f,
            "{\"function\": \"retrain\", \"ledger\": {\"url\": \"%s\"},"
            " \"rules\": [{\"name\": \"shards\", \"action\": \"train\","
            " \"match\": {\"type\": \"t\"}, \"batch\": {\"min_events\": 2,"
            " \"quiet_period_s\": 60, \"max_wait_s\": 600, \"marker\": \"**_SUCCESS\"},"
            " \"job\": {\"displayName\": \"s\", \"jobSpec\": {\"workerPoolSpecs\": [{"
            "\"machineSpec\": {\"machineType\": \"n1-standard-4\"}, \"replicaCount\": 1,"
            " \"containerSpec\": {\"imageUri\": \"img\"}}]}}}]}\n",
            url);
    fclose(f);
    setenv("RETRAIN_CONFIG", cfg_path, 1);
    json_t *lines[16];
    assert_int_equal(RUN(cmd_batches, "batches", "list"), 0);
    size_t n = output_lines(lines);
    assert_int_equal(n, 2);
    /* The full one first: closed, waiting for its submission. */
    assert_string_equal(json_string_value(json_object_get(lines[0], "state")), "closed");
    assert_string_equal(json_string_value(json_object_get(lines[0], "closed_by")), "min_events");
    assert_int_equal(json_integer_value(json_object_get(lines[0], "events")), 2);
    assert_non_null(json_object_get(json_object_get(lines[0], "waits_for"), "submission"));
    json_t *open = lines[1], *w = json_object_get(open, "waits_for");
    assert_string_equal(json_string_value(json_object_get(open, "key")), "shards/d1");
    assert_string_equal(json_string_value(json_object_get(open, "state")), "open");
    assert_int_equal(json_integer_value(json_object_get(open, "events")), 1);
    assert_int_equal(json_integer_value(json_object_get(w, "events_to_go")), 1);
    assert_string_equal(json_string_value(json_object_get(w, "marker")), "**_SUCCESS");
    assert_string_equal(json_string_value(json_object_get(w, "on_timeout")), "submit");
    assert_true(json_is_string(json_object_get(w, "quiet_until")));
    assert_true(json_is_string(json_object_get(w, "deadline")));
    assert_true(json_is_string(json_object_get(open, "first_event")));
    free_lines(lines, n);
    assert_int_equal(RUN(cmd_batches, "batches", "list", "--rule", "other"), 0);
    assert_int_equal(output_lines(lines), 0);
    /* Without a config there is nothing to say what they wait for. */
    unsetenv("RETRAIN_CONFIG");
    assert_int_equal(RUN(cmd_batches, "batches", "list", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 2);
    assert_true(json_is_null(json_object_get(lines[1], "waits_for")));
    free_lines(lines, n);
    assert_int_equal(RUN(cmd_batches, "batches"), 2);
    assert_int_equal(RUN(cmd_batches, "batches", "show"), 2);
    assert_int_equal(RUN(cmd_batches, "batches", "list", "extra", "--ledger", url), 2);
    assert_int_equal(RUN(cmd_batches, "batches", "list", "--rule", "", "--ledger", url), 2);
    assert_int_equal(RUN(cmd_batches, "batches", "--help"), 0);
}

static void test_gc_removes_finished(void **state)
{
    (void)state;
    json_t *lines[16];
    assert_int_equal(RUN(cmd_gc, "gc", "--ledger", url), 0); /* 7 days: nothing is that old */
    size_t n = output_lines(lines);
    assert_int_equal(n, 1);
    assert_int_equal(json_integer_value(json_object_get(lines[0], "removed")), 0);
    assert_int_equal(json_integer_value(json_object_get(lines[0], "older_than_s")), 7 * 86400);
    free_lines(lines, n);

    usleep(20000);
    assert_int_equal(RUN(cmd_gc, "gc", "--older-than", "0s", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(json_integer_value(json_object_get(lines[0], "removed")), 4);
    free_lines(lines, n);
    assert_int_equal(RUN(cmd_events, "events", "list", "--ledger", url), 0);
    n = output_lines(lines);
    assert_int_equal(n, 2); /* the two claimed records stay */
    free_lines(lines, n);
}

int main(void)
{
    builtins_register(); /* as retrainctl does: the retrain function reads its config */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_all_and_filters),
        cmocka_unit_test(test_show_by_key_and_id),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_ledger_from_environment_and_config),
        cmocka_unit_test(test_gc_removes_finished),
        cmocka_unit_test(test_batches_list), /* last: its events stay claimed */
    };
    return cmocka_run_group_tests_name("ledger_cmd", tests, setup, teardown);
}
