/* test_jwt — the jwt layer's own API: RFC 7515's published RS256 example, what a parse fills in,
 * the signature bytes, the keys it refuses, signing, what a refused parse keeps for the log.
 * The malformed tokens (segments, padding, the alphabet, size, header and payload JSON, crit,
 * algorithms, kid) are case files in tests/data/tokens/ whose "jwt:" line is checked against
 * this layer by test_delivery_cases, beside their answer through the whole request path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

#include "jwks.h"
#include "jwt.h"
#include "support/jwt_mint.h"

static EVP_PKEY *key_a, *key_b, *key_weak;

static const char HDR[] = "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";
static const char PAYLOAD[] = "{\"iss\":\"https://accounts.google.com\",\"sub\":\"1\"}";

static int setup(void **state)
{
    (void)state;
    key_a = mint_rsa_key(2048);
    key_b = mint_rsa_key(2048);
    key_weak = mint_rsa_key(1024);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    EVP_PKEY_free(key_weak);
    return 0;
}

/* Parses then verifies with KEY; the first failure. */
static jwt_status check(const char *token, EVP_PKEY *key)
{
    jwt t;
    jwt_status st = jwt_parse(token, strlen(token), &t);
    if (st == JWT_OK)
        st = jwt_verify(&t, key);
    jwt_clear(&t);
    return st;
}

/* ---- RFC 7515 appendix A.2: the published RS256 example and its key ------------------------ */

static const char RFC_TOKEN[] = "eyJhbGciOiJSUzI1NiJ9"
                                ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
                                "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                                ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
                                "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
                                "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
                                "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
                                "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
                                "p0igcN_IoypGlUPQGe77Rw";

static const char RFC_JWKS[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rfc7515-a2\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}]}";

static void rfc7515_a2_verifies(void **state)
{
    (void)state;
    char err[128];
    jwks_keyset *ks = jwks_keyset_parse(RFC_JWKS, strlen(RFC_JWKS), err, sizeof err);
    assert_non_null(ks);
    EVP_PKEY *key = jwks_keyset_find(ks, "rfc7515-a2");
    assert_non_null(key);
    jwt t;
    assert_int_equal(jwt_parse(RFC_TOKEN, strlen(RFC_TOKEN), &t), JWT_OK);
    assert_string_equal(t.alg, "RS256");
    assert_null(t.kid);
    assert_string_equal(json_string_value(json_object_get(t.payload, "iss")), "joe");
    assert_int_equal(json_integer_value(json_object_get(t.payload, "exp")), 1300819380);
    assert_int_equal(t.sig_len, 256);
    assert_int_equal(jwt_verify(&t, key), JWT_OK);
    /* The same bytes through the raw entry point. */
    assert_int_equal(jwt_verify_rs256(t.signing_input, t.signing_input_len, t.sig, t.sig_len, key),
                     JWT_OK);
    jwt_clear(&t);
    /* Another key does not verify it. */
    assert_int_equal(check(RFC_TOKEN, key_a), JWT_BAD_SIGNATURE);
    jwks_keyset_free(ks);
}

static void rfc7515_a2_one_payload_byte_changed(void **state)
{
    (void)state;
    char err[128], *tok = strdup(RFC_TOKEN);
    jwks_keyset *ks = jwks_keyset_parse(RFC_JWKS, strlen(RFC_JWKS), err, sizeof err);
    /* "eyJpc3MiOiJqb2Ui..." -> "eyJpc3MiOiJqb3Ui...": iss "joe" becomes "jou"-ish. */
    char *p = strchr(tok, '.') + 1;
    p[12] = p[12] == 'b' ? 'c' : 'b';
    assert_int_equal(check(tok, jwks_keyset_find(ks, "rfc7515-a2")), JWT_BAD_SIGNATURE);
    free(tok);
    jwks_keyset_free(ks);
}

/* ---- structure ----------------------------------------------------------------------------- */

static void good_token_parses_and_verifies(void **state)
{
    (void)state;
    char *tok = mint_token_rs256(key_a, HDR, PAYLOAD);
    jwt t;
    assert_int_equal(jwt_parse(tok, strlen(tok), &t), JWT_OK);
    assert_string_equal(t.kid, "k1");
    assert_int_equal(t.signing_input_len, (size_t)(strrchr(tok, '.') - tok));
    assert_int_equal(jwt_verify(&t, key_a), JWT_OK);
    assert_int_equal(jwt_verify(&t, key_b), JWT_BAD_SIGNATURE);
    jwt_clear(&t);
    free(tok);
}

/* ---- verification -------------------------------------------------------------------------- */

static void signature_byte_changed(void **state)
{
    (void)state;
    char *tok = mint_token_rs256(key_a, HDR, PAYLOAD);
    jwt t;
    assert_int_equal(jwt_parse(tok, strlen(tok), &t), JWT_OK);
    t.sig[100] ^= 0x01;
    assert_int_equal(jwt_verify(&t, key_a), JWT_BAD_SIGNATURE);
    t.sig[100] ^= 0x01;
    t.sig_len--; /* truncated */
    assert_int_equal(jwt_verify(&t, key_a), JWT_BAD_SIGNATURE);
    jwt_clear(&t);
    free(tok);
}

static void weak_or_wrong_type_keys_refused(void **state)
{
    (void)state;
    char *tok = mint_token_rs256(key_weak, HDR, PAYLOAD);
    assert_int_equal(check(tok, key_weak), JWT_WEAK_KEY);
    free(tok);
    assert_false(jwt_key_acceptable(key_weak));
    assert_true(jwt_key_acceptable(key_a));
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    assert_non_null(ec);
    tok = mint_token_rs256(key_a, HDR, PAYLOAD);
    assert_int_equal(check(tok, ec), JWT_WEAK_KEY);
    assert_int_equal(check(tok, NULL), JWT_WEAK_KEY);
    EVP_PKEY_free(ec);
    free(tok);
}

static void sign_round_trip(void **state)
{
    (void)state;
    json_t *h = json_pack("{s:s,s:s}", "alg", "HS256", "kid", "k1"); /* alg is forced */
    json_t *p = json_pack("{s:s,s:i}", "iss", "me", "exp", 5);
    char *tok = NULL;
    assert_int_equal(jwt_sign_rs256(h, p, key_a, &tok), JWT_OK);
    jwt t;
    assert_int_equal(jwt_parse(tok, strlen(tok), &t), JWT_OK);
    assert_string_equal(t.alg, "RS256");
    assert_string_equal(t.kid, "k1");
    assert_true(json_equal(t.payload, p));
    assert_int_equal(jwt_verify(&t, key_a), JWT_OK);
    jwt_clear(&t);
    free(tok);
    assert_int_equal(jwt_sign_rs256(h, p, key_weak, &tok), JWT_WEAK_KEY);
    assert_null(tok);
    json_t *arr = json_array();
    assert_int_equal(jwt_sign_rs256(h, arr, key_a, &tok), JWT_MALFORMED);
    json_decref(arr);
    json_decref(h);
    json_decref(p);
}

static void partial_parse_keeps_header_for_logging(void **state)
{
    (void)state;
    char *tok = mint_token_raw("{\"alg\":\"none\",\"kid\":\"k9\"}", PAYLOAD, "");
    jwt t;
    assert_int_equal(jwt_parse(tok, strlen(tok), &t), JWT_UNSUPPORTED_ALG);
    assert_string_equal(t.kid, "k9");
    assert_non_null(t.payload);
    jwt_clear(&t);
    assert_null(t.header);
    free(tok);
}

static void status_names(void **state)
{
    (void)state;
    assert_string_equal(jwt_status_name(JWT_OK), "ok");
    assert_string_equal(jwt_status_name(JWT_UNSUPPORTED_ALG), "unsupported_alg");
    assert_string_equal(jwt_status_name((jwt_status)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7515_a2_verifies),
        cmocka_unit_test(rfc7515_a2_one_payload_byte_changed),
        cmocka_unit_test(good_token_parses_and_verifies),
        cmocka_unit_test(signature_byte_changed),
        cmocka_unit_test(weak_or_wrong_type_keys_refused),
        cmocka_unit_test(sign_round_trip),
        cmocka_unit_test(partial_parse_keeps_header_for_logging),
        cmocka_unit_test(status_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
