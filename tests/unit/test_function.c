/* Unit tests for the function registry: the built-ins are there, a function registers once by
 * name, lookups of unknown names fail, and the status words and ledger statuses of results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "builtins.h"
#include "function.h"

static void noop(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    (void)ev, (void)ctx;
    out->status = FN_IGNORED;
}

static void collect(const fn_def *def, void *arg)
{
    char *names = arg;
    strcat(names, def->name);
    strcat(names, " ");
}

static void test_registry(void **state)
{
    (void)state;
    assert_non_null(fn_lookup("echo"));
    assert_non_null(fn_lookup("retrain"));
    assert_null(fn_lookup("no-such-function"));
    static const fn_def mine = {.name = "mine", .summary = "a test function", .handle = noop};
    static const fn_def again = {.name = "echo", .handle = noop};
    static const fn_def empty = {.name = "empty"};
    assert_int_equal(fn_register(&mine), 0);
    assert_ptr_equal(fn_lookup("mine"), &mine);
    assert_int_equal(fn_register(&mine), -1);  /* a name registers once */
    assert_int_equal(fn_register(&again), -1); /* a built-in cannot be replaced */
    assert_int_equal(fn_register(&empty), -1); /* a function must handle events */
    char names[256] = "";
    fn_foreach(collect, names);
    assert_string_equal(names, "echo retrain mine ");
}

static void test_status_words(void **state)
{
    (void)state;
    assert_string_equal(fn_status_word(FN_DONE), "processed");
    assert_string_equal(fn_status_word(FN_COALESCED), "coalesced");
    assert_string_equal(fn_status_ledger(FN_DONE), "done");
    assert_string_equal(fn_status_ledger(FN_FAILED), "failed");
    assert_string_equal(fn_status_ledger(FN_IGNORED), "ignored");
    assert_null(fn_status_ledger(FN_RETRY)); /* a retry records nothing final */
}

int main(void)
{
    builtins_register(); /* as the binaries do */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_status_words),
    };
    return cmocka_run_group_tests_name("function", tests, NULL, NULL);
}
