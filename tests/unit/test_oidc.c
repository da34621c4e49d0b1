/* test_oidc — the claim policy, one case per rule, with its boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "oidc.h"

#define NOW 1700000000
#define AUD "https://retrain.example.com/"
#define SA "eventarc@proj.iam.gserviceaccount.com"

static char *auds[] = {"https://other.example.com/", AUD};
static char *sas[] = {SA, "second@proj.iam.gserviceaccount.com"};
static const config_list aud_list = {auds, 2}, sa_list = {sas, 2};
static const oidc_policy policy = {&aud_list, &sa_list, 60};

/* A valid payload, then one member replaced (VALUE NULL removes it; VALUE is stolen). */
static oidc_result check_with(const char *name, json_t *value)
{
    json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:i,s:i}", "iss", "https://accounts.google.com",
                          "aud", AUD, "email", SA, "email_verified", 1, "sub", "42", "iat",
                          NOW - 10, "exp", NOW + 3590);
    if (name && value)
        json_object_set_new(p, name, value);
    else if (name)
        json_object_del(p, name);
    oidc_result r = oidc_check(&policy, p, NOW);
    json_decref(p);
    return r;
}

static void valid(void **state)
{
    (void)state;
    assert_int_equal(check_with(NULL, NULL), OIDC_OK);
}

static void issuer(void **state)
{
    (void)state;
    assert_int_equal(check_with("iss", json_string("accounts.google.com")), OIDC_OK);
    assert_int_equal(check_with("iss", json_string("https://evil.example.com")), OIDC_WRONG_ISSUER);
    assert_int_equal(check_with("iss", json_string("https://accounts.google.com/")),
                     OIDC_WRONG_ISSUER);
    assert_int_equal(check_with("iss", json_string("http://accounts.google.com")),
                     OIDC_WRONG_ISSUER);
    assert_int_equal(check_with("iss", json_integer(1)), OIDC_WRONG_ISSUER);
    assert_int_equal(check_with("iss", NULL), OIDC_WRONG_ISSUER);
}

static void audience(void **state)
{
    (void)state;
    assert_int_equal(check_with("aud", json_string("https://other.example.com/")), OIDC_OK);
    assert_int_equal(check_with("aud", json_string("https://retrain.example.com")),
                     OIDC_WRONG_AUDIENCE);
    assert_int_equal(check_with("aud", NULL), OIDC_WRONG_AUDIENCE);
    assert_int_equal(check_with("aud", json_pack("[s,s]", "x", AUD)), OIDC_OK);
    assert_int_equal(check_with("aud", json_pack("[i,s]", 5, AUD)), OIDC_OK);
    assert_int_equal(check_with("aud", json_pack("[s,s]", "x", "y")), OIDC_WRONG_AUDIENCE);
    assert_int_equal(check_with("aud", json_array()), OIDC_WRONG_AUDIENCE);
    assert_int_equal(check_with("aud", json_pack("{s:s}", "a", AUD)), OIDC_WRONG_AUDIENCE);
    assert_int_equal(check_with("aud", json_integer(1)), OIDC_WRONG_AUDIENCE);
}

static void reported_audience(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:[s,s,s]}", "aud", "x", AUD, "y");
    assert_string_equal(oidc_audience(&policy, p), AUD);
    json_object_set_new(p, "aud", json_pack("[s,s]", "x", "y"));
    assert_string_equal(oidc_audience(&policy, p), "x");
    json_object_del(p, "aud");
    assert_null(oidc_audience(&policy, p));
    json_decref(p);
}

static void exp_and_iat_required_and_numeric(void **state)
{
    (void)state;
    assert_int_equal(check_with("exp", NULL), OIDC_MALFORMED);
    assert_int_equal(check_with("iat", NULL), OIDC_MALFORMED);
    assert_int_equal(check_with("exp", json_string("1700003590")), OIDC_MALFORMED);
    assert_int_equal(check_with("iat", json_true()), OIDC_MALFORMED);
    assert_int_equal(check_with("exp", json_real(1e300)), OIDC_MALFORMED);
    assert_int_equal(check_with("exp", json_integer(INT64_MAX)), OIDC_MALFORMED);
    assert_int_equal(check_with("exp", json_real(NOW + 100.5)), OIDC_OK);
}

static void expiry_with_skew(void **state)
{
    (void)state;
    assert_int_equal(check_with("exp", json_integer(NOW - 60)), OIDC_EXPIRED);
    assert_int_equal(check_with("exp", json_integer(NOW - 59)), OIDC_OK);
    assert_int_equal(check_with("exp", json_integer(NOW - 100000)), OIDC_EXPIRED);
    oidc_policy strict = policy;
    strict.skew_s = 0;
    json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:i,s:i}", "iss", "accounts.google.com", "aud", AUD,
                          "email", SA, "email_verified", 1, "iat", NOW - 100, "exp", NOW);
    assert_int_equal(oidc_check(&strict, p, NOW), OIDC_EXPIRED);
    assert_int_equal(oidc_check(&strict, p, NOW - 1), OIDC_OK);
    json_decref(p);
}

static void issued_in_the_future(void **state)
{
    (void)state;
    assert_int_equal(check_with("iat", json_integer(NOW + 61)), OIDC_NOT_YET_VALID);
    assert_int_equal(check_with("iat", json_integer(NOW + 60)), OIDC_OK);
}

static void lifetime_over_an_hour(void **state)
{
    (void)state;
    /* iat NOW-10: exp - iat may be at most 3600 + 60. */
    assert_int_equal(check_with("exp", json_integer(NOW - 10 + 3660)), OIDC_OK);
    assert_int_equal(check_with("exp", json_integer(NOW - 10 + 3661)), OIDC_EXPIRED);
    assert_int_equal(check_with("exp", json_integer(NOW + 86400 * 365)), OIDC_EXPIRED);
}

static void email_allow_list(void **state)
{
    (void)state;
    assert_int_equal(check_with("email", json_string("second@proj.iam.gserviceaccount.com")),
                     OIDC_OK);
    assert_int_equal(check_with("email", json_string("attacker@evil.iam.gserviceaccount.com")),
                     OIDC_UNAUTHORIZED_ACCOUNT);
    assert_int_equal(check_with("email", json_string("EVENTARC@proj.iam.gserviceaccount.com")),
                     OIDC_UNAUTHORIZED_ACCOUNT);
    assert_int_equal(check_with("email", NULL), OIDC_UNAUTHORIZED_ACCOUNT);
    assert_int_equal(check_with("email", json_pack("[s]", SA)), OIDC_UNAUTHORIZED_ACCOUNT);
}

static void email_verified_must_be_true(void **state)
{
    (void)state;
    assert_int_equal(check_with("email_verified", json_false()), OIDC_UNVERIFIED_EMAIL);
    assert_int_equal(check_with("email_verified", NULL), OIDC_UNVERIFIED_EMAIL);
    assert_int_equal(check_with("email_verified", json_string("true")), OIDC_UNVERIFIED_EMAIL);
    assert_int_equal(check_with("email_verified", json_integer(1)), OIDC_UNVERIFIED_EMAIL);
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(oidc_result_name(OIDC_WRONG_AUDIENCE), "wrong_audience");
    assert_string_equal(oidc_result_name(OIDC_UNAUTHORIZED_ACCOUNT), "unauthorized_account");
    assert_string_equal(oidc_result_name((oidc_result)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid),
        cmocka_unit_test(issuer),
        cmocka_unit_test(audience),
        cmocka_unit_test(reported_audience),
        cmocka_unit_test(exp_and_iat_required_and_numeric),
        cmocka_unit_test(expiry_with_skew),
        cmocka_unit_test(issued_in_the_future),
        cmocka_unit_test(lifetime_over_an_hour),
        cmocka_unit_test(email_allow_list),
        cmocka_unit_test(email_verified_must_be_true),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
