/* lease: what a claim becomes (ours, reclaimed, duplicate, busy, a redeliverable failure
 * reopened), and what a run under it records (finish, release, nothing once taken over). */
#include "lease.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct {
    char dir[64], url[128];
    ledger *l;
    arena *a;
    config cfg;
    cloudevent ev;
} fixture;

static fn_result scripted; /* what the function says */
static int calls;
static bool saw_reclaimed;

static void scripted_handle(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    (void)ev;
    calls++;
    saw_reclaimed = ctx->reclaimed;
    *out = scripted;
    if (scripted.outcome)
        json_incref(scripted.outcome);
}

static const fn_def scripted_fn = {.name = "scripted", .handle = scripted_handle};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-lease.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite://%s/ledger.db", f->dir);
    char err[LEDGER_ERR_MAX];
    if (ledger_create(f->url, &f->l, err) != LEDGER_OK)
        fail_msg("ledger_create: %s", err);
    f->a = arena_new(4096);
    f->ev = (cloudevent){.id = "e-1", .source = "//unit", .type = "t", .specversion = "1.0"};
    calls = 0;
    scripted = (fn_result){.status = FN_DONE};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ledger_close(f->l);
    arena_free(f->a);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static lease_verdict take(fixture *f, const char *id, int lease_s, lease *ls)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key("//unit", id, key);
    ledger_event le = {.source = "//unit", .id = id, .type = "t", .event_json = "{}"};
    return lease_take(ls, f->l, lease_s, key, &le);
}

static lease_answer run(fixture *f, lease *ls)
{
    lease_answer ans;
    lease_run(ls, &scripted_fn, NULL, &f->cfg, &f->ev, f->a, &ans);
    return ans;
}

static void test_new_done_then_duplicate(void **state)
{
    fixture *f = *state;
    lease ls;
    assert_int_equal(take(f, "e-1", 60, &ls), LEASE_OURS);
    assert_false(ls.reclaimed);
    assert_int_equal(ls.hold.attempt, 1);
    scripted.outcome = json_pack("{s:s}", "job", "j1");
    lease_answer ans = run(f, &ls);
    json_decref(scripted.outcome);
    assert_int_equal(ans.http_status, 200);
    assert_string_equal(json_string_value(json_object_get(ans.body, "status")), "processed");
    json_decref(ans.body);
    lease_end(&ls);

    assert_int_equal(take(f, "e-1", 60, &ls), LEASE_DUPLICATE);
    assert_string_equal(ls.record.status, "done");
    assert_string_equal(ls.record.outcome, "{\"job\":\"j1\"}");
    lease_end(&ls);
    assert_int_equal(calls, 1);
}

static void test_busy_then_reclaimed(void **state)
{
    fixture *f = *state;
    lease first, second;
    assert_int_equal(take(f, "e-2", 1, &first), LEASE_OURS);
    assert_int_equal(take(f, "e-2", 1, &second), LEASE_BUSY);
    lease_end(&second);
    usleep(1200 * 1000);
    assert_int_equal(take(f, "e-2", 60, &second), LEASE_OURS);
    assert_true(second.reclaimed);
    assert_int_equal(second.hold.attempt, 2);

    /* The first holder, taken over, records nothing: its run asks for a retry. */
    lease_answer ans = run(f, &first);
    assert_int_equal(ans.http_status, 503);
    assert_string_equal(ans.code, "ledger_unavailable");
    ans = run(f, &second);
    assert_int_equal(ans.http_status, 200);
    assert_true(saw_reclaimed);
    json_decref(ans.body);
    lease_end(&first);
    lease_end(&second);
}

static void test_retry_releases(void **state)
{
    fixture *f = *state;
    lease ls;
    assert_int_equal(take(f, "e-3", 60, &ls), LEASE_OURS);
    scripted = (fn_result){.status = FN_RETRY, .error = "vertex 503", .retry_after_s = 7};
    lease_answer ans = run(f, &ls);
    assert_int_equal(ans.http_status, 503);
    assert_string_equal(ans.retry_after, "7");
    assert_string_equal(ans.message, "vertex 503");
    lease_end(&ls);
    /* Released: the next delivery takes it at once, as a reclaim. */
    assert_int_equal(take(f, "e-3", 60, &ls), LEASE_OURS);
    assert_true(ls.reclaimed);
    lease_end(&ls);
}

static void test_redeliverable_failure_is_reopened(void **state)
{
    fixture *f = *state;
    lease ls;
    assert_int_equal(take(f, "e-4", 60, &ls), LEASE_OURS);
    scripted = (fn_result){.status = FN_FAILED, .error = "not JSON", .redeliverable = true};
    lease_answer ans = run(f, &ls);
    assert_int_equal(ans.http_status, 200);
    json_decref(ans.body);
    lease_end(&ls);
    assert_int_equal(take(f, "e-4", 60, &ls), LEASE_OURS); /* reopened, not a duplicate */
    assert_true(ls.reclaimed);
    lease ls2;
    assert_int_equal(take(f, "e-4", 60, &ls2), LEASE_BUSY); /* one reopen wins */
    lease_end(&ls2);
    scripted = (fn_result){.status = FN_FAILED, .error = "for good"};
    ans = run(f, &ls);
    json_decref(ans.body);
    lease_end(&ls);
    assert_int_equal(take(f, "e-4", 60, &ls), LEASE_DUPLICATE); /* a plain dead letter */
    assert_string_equal(ls.record.status, "failed");
    lease_end(&ls);

    /* The replay's reopen: only a failed record. */
    char key[LEDGER_KEY_HEX + 1];
    ledger_key("//unit", "e-4", key);
    assert_int_equal(lease_reopen(&ls, f->l, 60, key), LEASE_OURS);
    assert_int_equal(ls.hold.attempt, 3);
    assert_int_equal(lease_reopen(&ls2, f->l, 60, key), LEASE_BUSY);
    lease_end(&ls);
    lease_end(&ls2);
}

static int64_t lease_until(fixture *f, const char *key)
{
    ledger_record rec;
    assert_int_equal(ledger_get(f->l, key, &rec), LEDGER_OK);
    int64_t until = rec.lease_until_ms;
    ledger_record_clear(&rec);
    return until;
}

/* Held over a call: no write while the lease taken outlasts it, a renewal when it would not,
 * the usual length back after, and a hold taken over refused. */
static void test_hold_over_a_call(void **state)
{
    fixture *f = *state;
    lease ls;
    assert_int_equal(take(f, "e-5", 60, &ls), LEASE_OURS);
    const char *key = ls.hold.key;
    int64_t taken = lease_until(f, key);
    assert_int_equal(lease_hold_for(f->l, &ls.hold, 5000, 60), LEDGER_OK);
    assert_true(lease_until(f, key) == taken); /* nothing written */
    assert_int_equal(lease_hold_for(f->l, &ls.hold, 120000, 60), LEDGER_OK);
    int64_t renewed = lease_until(f, key);
    assert_true(renewed >= taken + 119000); /* 120 s + 60 s from now */
    lease_hold_done(f->l, &ls.hold, 60);
    assert_true(lease_until(f, key) < renewed - 100000); /* back to about 60 s */
    int64_t usual = lease_until(f, key);
    lease_hold_done(f->l, &ls.hold, 60); /* not renewed past it: nothing written */
    assert_true(lease_until(f, key) == usual);

    lease other;
    assert_int_equal(take(f, "e-6", 1, &other), LEASE_OURS);
    usleep(1200 * 1000);
    lease again;
    assert_int_equal(take(f, "e-6", 60, &again), LEASE_OURS); /* took it over */
    assert_int_equal(lease_hold_for(f->l, &other.hold, 5000, 60), LEDGER_ERR_STATE);
    lease_end(&ls);
    lease_end(&other);
    lease_end(&again);
}

/* lease_in: a duplicate's record, held by a lease in the arena, is readable until the reset and
 * released by it (ASan's leak check fails the test if it is not). */
static void test_lease_in_ends_with_the_arena(void **state)
{
    fixture *f = *state;
    lease ls;
    assert_int_equal(take(f, "e-9", 60, &ls), LEASE_OURS);
    lease_answer ans = run(f, &ls);
    json_decref(ans.body);
    lease_end(&ls);

    arena_reset(f->a); /* so the lease sits in the first block, which a reset keeps */
    lease *in = lease_in(f->a);
    assert_non_null(in);
    assert_int_equal(take(f, "e-9", 60, in), LEASE_DUPLICATE);
    assert_non_null(in->record.source);
    assert_string_equal(in->record.status, "done");
    arena_reset(f->a);
    /* lease_end ran: the record's strings are released and the record cleared. */
    assert_null(in->record.source);
    assert_string_equal(in->record.status, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_done_then_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_then_reclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliverable_failure_is_reopened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_over_a_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_in_ends_with_the_arena, setup, teardown),
    };
    return cmocka_run_group_tests_name("lease", tests, NULL, NULL);
}
