/* test_token_cache — hit, miss, expiry, the size bound and LRU eviction. That the claims are
 * re-checked on a hit is tested through auth in test_auth.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "token_cache.h"

static int get(token_cache *c, const char *tok, int64_t now, const json_t **p, const char **kid)
{
    return token_cache_get(c, tok, strlen(tok), now, p, kid);
}

static void put(token_cache *c, const char *tok, int64_t exp)
{
    json_t *p = json_pack("{s:s,s:I}", "tok", tok, "exp", (json_int_t)exp);
    token_cache_put(c, tok, strlen(tok), p, "kid-1", exp);
    json_decref(p);
}

static void hit_and_miss(void **state)
{
    (void)state;
    token_cache *c = token_cache_new(16);
    const json_t *p = NULL;
    const char *kid = NULL;
    assert_false(get(c, "a.b.c", 0, &p, &kid));
    put(c, "a.b.c", 100);
    assert_true(get(c, "a.b.c", 0, &p, &kid));
    assert_string_equal(json_string_value(json_object_get(p, "tok")), "a.b.c");
    assert_string_equal(kid, "kid-1");
    /* A token differing in one byte, or a prefix, is another token. */
    assert_false(get(c, "a.b.d", 0, &p, &kid));
    assert_false(get(c, "a.b.", 0, &p, &kid));
    assert_int_equal(token_cache_count(c), 1);
    token_cache_free(c);
}

static void expiry(void **state)
{
    (void)state;
    token_cache *c = token_cache_new(16);
    const json_t *p;
    const char *kid;
    put(c, "tok", 100);
    assert_true(get(c, "tok", 99, &p, &kid));
    assert_false(get(c, "tok", 100, &p, &kid));
    assert_int_equal(token_cache_count(c), 0); /* dropped */
    assert_false(get(c, "tok", 50, &p, &kid));
    token_cache_free(c);
}

static void bounded(void **state)
{
    (void)state;
    token_cache *c = token_cache_new(64);
    assert_int_equal(token_cache_capacity(c), 64);
    char tok[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(tok, sizeof tok, "token-%d", i);
        put(c, tok, 1000);
        assert_true(token_cache_count(c) <= 64);
    }
    assert_true(token_cache_count(c) >= 32); /* the sets fill up, not one way */
    /* The most recent is there. */
    const json_t *p;
    const char *kid;
    assert_true(get(c, "token-999", 0, &p, &kid));
    token_cache_free(c);
    /* Odd capacities never exceed what was asked. */
    c = token_cache_new(7);
    assert_true(token_cache_capacity(c) <= 7 && token_cache_capacity(c) >= 4);
    token_cache_free(c);
}

static void lru_eviction(void **state)
{
    (void)state;
    token_cache *c = token_cache_new(4); /* one set of four ways */
    const json_t *p;
    const char *kid;
    put(c, "A", 1000);
    put(c, "B", 1000);
    put(c, "C", 1000);
    put(c, "D", 1000);
    assert_true(get(c, "A", 0, &p, &kid)); /* A becomes the most recent */
    put(c, "E", 1000);                     /* evicts B, the least recent */
    assert_false(get(c, "B", 0, &p, &kid));
    assert_true(get(c, "A", 0, &p, &kid));
    assert_true(get(c, "C", 0, &p, &kid));
    assert_true(get(c, "D", 0, &p, &kid));
    assert_true(get(c, "E", 0, &p, &kid));
    assert_int_equal(token_cache_count(c), 4);
    /* Storing the same token again replaces it rather than taking a second way. */
    put(c, "E", 2000);
    assert_int_equal(token_cache_count(c), 4);
    assert_true(get(c, "C", 0, &p, &kid));
    token_cache_free(c);
}

static void disabled(void **state)
{
    (void)state;
    token_cache *c = token_cache_new(0);
    assert_null(c);
    const json_t *p;
    const char *kid;
    put(c, "x", 100);
    assert_false(get(c, "x", 0, &p, &kid));
    assert_int_equal(token_cache_count(c), 0);
    token_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_and_miss), cmocka_unit_test(expiry),   cmocka_unit_test(bounded),
        cmocka_unit_test(lru_eviction), cmocka_unit_test(disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
