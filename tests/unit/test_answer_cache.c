/* Unit tests for answer_cache: hits, misses, replacement, the size bound, LRU eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer_cache.h"
#include "ledger.h"

static void key_of(int n, char key[LEDGER_KEY_HEX + 1])
{
    char id[16];
    snprintf(id, sizeof id, "e-%d", n);
    ledger_key("//test", id, key);
}

static void test_hit_miss_replace(void **state)
{
    (void)state;
    answer_cache *c = answer_cache_new(8, 60000);
    char k1[LEDGER_KEY_HEX + 1], k2[LEDGER_KEY_HEX + 1];
    key_of(1, k1);
    key_of(2, k2);
    size_t len = 0;
    assert_null(answer_cache_get(c, k1, 0, &len, NULL));
    answer_cache_put(c, k1, "{\"a\":1}", 7, "churn", 0);
    const char *rule = NULL;
    const char *got = answer_cache_get(c, k1, 0, &len, &rule);
    assert_non_null(got);
    assert_string_equal(rule, "churn"); /* kept beside the answer, for counting its copies */
    assert_int_equal(len, 7);
    assert_memory_equal(got, "{\"a\":1}", 7);
    assert_null(answer_cache_get(c, k2, 0, &len, NULL));
    answer_cache_put(c, k1, "{\"a\":22}", 8, NULL, 0); /* the same key again: replaced */
    got = answer_cache_get(c, k1, 0, &len, &rule);
    assert_int_equal(len, 8);
    assert_string_equal(rule, "");
    assert_memory_equal(got, "{\"a\":22}", 8);
    assert_null(answer_cache_get(c, "not-a-key", 0, &len, NULL));
    answer_cache_free(c);
}

static void test_bounded_and_lru(void **state)
{
    (void)state;
    answer_cache *c = answer_cache_new(16, 60000);
    char keys[200][LEDGER_KEY_HEX + 1];
    for (int i = 0; i < 200; i++) {
        key_of(i, keys[i]);
        answer_cache_put(c, keys[i], "x", 1, NULL, 0);
    }
    int held = 0;
    size_t len;
    for (int i = 0; i < 200; i++)
        held += answer_cache_get(c, keys[i], 0, &len, NULL) != NULL;
    assert_true(held <= 16);
    assert_true(held >= 8); /* every set is full after 200 puts */
    /* A key read just now survives the next put into its full set; the least recent goes. */
    answer_cache *one = answer_cache_new(4, 60000); /* a single set of 4 */
    for (int i = 0; i < 4; i++)
        answer_cache_put(one, keys[i], "y", 1, NULL, 0);
    assert_non_null(answer_cache_get(one, keys[0], 0, &len, NULL));
    answer_cache_put(one, keys[4], "z", 1, NULL, 0);
    assert_non_null(answer_cache_get(one, keys[0], 0, &len, NULL));
    assert_null(answer_cache_get(one, keys[1], 0, &len, NULL));
    assert_non_null(answer_cache_get(one, keys[4], 0, &len, NULL));
    answer_cache_free(one);
    answer_cache_free(c);
}

static void test_disabled_and_large(void **state)
{
    (void)state;
    answer_cache *off = answer_cache_new(0, 60000);
    char k[LEDGER_KEY_HEX + 1];
    key_of(7, k);
    size_t len;
    answer_cache_put(off, k, "x", 1, NULL, 0);
    assert_null(answer_cache_get(off, k, 0, &len, NULL));
    answer_cache_free(off);
    answer_cache *c = answer_cache_new(4, 60000);
    static char big[5000];
    memset(big, 'a', sizeof big);
    answer_cache_put(c, k, big, sizeof big, NULL, 0);
    assert_null(answer_cache_get(c, k, 0, &len, NULL));
    answer_cache_free(c);
    answer_cache_free(NULL);
}

/* An answer is served for the TTL, then the ledger is asked again (and refreshes last_seen). */
static void test_ttl(void **state)
{
    (void)state;
    answer_cache *c = answer_cache_new(8, 60000);
    char k[LEDGER_KEY_HEX + 1];
    key_of(3, k);
    size_t len;
    answer_cache_put(c, k, "t", 1, NULL, 1000);
    assert_non_null(answer_cache_get(c, k, 60999, &len, NULL));
    assert_null(answer_cache_get(c, k, 61000, &len, NULL));
    answer_cache_put(c, k, "t", 1, NULL, 61000);
    assert_non_null(answer_cache_get(c, k, 61001, &len, NULL));
    answer_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_replace),
        cmocka_unit_test(test_bounded_and_lru),
        cmocka_unit_test(test_disabled_and_large),
        cmocka_unit_test(test_ttl),
    };
    return cmocka_run_group_tests_name("answer_cache", tests, NULL, NULL);
}
