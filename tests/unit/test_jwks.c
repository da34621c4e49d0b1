/* test_jwks — JWK set parsing, and the cached, shared, throttled key source driven with a fake
 * clock (times passed in) and a fake fetcher that counts its calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwks.h"
#include "log.h"
#include "support/jwt_mint.h"

static EVP_PKEY *k1, *k2, *weak;
static char *set1, *set2, *set12;
static char dir[64];

static int setup(void **state)
{
    (void)state;
    log_init("test_jwks", LOG_CRITICAL); /* the expected warnings would only be noise */
    k1 = mint_rsa_key(2048);
    k2 = mint_rsa_key(2048);
    weak = mint_rsa_key(1024);
    EVP_PKEY *both[] = {k1, k2};
    const char *kids[] = {"k1", "k2"};
    set1 = mint_jwks(both, kids, 1);
    set2 = mint_jwks(both + 1, kids + 1, 1);
    set12 = mint_jwks(both, kids, 2);
    snprintf(dir, sizeof dir, "/tmp/test_jwks.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(weak);
    free(set1);
    free(set2);
    free(set12);
    return 0;
}

static jwks *new_jwks(mint_fetcher *f, const char *cache_path)
{
    jwks_options o;
    jwks_options_default(&o);
    o.url = "https://www.googleapis.com/oauth2/v3/certs";
    o.cache_path = cache_path;
    o.fetch = mint_fetch;
    o.fetch_ctx = f;
    jwks *j = jwks_new(&o);
    assert_non_null(j);
    return j;
}

static jwks_status lookup(jwks *j, const char *kid, int64_t now)
{
    EVP_PKEY *key;
    jwks_status st = jwks_key_for_kid(j, kid, now, &key);
    assert_true((st == JWKS_OK) == (key != NULL));
    return st;
}

/* ---- parsing ------------------------------------------------------------------------------- */

static void parses_a_set(void **state)
{
    (void)state;
    char err[128];
    jwks_keyset *ks = jwks_keyset_parse(set12, strlen(set12), err, sizeof err);
    assert_non_null(ks);
    assert_int_equal(jwks_keyset_count(ks), 2);
    assert_int_equal(EVP_PKEY_eq(jwks_keyset_find(ks, "k1"), k1), 1);
    assert_int_equal(EVP_PKEY_eq(jwks_keyset_find(ks, "k2"), k2), 1);
    jwks_keyset_free(ks);
}

static void kid_matches_exactly(void **state)
{
    (void)state;
    char err[128];
    jwks_keyset *ks = jwks_keyset_parse(set12, strlen(set12), err, sizeof err);
    const char *near[] = {"K1", "k1 ", " k1", "k", "k10", "../k1", "\"k1\"", "k1/../k1", ""};
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
        assert_null(jwks_keyset_find(ks, near[i]));
    assert_null(jwks_keyset_find(ks, NULL));
    jwks_keyset_free(ks);
}

static void bad_keys_are_skipped(void **state)
{
    (void)state;
    json_t *good = jwks_key_to_jwk(k1, "good");
    json_t *weak_jwk = jwks_key_to_jwk(weak, "weak");
    const char *n = json_string_value(json_object_get(good, "n"));
    json_t *keys = json_pack(
        "[{s:s,s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,"
        "s:s},{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:i},i,O,O,O]",
        /* EC key */ "kty", "EC", "kid", "ec", "x", "AAAA", "y", "AAAA",
        /* no n */ "kty", "RSA", "kid", "non", "e", "AQAB",
        /* bad base64 */ "kty", "RSA", "kid", "b64", "n", "ab+/", "e", "AQAB",
        /* no kid */ "kty", "RSA", "kid", "", "n", n, "e", "AQAB",
        /* encryption key */ "kty", "RSA", "kid", "enc", "use", "enc", "n", n, "e", "AQAB",
        /* other alg */ "kty", "RSA", "kid", "rs512", "alg", "RS512", "n", n, "e", "AQAB",
        /* e not a string */ "kty", "RSA", "kid", "eint", "n", n, "e", 65537,
        /* not an object */ 7,
        /* 1024 bits */ weak_jwk,
        /* the good one */ good,
        /* the same kid again */ good);
    json_t *set = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(set, 0), err[128];
    jwks_keyset *ks = jwks_keyset_parse(text, strlen(text), err, sizeof err);
    assert_non_null(ks);
    assert_int_equal(jwks_keyset_count(ks), 1);
    assert_non_null(jwks_keyset_find(ks, "good"));
    assert_null(jwks_keyset_find(ks, "weak"));
    assert_null(jwks_keyset_find(ks, "enc"));
    jwks_keyset_free(ks);
    free(text);
    json_decref(set);
    json_decref(good);
    json_decref(weak_jwk);
}

static void not_a_set(void **state)
{
    (void)state;
    const char *bodies[] = {
        "", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]", "garbage", "{\"keys\":[],\"keys\":[]}"};
    char err[128];
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        err[0] = '\0';
        assert_null(jwks_keyset_parse(bodies[i], strlen(bodies[i]), err, sizeof err));
        assert_true(strlen(err) > 0);
    }
    jwks_keyset *ks = jwks_keyset_parse("{\"keys\":[]}", 11, err, sizeof err);
    assert_non_null(ks);
    assert_int_equal(jwks_keyset_count(ks), 0);
    jwks_keyset_free(ks);
}

static void jwk_export_round_trip(void **state)
{
    (void)state;
    json_t *jwk = jwks_key_to_jwk(k2, "x");
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
    json_decref(jwk);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_null(jwks_key_to_jwk(ec, "ec"));
    EVP_PKEY_free(ec);
}

/* ---- the cached set ------------------------------------------------------------------------ */

static void max_age_honored(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 1000), JWKS_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(lookup(j, "k1", 1030), JWKS_OK);
    assert_int_equal(lookup(j, "k1", 1049), JWKS_OK);
    assert_int_equal(f.calls, 1);
    /* Refreshed at half of max-age, well before it runs out. */
    assert_int_equal(lookup(j, "k1", 1050), JWKS_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k1", 1099), JWKS_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k1", 1100), JWKS_OK);
    assert_int_equal(f.calls, 3);
    jwks_free(j);
}

static void default_max_age_without_cache_control(void **state)
{
    (void)state;
    mint_fetcher f = {set1, -1, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    assert_int_equal(lookup(j, "k1", 149), JWKS_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(lookup(j, "k1", 150), JWKS_OK); /* 300 / 2 */
    assert_int_equal(f.calls, 2);
    jwks_free(j);
}

static void refresh_picks_up_rotation(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    f.body = set2; /* Google rotates: k1 retired, k2 published */
    assert_int_equal(lookup(j, "k1", 95), JWKS_UNKNOWN_KID); /* refresh, then one refetch */
    assert_int_equal(f.calls, 3);
    assert_int_equal(lookup(j, "k2", 96), JWKS_OK);
    assert_int_equal(f.calls, 3);
    jwks_free(j);
}

static void unknown_kid_refetch_throttled(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 3600, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    /* A flood of 1000 forged kids within the first 5 s: one refetch (the first might have
     * been a key just rotated in), then none. */
    for (int i = 0; i < 1000; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "forged-%d", i);
        assert_int_equal(lookup(j, kid, i * 4 / 1000), JWKS_UNKNOWN_KID);
    }
    assert_int_equal(f.calls, 2);
    /* Then over five minutes, 1000 forged kids every second: one fetch per 5 s. */
    for (int t = 5; t <= 305; t++)
        for (int i = 0; i < 1000; i++) {
            char kid[32];
            snprintf(kid, sizeof kid, "forged-%d-%d", t, i);
            assert_int_equal(lookup(j, kid, t), JWKS_UNKNOWN_KID);
        }
    assert_int_equal(f.calls, 2 + 61); /* t = 5, 10, ..., 305 */
    assert_int_equal(lookup(j, "k1", 306), JWKS_OK);
    jwks_free(j);
}

static void unknown_kid_found_after_refetch(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 3600, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    f.body = set12; /* k2 rotated in: found at its first use, although k1 was just fetched */
    assert_int_equal(lookup(j, "k2", 10), JWKS_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k3", 14), JWKS_UNKNOWN_KID); /* too soon to refetch again */
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k3", 15), JWKS_UNKNOWN_KID);
    assert_int_equal(f.calls, 3);
    assert_int_equal(lookup(j, NULL, 100), JWKS_UNKNOWN_KID); /* no kid: never a refetch */
    assert_int_equal(f.calls, 3);
    jwks_free(j);
}

static void grace_period_when_fetch_fails(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    f.fail = 1;
    assert_int_equal(lookup(j, "k1", 95), JWKS_OK); /* refresh failed, cached key serves */
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k1", 110), JWKS_OK); /* retries throttled */
    assert_int_equal(f.calls, 2);
    assert_int_equal(lookup(j, "k1", 125), JWKS_OK);
    assert_int_equal(f.calls, 3);
    assert_true(jwks_ready(j, 100 + 86399));
    assert_int_equal(lookup(j, "k1", 100 + 86399), JWKS_OK);
    /* Past max-age + 24 h: no key set at all. */
    assert_int_equal(lookup(j, "k1", 100 + 86400), JWKS_UNAVAILABLE);
    assert_false(jwks_ready(j, 100 + 86401));
    /* The endpoint comes back. */
    f.fail = 0;
    assert_int_equal(lookup(j, "k1", 100 + 86400 + 30), JWKS_OK);
    assert_true(jwks_ready(j, 100 + 86400 + 31));
    jwks_free(j);
}

static void unavailable_from_the_start(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 1, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_false(jwks_ready(j, 0));
    assert_int_equal(lookup(j, "k1", 1), JWKS_UNAVAILABLE);
    assert_int_equal(f.calls, 1); /* throttled too */
    f.fail = 0;
    f.body = "{\"keys\":[]}"; /* a set with no usable key is a failure */
    assert_int_equal(lookup(j, "k1", 30), JWKS_UNAVAILABLE);
    assert_int_equal(f.calls, 2);
    f.body = set1;
    assert_int_equal(lookup(j, "k1", 60), JWKS_OK);
    jwks_free(j);
}

static void garbage_response_keeps_old_set(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    f.body = "<html>502 Bad Gateway</html>";
    assert_int_equal(lookup(j, "k1", 95), JWKS_OK);
    assert_int_equal(f.calls, 2);
    jwks_free(j);
}

/* ---- sharing through the cache file -------------------------------------------------------- */

static char *path_in_dir(const char *name)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void second_instance_uses_shared_file(void **state)
{
    (void)state;
    char *path = path_in_dir("shared.jwks");
    mint_fetcher fa = {set1, 3600, 0, 0}, fb = {set1, 3600, 0, 0};
    jwks *a = new_jwks(&fa, path), *b = new_jwks(&fb, path);
    assert_int_equal(lookup(a, "k1", 1000), JWKS_OK);
    assert_int_equal(fa.calls, 1);
    assert_int_equal(lookup(b, "k1", 1005), JWKS_OK);
    assert_int_equal(fb.calls, 0);
    /* Forged kids at b: one refetch, then none for 5 s — at a neither: the throttle is
     * pool-wide. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(lookup(b, "forged", 1010 + i / 50), JWKS_UNKNOWN_KID);
    assert_int_equal(fb.calls, 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(lookup(a, "forged-at-a", 1012 + i / 50), JWKS_UNKNOWN_KID);
    assert_int_equal(fa.calls, 1);
    /* After 5 s one of them may fetch; the other then reads the file. */
    fb.body = set12;
    assert_int_equal(lookup(b, "k2", 1015), JWKS_OK);
    assert_int_equal(fb.calls, 2);
    assert_int_equal(lookup(a, "k2", 1016), JWKS_OK);
    assert_int_equal(fa.calls, 1);
    jwks_free(a);
    jwks_free(b);
    free(path);
}

static void failed_fetch_recorded_in_shared_file(void **state)
{
    (void)state;
    char *path = path_in_dir("failing.jwks");
    mint_fetcher fa = {set1, 100, 1, 0}, fb = {set1, 100, 0, 0};
    jwks *a = new_jwks(&fa, path), *b = new_jwks(&fb, path);
    assert_int_equal(lookup(a, "k1", 0), JWKS_UNAVAILABLE);
    assert_int_equal(fa.calls, 1);
    assert_int_equal(lookup(b, "k1", 10), JWKS_UNAVAILABLE); /* a tried 10 s ago */
    assert_int_equal(fb.calls, 0);
    assert_int_equal(lookup(b, "k1", 30), JWKS_OK);
    assert_int_equal(fb.calls, 1);
    jwks_free(a);
    jwks_free(b);
    free(path);
}

static void cache_file_written_atomically(void **state)
{
    (void)state;
    char *path = path_in_dir("atomic.jwks");
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, path);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    FILE *old = fopen(path, "rb");
    assert_non_null(old);
    struct stat before, after;
    assert_int_equal(fstat(fileno(old), &before), 0);
    char oldtext[16384];
    size_t oldn = fread(oldtext, 1, sizeof oldtext - 1, old);
    oldtext[oldn] = '\0';
    assert_non_null(strstr(oldtext, set1));

    f.body = set2;
    assert_int_equal(lookup(j, "k2", 95), JWKS_OK);
    /* The path now names a new file; a reader of the old one still sees it whole. */
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    rewind(old);
    char again[16384];
    size_t n = fread(again, 1, sizeof again - 1, old);
    assert_int_equal(n, oldn);
    assert_memory_equal(again, oldtext, n);
    fclose(old);
    /* No temp file left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
    jwks_free(j);
    free(path);
}

static void corrupt_cache_file_ignored(void **state)
{
    (void)state;
    char *path = path_in_dir("corrupt.jwks");
    FILE *w = fopen(path, "wb");
    fputs("retrain-jwks/1 nonsense\n{\"keys\":", w);
    fclose(w);
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, path);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    assert_int_equal(f.calls, 1);
    jwks_free(j);
    /* The file was rewritten and now serves a newcomer. */
    mint_fetcher g = {set1, 100, 0, 0};
    j = new_jwks(&g, path);
    assert_int_equal(lookup(j, "k1", 1), JWKS_OK);
    assert_int_equal(g.calls, 0);
    jwks_free(j);
    free(path);
}

/* How soon a kid the issuer publishes and signs with at once must be accepted, however many
 * forged kids came just before it (the unknown-kid allowance: one refetch per 5 s). */
#define ROTATION_BOUND_S 5

/* FORGED lookups of distinct forged kids at NOW, all refused. */
static void flood(jwks *j, int64_t now, int forged)
{
    for (int i = 0; i < forged; i++) {
        char kid[48];
        snprintf(kid, sizeof kid, "forged-%lld-%d", (long long)now, i);
        assert_int_equal(lookup(j, kid, now), JWKS_UNKNOWN_KID);
    }
}

static void rotation_right_after_a_flood(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 300, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 1000), JWKS_OK);
    /* Forged kids spend the unknown-kid allowance, ... */
    for (int64_t t = 1000; t <= 1010; t++)
        flood(j, t, 100);
    /* ... then the issuer publishes k2, removes k1 and signs with k2 at once (the emulator's
     * rotate): a genuine k2 token is accepted within the bound while the flood goes on. */
    f.body = set2;
    int64_t t = 1010;
    while (lookup(j, "k2", t) != JWKS_OK) {
        flood(j, t, 100);
        t++;
        assert_true(t - 1010 <= ROTATION_BOUND_S);
    }
    /* The flood cost at most one fetch per allowance interval. */
    assert_true(f.calls <= 1 + (int)((t - 1000) / ROTATION_BOUND_S) + 1);
    jwks_free(j);
}

static void sustained_flood_costs_bounded_fetches(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 3600, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    /* Ten minutes of 200 forged kids a second: the initial fetch, one refetch per 5 s. */
    for (int64_t t = 0; t < 600; t++)
        flood(j, t, 200);
    assert_true(f.calls <= 1 + 600 / ROTATION_BOUND_S);
    assert_true(f.calls >= 2); /* the allowance is used: a rotated-in kid is found */
    assert_int_equal(lookup(j, "k1", 600), JWKS_OK);
    jwks_free(j);
}

/* Keys published before they are used (Google's way) are in the set before their first token,
 * whatever the flood: the set is refreshed on its own schedule, at half of max-age. */
static void regular_refresh_at_half_max_age(void **state)
{
    (void)state;
    mint_fetcher f = {set1, 100, 0, 0};
    jwks *j = new_jwks(&f, NULL);
    assert_int_equal(lookup(j, "k1", 0), JWKS_OK);
    f.body = set12; /* k2 published at 10, first used at 60 */
    assert_int_equal(lookup(j, "k1", 49), JWKS_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(lookup(j, "k1", 50), JWKS_OK); /* refreshed */
    assert_int_equal(f.calls, 2);
    /* k2's first tokens need no refetch: it is already held. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(lookup(j, "k2", 60 + i / 50), JWKS_OK);
    assert_int_equal(f.calls, 2);
    jwks_free(j);
}

/* The same bound for the whole pool: the allowance is spent and shared through the cache
 * file, and a genuine new kid at another worker is accepted within the bound. */
static void rotation_after_a_flood_at_another_worker(void **state)
{
    (void)state;
    char *path = path_in_dir("flood.jwks");
    mint_fetcher fa = {set1, 300, 0, 0}, fb = {set1, 300, 0, 0};
    jwks *a = new_jwks(&fa, path), *b = new_jwks(&fb, path);
    assert_int_equal(lookup(a, "k1", 1000), JWKS_OK);
    assert_int_equal(lookup(b, "k1", 1000), JWKS_OK);
    for (int64_t t = 1000; t <= 1010; t++)
        flood(a, t, 50);
    fa.body = fb.body = set2;
    int64_t t = 1010;
    while (lookup(b, "k2", t) != JWKS_OK) {
        flood(a, t, 50);
        t++;
        assert_true(t - 1010 <= ROTATION_BOUND_S);
    }
    assert_int_equal(lookup(a, "k2", t), JWKS_OK);
    assert_true(fa.calls + fb.calls <= 1 + (int)((t - 1000) / ROTATION_BOUND_S) + 1);
    jwks_free(a);
    jwks_free(b);
    free(path);
}

/* ---- the file fetcher (the HTTP one: test_jwks_http.c) ---------------------------------- */

static void file_fetcher(void **state)
{
    (void)state;
    char *path = path_in_dir("set.json"), err[256];
    FILE *w = fopen(path, "wb");
    fputs(set12, w);
    fclose(w);
    jwks_body b;
    assert_int_equal(jwks_fetch_file(NULL, path, &b, err, sizeof err), 0);
    assert_int_equal(b.len, strlen(set12));
    assert_true(b.max_age_s > 0);
    free(b.body);
    assert_int_equal(jwks_fetch_file(NULL, "/nonexistent/set.json", &b, err, sizeof err), -1);
    free(path);
}

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(jwks_status_name(JWKS_UNKNOWN_KID), "unknown_kid");
    assert_string_equal(jwks_status_name(JWKS_UNAVAILABLE), "unavailable");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_set),
        cmocka_unit_test(kid_matches_exactly),
        cmocka_unit_test(bad_keys_are_skipped),
        cmocka_unit_test(not_a_set),
        cmocka_unit_test(jwk_export_round_trip),
        cmocka_unit_test(max_age_honored),
        cmocka_unit_test(default_max_age_without_cache_control),
        cmocka_unit_test(refresh_picks_up_rotation),
        cmocka_unit_test(unknown_kid_refetch_throttled),
        cmocka_unit_test(unknown_kid_found_after_refetch),
        cmocka_unit_test(grace_period_when_fetch_fails),
        cmocka_unit_test(unavailable_from_the_start),
        cmocka_unit_test(garbage_response_keeps_old_set),
        cmocka_unit_test(second_instance_uses_shared_file),
        cmocka_unit_test(failed_fetch_recorded_in_shared_file),
        cmocka_unit_test(cache_file_written_atomically),
        cmocka_unit_test(corrupt_cache_file_ignored),
        cmocka_unit_test(rotation_right_after_a_flood),
        cmocka_unit_test(sustained_flood_costs_bounded_fetches),
        cmocka_unit_test(regular_refresh_at_half_max_age),
        cmocka_unit_test(rotation_after_a_flood_at_another_worker),
        cmocka_unit_test(file_fetcher),
        cmocka_unit_test(status_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
