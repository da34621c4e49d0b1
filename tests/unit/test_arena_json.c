/* Unit tests for arena_json: a reference handed to an arena lives until the reset, then goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "arena_json.h"

static void test_released_at_reset_not_before(void **state)
{
    (void)state;
    arena *a = arena_new(128);
    json_t *j = json_pack("{s:s}", "name", "projects/p/locations/r/customJobs/1");
    json_incref(j); /* the test's own reference, to watch the arena's go */
    assert_ptr_equal(arena_json(a, j), j);
    assert_int_equal(j->refcount, 2);
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "projects/p/locations/r/customJobs/1");
    arena_reset(a);
    assert_int_equal(j->refcount, 1);
    json_decref(j);
    arena_free(a);
}

/* Many references, some shared: each one handed over is released once, by free as by reset. */
static void test_each_reference_once_at_free(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    json_t *shared = json_array(); /* the test's own reference */
    for (int i = 0; i < 100; i++)
        assert_non_null(arena_json(a, json_incref(shared)));
    assert_int_equal(shared->refcount, 101);
    arena_free(a);
    assert_int_equal(shared->refcount, 1);
    json_decref(shared);
}

static void test_null_is_null(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    assert_null(arena_json(a, NULL));
    assert_int_equal(arena_used(a), 0); /* nothing registered */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_released_at_reset_not_before),
        cmocka_unit_test(test_each_reference_once_at_free),
        cmocka_unit_test(test_null_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
