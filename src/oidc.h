/* oidc — the claim policy for a Google-signed ID token, applied after its signature verified.
 *
 *   iss             "https://accounts.google.com" or "accounts.google.com"
 *   aud             one of the configured audiences (a string, or an array holding one)
 *   exp, iat        present and numeric; exp > now - skew; iat <= now + skew;
 *                   exp - iat <= 3600 + skew (Google's ID tokens live one hour)
 *   email           in the configured service-account allow-list
 *   email_verified  JSON true (the string "true" is not)
 *
 * Checked in that order; the first failure is the answer. None of these values is secret, so
 * plain comparisons are used. Ownership: the policy borrows its lists; oidc_check borrows the
 * payload. */
#ifndef RT_OIDC_H
#define RT_OIDC_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"

#define OIDC_MAX_LIFETIME_S 3600

typedef enum {
    OIDC_OK = 0,
    OIDC_MALFORMED,            /* exp or iat missing or not a number */
    OIDC_EXPIRED,              /* past exp, or a lifetime longer than an hour */
    OIDC_NOT_YET_VALID,        /* issued in the future */
    OIDC_WRONG_ISSUER,         /* iss missing or not Google */
    OIDC_WRONG_AUDIENCE,       /* aud missing or none of ours */
    OIDC_UNVERIFIED_EMAIL,     /* email_verified is not JSON true */
    OIDC_UNAUTHORIZED_ACCOUNT, /* email missing or not allowed */
} oidc_result;

typedef struct {
    const config_list *audiences;        /* borrowed */
    const config_list *service_accounts; /* borrowed */
    int skew_s;
} oidc_policy;

/* "ok", "malformed", "expired", "not_yet_valid", "wrong_issuer", "wrong_audience",
 * "unverified_email", "unauthorized_account". */
const char *oidc_result_name(oidc_result r);

oidc_result oidc_check(const oidc_policy *p, const json_t *payload, int64_t now);

/* A numeric claim as whole seconds; -1 when absent, not a number, or out of range. */
int oidc_numeric_date(const json_t *payload, const char *name, int64_t *out);

/* The audience to report: the configured one the token names, else its first string; NULL. */
const char *oidc_audience(const oidc_policy *p, const json_t *payload);

#endif
