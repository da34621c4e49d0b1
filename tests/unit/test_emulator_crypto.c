/* The emulator's own JWT signer and RS256 checker (tests/emulator/crypto.c): the tokens it mints
 * are the test inputs of the real verifier, so each mode must produce exactly what it claims.
 * Checked against OpenSSL directly. Compiled in directly with its helper file util.c. */
#include "../emulator/crypto.c"
#include "../emulator/util.c"

#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static EVP_PKEY *key_a, *key_b;

static int setup(void **state)
{
    (void)state;
    key_a = emu_rsa_new(2048);
    key_b = emu_rsa_new(1024);
    return key_a && key_b ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    return 0;
}

static json_t *header(const char *alg)
{
    return json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", "k1", "typ", "JWT");
}

static json_t *claims(void)
{
    return json_pack("{s:s, s:i}", "aud", "https://x/", "exp", 2000000000);
}

static void test_b64url_round_trip(void **state)
{
    (void)state;
    const unsigned char data[] = {0xfb, 0xff, 0x00, 0x3e, 0x3f};
    char *text = emu_b64url(data, sizeof data);
    assert_string_equal(text, "-_8APj8");
    size_t n = 0;
    unsigned char *back = emu_b64url_decode(text, strlen(text), &n);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    free(back);
    free(text);
    back = emu_b64url_decode("-_8APj8=", 8, &n); /* padding tolerated */
    assert_non_null(back);
    free(back);
    assert_null(emu_b64url_decode("+/8APj8", 7, &n)); /* standard alphabet refused */
    assert_null(emu_b64url_decode("ab$d", 4, &n));
}

static void test_key_id(void **state)
{
    (void)state;
    char a1[17], a2[17], b[17];
    assert_int_equal(emu_key_id(key_a, a1), 0);
    assert_int_equal(emu_key_id(key_a, a2), 0);
    assert_int_equal(emu_key_id(key_b, b), 0);
    assert_int_equal(strlen(a1), 16);
    assert_int_equal(strspn(a1, "0123456789abcdef"), 16);
    assert_string_equal(a1, a2);
    assert_string_not_equal(a1, b);
}

static void test_jwk_modulus_and_exponent(void **state)
{
    (void)state;
    json_t *jwk = emu_jwk(key_a, "k1");
    assert_non_null(jwk);
    assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
    const char *n = json_string_value(json_object_get(jwk, "n"));
    size_t len = 0;
    unsigned char *mod = emu_b64url_decode(n, strlen(n), &len);
    assert_int_equal(len, 256); /* 2048 bits, no leading zero byte */
    BIGNUM *want = NULL;
    assert_true(EVP_PKEY_get_bn_param(key_a, OSSL_PKEY_PARAM_RSA_N, &want));
    BIGNUM *got = BN_bin2bn(mod, (int)len, NULL);
    assert_int_equal(BN_cmp(want, got), 0);
    BN_free(want);
    BN_free(got);
    free(mod);
    json_decref(jwk);
}

static void test_rs256_signs_and_verifies(void **state)
{
    (void)state;
    json_t *h = header("RS256"), *c = claims();
    char *tok = emu_jwt_encode(h, c, EMU_SIGN_RS256, key_a, NULL);
    assert_non_null(tok);
    json_t *h2 = NULL, *c2 = NULL;
    assert_int_equal(emu_jwt_verify_rs256(tok, key_a, &h2, &c2), 0);
    assert_true(json_equal(h, h2));
    assert_true(json_equal(c, c2));
    json_decref(h2);
    json_decref(c2);
    assert_int_equal(emu_jwt_verify_rs256(tok, key_b, &h2, &c2), -2);
    /* tamper with the payload: one character of the claims changes */
    char *dot = strchr(tok, '.');
    dot[2] = dot[2] == 'A' ? 'B' : 'A';
    assert_int_not_equal(emu_jwt_verify_rs256(tok, key_a, &h2, &c2), 0);
    free(tok);
    json_decref(h);
    json_decref(c);
}

static void test_none_has_empty_signature_and_fails_rs256(void **state)
{
    (void)state;
    json_t *h = header("none"), *c = claims();
    char *tok = emu_jwt_encode(h, c, EMU_SIGN_NONE, NULL, NULL);
    assert_non_null(tok);
    assert_int_equal(tok[strlen(tok) - 1], '.');
    json_t *h2 = NULL, *c2 = NULL;
    assert_int_equal(emu_jwt_verify_rs256(tok, key_a, &h2, &c2), -2);
    free(tok);
    json_decref(h);
    json_decref(c);
}

static void test_hs256_uses_the_secret(void **state)
{
    (void)state;
    json_t *h = header("HS256"), *c = claims();
    char *pem = emu_pem_public(key_a);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    char *tok = emu_jwt_encode(h, c, EMU_SIGN_HS256_SECRET, NULL, pem);
    char *last = strrchr(tok, '.');
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), pem, (int)strlen(pem), (const unsigned char *)tok, (size_t)(last - tok), mac,
         &maclen);
    char *want = emu_b64url(mac, maclen);
    assert_string_equal(last + 1, want);
    json_t *h2 = NULL, *c2 = NULL;
    assert_int_equal(emu_jwt_verify_rs256(tok, key_a, &h2, &c2), -2);
    free(want);
    free(tok);
    free(pem);
    json_decref(h);
    json_decref(c);
}

static void test_malformed_tokens(void **state)
{
    (void)state;
    json_t *h = NULL, *c = NULL;
    assert_int_equal(emu_jwt_verify_rs256("", key_a, &h, &c), -1);
    assert_int_equal(emu_jwt_verify_rs256("a.b", key_a, &h, &c), -1);
    assert_int_equal(emu_jwt_verify_rs256("a.b.c.d", key_a, &h, &c), -1);
    assert_int_equal(emu_jwt_verify_rs256("e30.e30.!!", key_a, &h, &c), -1);
    assert_int_equal(emu_jwt_verify_rs256("W10.e30.AA", key_a, &h, &c), -1); /* header [] */
    assert_null(h);
    assert_null(c);
}

static void test_private_pem_round_trip(void **state)
{
    (void)state;
    char *pem = emu_pem_private(key_b);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *back = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(back, key_b), 1);
    EVP_PKEY_free(back);
    BIO_free(bio);
    free(pem);
}

static void test_rfc3339(void **state)
{
    (void)state;
    char out[40];
    emu_rfc3339(1795680000123LL, out, sizeof out);
    assert_string_equal(out, "2026-11-26T08:00:00.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_round_trip),
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_jwk_modulus_and_exponent),
        cmocka_unit_test(test_rs256_signs_and_verifies),
        cmocka_unit_test(test_none_has_empty_signature_and_fails_rs256),
        cmocka_unit_test(test_hs256_uses_the_secret),
        cmocka_unit_test(test_malformed_tokens),
        cmocka_unit_test(test_private_pem_round_trip),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
