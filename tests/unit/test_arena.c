/* Unit tests for arena: alignment, growth past the first block, reset, the string helpers, the
 * cleanups that run at reset and free. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void assert_aligned(const void *p)
{
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
}

static void test_alignment(void **state)
{
    (void)state;
    arena *a = arena_new(256);
    assert_non_null(a);
    for (size_t n = 0; n < 100; n++) {
        unsigned char *p = arena_alloc(a, n % 13);
        assert_aligned(p);
        memset(p, 0xab, n % 13);
    }
    assert_aligned(arena_zalloc(a, 3));
    assert_aligned(arena_strdup(a, "x"));
    arena_free(a);
}

/* A zero-byte request still gets its own, distinct pointer. */
static void test_zero_size(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    void *p = arena_alloc(a, 0), *q = arena_alloc(a, 0);
    assert_aligned(p);
    assert_aligned(q);
    assert_ptr_not_equal(p, q);
    arena_free(a);
}

/* Allocations beyond the first block land in new blocks and earlier ones stay intact. */
static void test_growth_past_first_block(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    assert_non_null(a);
    unsigned char *blocks[50];
    for (int i = 0; i < 50; i++) {
        blocks[i] = arena_alloc(a, 100);
        assert_aligned(blocks[i]);
        memset(blocks[i], i, 100);
    }
    unsigned char *big = arena_alloc(a, 100000);
    assert_aligned(big);
    memset(big, 0xee, 100000);
    for (int i = 0; i < 50; i++)
        for (int k = 0; k < 100; k++)
            assert_int_equal(blocks[i][k], i);
    assert_true(arena_used(a) >= 50 * 100 + 100000);
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX / 2 + 1));
    arena_free(a);
}

static void test_used_counts_aligned_sizes(void **state)
{
    (void)state;
    arena *a = arena_new(4096);
    assert_int_equal(arena_used(a), 0);
    arena_alloc(a, 1);
    assert_int_equal(arena_used(a), alignof(max_align_t));
    arena_alloc(a, alignof(max_align_t) + 1);
    assert_int_equal(arena_used(a), 3 * alignof(max_align_t));
    arena_free(a);
}

/* After a reset the arena hands out the first block again from its start. */
static void test_reset(void **state)
{
    (void)state;
    arena *a = arena_new(128);
    void *first = arena_alloc(a, 16);
    for (int i = 0; i < 100; i++)
        assert_non_null(arena_alloc(a, 500));
    assert_true(arena_used(a) > 128);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    assert_ptr_equal(arena_alloc(a, 16), first);
    char *s = arena_strdup(a, "after reset");
    assert_string_equal(s, "after reset");
    arena_reset(a);
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
    arena_free(NULL);
}

static void test_zalloc(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    unsigned char *p = arena_alloc(a, 48);
    memset(p, 0xff, 48);
    arena_reset(a);
    unsigned char *z = arena_zalloc(a, 48);
    for (int i = 0; i < 48; i++)
        assert_int_equal(z[i], 0);
    arena_free(a);
}

static void test_strings(void **state)
{
    (void)state;
    arena *a = arena_new(32);
    assert_string_equal(arena_strdup(a, ""), "");
    assert_string_equal(arena_strdup(a, "hello"), "hello");
    assert_string_equal(arena_strndup(a, "hello world", 5), "hello");
    char *nul = arena_strndup(a, "ab\0cd", 5);
    assert_memory_equal(nul, "ab\0cd", 6);
    assert_string_equal(arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159), "x-42-003.1");
    assert_string_equal(arena_printf(a, "%s", ""), "");
    char longer[3000];
    memset(longer, 'q', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    char *p = arena_printf(a, "<%s>", longer); /* larger than the first block */
    assert_int_equal(strlen(p), sizeof longer + 1);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[sizeof longer], '>');
    arena_free(a);
}

/* Each cleanup appends its tag to a log, so the order and the count are visible. */
typedef struct {
    char log[64];
    arena *a; /* set: the cleanup registers one more (tag '+') while it runs */
} cleanup_log;

typedef struct {
    cleanup_log *log;
    char tag;
    const char *arena_text; /* arena memory the cleanup reads: still valid when it runs */
} cleanup_arg;

static void note_plus(void *p)
{
    cleanup_log *l = p;
    strncat(l->log, "+", sizeof l->log - strlen(l->log) - 1);
}

static void note(void *p)
{
    cleanup_arg *c = p;
    char s[3] = {c->tag, c->arena_text ? c->arena_text[0] : '.', '\0'};
    strncat(c->log->log, s, sizeof c->log->log - strlen(c->log->log) - 1);
    if (c->log->a) {
        arena *a = c->log->a;
        c->log->a = NULL;
        assert_int_equal(arena_on_reset(a, note_plus, c->log), 0);
    }
}

static void test_cleanups_run_newest_first_once(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    cleanup_log l = {0};
    cleanup_arg args[3] = {{&l, 'a', NULL}, {&l, 'b', NULL}, {&l, 'c', NULL}};
    for (int i = 0; i < 3; i++) {
        args[i].arena_text = arena_strdup(a, i == 1 ? "B" : "x");
        assert_int_equal(arena_on_reset(a, note, &args[i]), 0);
        for (int j = 0; j < 20; j++) /* the cleanups' memory spans several blocks */
            assert_non_null(arena_alloc(a, 40));
    }
    assert_string_equal(l.log, ""); /* nothing runs before the reset */
    arena_reset(a);
    assert_string_equal(l.log, "cxbBax"); /* newest first, the arena text still readable */
    arena_reset(a);
    assert_string_equal(l.log, "cxbBax"); /* and only once */
    assert_int_equal(arena_used(a), 0);
    arena_free(a);
}

/* arena_free runs them too; one registered by a cleanup runs in the same reset. */
static void test_cleanups_at_free_and_nested(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    cleanup_log l = {.a = a};
    cleanup_arg arg = {&l, 'z', NULL};
    assert_int_equal(arena_on_reset(a, note, &arg), 0);
    arena_reset(a);
    assert_string_equal(l.log, "z.+");
    cleanup_arg again = {&l, 'f', NULL};
    assert_int_equal(arena_on_reset(a, note, &again), 0);
    arena_free(a);
    assert_string_equal(l.log, "z.+f.");
}

static void count_and_check_zeroed(void *p)
{
    int *n = p;
    assert_int_equal(n[1], 0); /* zeroed when handed out, untouched since */
    n[0] = 0;
}

/* An owned object: zeroed, its cleanup run on it at the reset. */
static void test_zalloc_owned(void **state)
{
    (void)state;
    arena *a = arena_new(64);
    int *n = arena_zalloc_owned(a, 2 * sizeof(int), count_and_check_zeroed);
    assert_non_null(n);
    assert_int_equal(n[0], 0);
    n[0] = 42;
    arena_reset(a); /* the first block is kept: N is still readable */
    assert_int_equal(n[0], 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_zero_size),
        cmocka_unit_test(test_growth_past_first_block),
        cmocka_unit_test(test_used_counts_aligned_sizes),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_zalloc),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cleanups_run_newest_first_once),
        cmocka_unit_test(test_cleanups_at_free_and_nested),
        cmocka_unit_test(test_zalloc_owned),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
