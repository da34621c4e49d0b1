/* test_auth — auth's own contract beyond a delivery's answer: the claims it reads for the log
 * line (of a good token and of a refused one), the key set unavailable, disabled mode, a config
 * without an audience, the token cache and the reason codes. The attacks, each with its reason
 * code, are case files (tests/data/tokens/, run by test_delivery_cases through the whole
 * request path and by tests/e2e/test_delivery_cases.sh through nginx). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "support/jwt_mint.h"

#define NOW 1700000000
#define AUD "https://retrain.example.com/"
#define SA "eventarc@proj.iam.gserviceaccount.com"
#define JWKS_URL "https://www.googleapis.com/oauth2/v3/certs"

static EVP_PKEY *ours, *other, *weak;
static char *jwks_body_text;
static char *auds[] = {AUD}, *sas[] = {SA};

typedef struct {
    mint_fetcher fake;
    char url[256]; /* the last URL asked for: always ours, never one from a token */
} recording_fetcher;

static int recording_fetch(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    recording_fetcher *r = ctx;
    snprintf(r->url, sizeof r->url, "%s", url);
    return mint_fetch(&r->fake, url, out, err, errlen);
}

typedef struct {
    auth_config cfg;
    recording_fetcher fetcher;
    auth *a;
    arena *ar;
} fixture;

static int group_setup(void **state)
{
    (void)state;
    log_init("test_auth", LOG_CRITICAL);
    ours = mint_rsa_key(2048);
    other = mint_rsa_key(2048);
    weak = mint_rsa_key(1024);
    EVP_PKEY *keys[] = {ours, weak};
    const char *kids[] = {"k1", "weak"};
    jwks_body_text = mint_jwks(keys, kids, 2);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(ours);
    EVP_PKEY_free(other);
    EVP_PKEY_free(weak);
    free(jwks_body_text);
    return 0;
}

static fixture *fixture_new(int cache_size, int64_t grace_s)
{
    fixture *f = calloc(1, sizeof *f);
    f->cfg = (auth_config){.audiences = {auds, 1},
                           .service_accounts = {sas, 1},
                           .jwks_url = JWKS_URL,
                           .clock_skew_s = 60,
                           .token_cache_size = cache_size};
    f->fetcher.fake.body = jwks_body_text;
    f->fetcher.fake.max_age = 3600;
    jwks_options o;
    jwks_options_default(&o);
    o.url = f->cfg.jwks_url;
    o.fetch = recording_fetch;
    o.fetch_ctx = &f->fetcher;
    o.grace_s = grace_s;
    char err[256];
    f->a = auth_new_with_keys(&f->cfg, jwks_new(&o), err, sizeof err);
    assert_non_null(f->a);
    f->ar = arena_new(4096);
    return f;
}

static int setup(void **state)
{
    *state = fixture_new(0, 24 * 3600);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    auth_free(f->a);
    arena_free(f->ar);
    free(f);
    return 0;
}

static auth_result check_header(fixture *f, const char *header, auth_claims *claims)
{
    auth_claims local;
    return auth_check(f->a, header, NOW, f->ar, claims ? claims : &local);
}

static auth_result check_token(fixture *f, const char *token)
{
    char *h;
    assert_true(asprintf(&h, "Bearer %s", token) > 0);
    auth_result r = check_header(f, h, NULL);
    free(h);
    return r;
}

/* Mints with KEY over HEADER and PAYLOAD (both freed when FREE_PAYLOAD), then checks. */
static auth_result check_minted(fixture *f, EVP_PKEY *key, const char *header, char *payload)
{
    char *tok = mint_token_rs256(key, header, payload);
    auth_result r = check_token(f, tok);
    free(tok);
    free(payload);
    return r;
}

static const char H_K1[] = "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";

static char *good_payload(void)
{
    return mint_payload(AUD, SA, NOW - 10, NOW + 3590);
}

/* ---- the claims of a good token ------------------------------------------------------------ */

static void valid_token_accepted_with_claims(void **state)
{
    fixture *f = *state;
    char *payload = good_payload();
    char *tok = mint_token_rs256(ours, H_K1, payload), *h;
    free(payload);
    assert_true(asprintf(&h, "Bearer %s", tok) > 0);
    auth_claims c;
    assert_int_equal(check_header(f, h, &c), AUTH_OK);
    assert_string_equal(c.kid, "k1");
    assert_string_equal(c.iss, "https://accounts.google.com");
    assert_string_equal(c.aud, AUD);
    assert_string_equal(c.email, SA);
    assert_string_equal(c.sub, "112233445566778899");
    assert_int_equal(c.exp, NOW + 3590);
    assert_int_equal(c.iat, NOW - 10);
    assert_int_equal(f->fetcher.fake.calls, 1);
    assert_true(auth_ready(f->a));
    free(h);
    free(tok);
}

/* ---- availability, claims on failure, disabled --------------------------------------------- */

static void keys_unavailable(void **state)
{
    fixture *f = *state;
    f->fetcher.fake.fail = 1;
    assert_int_equal(check_minted(f, ours, H_K1, good_payload()), AUTH_KEYS_UNAVAILABLE);
    assert_false(auth_ready(f->a));
}

static void claims_filled_on_failure(void **state)
{
    fixture *f = *state;
    char *payload = mint_payload("https://other/", "x@y", NOW, NOW + 600);
    char *tok = mint_token_rs256(other, H_K1, payload), *h;
    assert_true(asprintf(&h, "Bearer %s", tok) > 0);
    auth_claims c;
    assert_int_equal(check_header(f, h, &c), AUTH_BAD_SIGNATURE);
    assert_string_equal(c.kid, "k1");
    assert_string_equal(c.aud, "https://other/");
    assert_string_equal(c.email, "x@y");
    assert_int_equal(c.exp, NOW + 600);
    /* No claim holds the token or its signature. */
    const char *sig = strrchr(tok, '.') + 1;
    const char *fields[] = {c.kid, c.iss, c.aud, c.email, c.sub};
    for (size_t i = 0; i < 5; i++)
        assert_true(!fields[i] || !strstr(fields[i], sig));
    /* Without an arena the claims are only zeroed. */
    assert_int_equal(auth_check(f->a, h, NOW, NULL, &c), AUTH_BAD_SIGNATURE);
    assert_null(c.kid);
    free(h);
    free(tok);
    free(payload);
}

static void disabled_accepts_without_token(void **state)
{
    (void)state;
    auth_config cfg = {.disabled = true};
    char err[256];
    jwks_options o;
    jwks_options_default(&o);
    mint_fetcher fake = {NULL, 0, 1, 0};
    o.fetch = mint_fetch;
    o.fetch_ctx = &fake;
    auth *a = auth_new_with_keys(&cfg, jwks_new(&o), err, sizeof err);
    assert_non_null(a);
    auth_claims c;
    assert_int_equal(auth_check(a, NULL, NOW, NULL, &c), AUTH_OK);
    assert_true(auth_ready(a));
    assert_int_equal(fake.calls, 0);
    auth_free(a);
}

static void config_without_audience_refused(void **state)
{
    (void)state;
    auth_config cfg = {.service_accounts = {sas, 1}, .jwks_url = JWKS_URL};
    char err[256] = "";
    assert_null(auth_new(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "audience"));
}

/* ---- the token cache ----------------------------------------------------------------------- */

static void cache_hit_rechecks_claims(void **state)
{
    (void)state;
    fixture *f = fixture_new(16, 10);
    char *payload = good_payload();
    char *tok = mint_token_rs256(ours, H_K1, payload), *h;
    assert_true(asprintf(&h, "Bearer %s", tok) > 0);
    auth_claims c;
    assert_int_equal(auth_check(f->a, h, NOW, f->ar, &c), AUTH_OK);
    /* The key set goes away for good (max-age 3600 + grace 10 passed at NOW + 3610, fetch failing):
     * a hit still answers, without the key; a token not seen before cannot be checked. */
    f->fetcher.fake.fail = 1;
    assert_int_equal(auth_check(f->a, h, NOW + 3620, f->ar, &c), AUTH_OK);
    assert_string_equal(c.email, SA);
    assert_string_equal(c.kid, "k1");
    char *p2 = mint_payload(AUD, SA, NOW + 3000, NOW + 3800),
         *t2 = mint_token_rs256(ours, H_K1, p2);
    char *h2;
    assert_true(asprintf(&h2, "Bearer %s", t2) > 0);
    assert_int_equal(auth_check(f->a, h2, NOW + 3620, f->ar, &c), AUTH_KEYS_UNAVAILABLE);
    free(h2);
    free(t2);
    free(p2);
    /* Policy changes apply to cached tokens. */
    f->cfg.service_accounts.n = 0;
    assert_int_equal(auth_check(f->a, h, NOW + 3620, f->ar, &c), AUTH_UNAUTHORIZED_ACCOUNT);
    f->cfg.service_accounts.n = 1;
    f->cfg.audiences.items = (char *[]){"https://elsewhere/"};
    assert_int_equal(auth_check(f->a, h, NOW + 3620, f->ar, &c), AUTH_WRONG_AUDIENCE);
    f->cfg.audiences.items = auds;
    /* And so does expiry: exp + skew passed. */
    assert_int_equal(auth_check(f->a, h, NOW + 3590 + 61, f->ar, &c), AUTH_KEYS_UNAVAILABLE);
    free(h);
    free(tok);
    free(payload);
    teardown((void **)&f);
}

static void cache_expired_hit_is_rejected(void **state)
{
    (void)state;
    fixture *f = fixture_new(16, 24 * 3600);
    char *payload = good_payload();
    char *tok = mint_token_rs256(ours, H_K1, payload), *h;
    assert_true(asprintf(&h, "Bearer %s", tok) > 0);
    auth_claims c;
    assert_int_equal(auth_check(f->a, h, NOW, f->ar, &c), AUTH_OK);
    assert_int_equal(auth_check(f->a, h, NOW + 3590 + 60, f->ar, &c), AUTH_EXPIRED);
    free(h);
    free(tok);
    free(payload);
    teardown((void **)&f);
}

static void codes(void **state)
{
    (void)state;
    const char *want[] = {"ok",
                          "missing_token",
                          "malformed_token",
                          "unsupported_alg",
                          "bad_signature",
                          "unknown_key",
                          "expired",
                          "not_yet_valid",
                          "wrong_issuer",
                          "wrong_audience",
                          "unverified_email",
                          "unauthorized_account",
                          "keys_unavailable"};
    for (int r = 0; r <= AUTH_KEYS_UNAVAILABLE; r++)
        assert_string_equal(auth_result_code((auth_result)r), want[r]);
    assert_string_equal(auth_result_code((auth_result)99), "unknown");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(valid_token_accepted_with_claims),
        T(keys_unavailable),
        T(claims_filled_on_failure),
        cmocka_unit_test(disabled_accepts_without_token),
        cmocka_unit_test(config_without_audience_refused),
        cmocka_unit_test(cache_hit_rechecks_claims),
        cmocka_unit_test(cache_expired_hit_is_rejected),
        cmocka_unit_test(codes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
