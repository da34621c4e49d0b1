/* gc: one collection removes finished records past the age and never a claim in flight; a
 * ledger that cannot be opened is an error, not an empty success. */
#include "gc.h"
#include "ledger.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

static void claim(ledger *l, const char *id, bool finish)
{
    char key[LEDGER_KEY_HEX + 1];
    ledger_key("//gc", id, key);
    ledger_event ev = {.source = "//gc", .id = id, .type = "t"};
    ledger_claim_result res;
    ledger_record rec;
    assert_int_equal(ledger_claim(l, key, &ev, 600, &res, &rec), LEDGER_OK);
    ledger_hold h = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    if (finish)
        assert_int_equal(ledger_finish(l, &h, "done", NULL, NULL), LEDGER_OK);
}

static void test_collects_finished_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-gc.XXXXXX", url[128], err[LEDGER_ERR_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite://%s/ledger.db", dir);
    ledger *l;
    assert_int_equal(ledger_create(url, &l, err), LEDGER_OK);
    claim(l, "done-1", true);
    claim(l, "done-2", true);
    claim(l, "in-flight", false);
    int64_t removed = -1;
    assert_int_equal(gc_collect(url, 3600, &removed), 0); /* nothing that old */
    assert_int_equal(removed, 0);
    usleep(20 * 1000);
    assert_int_equal(gc_collect(url, 0, &removed), 0);
    assert_int_equal(removed, 2);
    ledger_record recs[4];
    size_t n = 0;
    ledger_query q = {.limit = 4};
    assert_int_equal(ledger_list(l, &q, recs, 4, &n), LEDGER_OK);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].status, "claimed");
    ledger_record_clear(&recs[0]);
    ledger_close(l);

    char missing[160];
    snprintf(missing, sizeof missing, "sqlite://%s/none.db", dir);
    assert_int_equal(gc_collect(missing, 0, &removed), -1); /* never creates one */
    assert_int_equal(access(missing + 9, F_OK), -1);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_collects_finished_only)};
    return cmocka_run_group_tests_name("gc", tests, NULL, NULL);
}
