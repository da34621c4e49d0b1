/* test_oidc — the claim policy at its boundaries, at a fixed clock: the skew on exp and iat to
 * the second, the longest lifetime, the audience it reports. The claims refused for their value
 * or type (issuer, audience, exp and iat, email, email_verified) are case files in
 * tests/data/tokens/, run through the whole request path by test_delivery_cases. */
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
        cmocka_unit_test(reported_audience),
        cmocka_unit_test(expiry_with_skew),
        cmocka_unit_test(issued_in_the_future),
        cmocka_unit_test(lifetime_over_an_hour),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
