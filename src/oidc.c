/* oidc — see oidc.h. */
#include "oidc.h"

#include <math.h>
#include <string.h>

const char *oidc_result_name(oidc_result r)
{
    switch (r) {
    case OIDC_OK:
        return "ok";
    case OIDC_MALFORMED:
        return "malformed";
    case OIDC_EXPIRED:
        return "expired";
    case OIDC_NOT_YET_VALID:
        return "not_yet_valid";
    case OIDC_WRONG_ISSUER:
        return "wrong_issuer";
    case OIDC_WRONG_AUDIENCE:
        return "wrong_audience";
    case OIDC_UNVERIFIED_EMAIL:
        return "unverified_email";
    case OIDC_UNAUTHORIZED_ACCOUNT:
        return "unauthorized_account";
    }
    return "unknown";
}

/* NumericDate may be fractional; anything beyond year ~33658 is nonsense, not a date. */
int oidc_numeric_date(const json_t *payload, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(payload, name);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -1000000000000LL || i > 1000000000000LL)
            return -1;
        *out = (int64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -1e12 && d < 1e12))
            return -1;
        *out = (int64_t)floor(d);
        return 0;
    }
    return -1;
}

static int in_list(const config_list *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

const char *oidc_audience(const oidc_policy *p, const json_t *payload)
{
    const json_t *aud = json_object_get(payload, "aud");
    if (json_is_string(aud))
        return json_string_value(aud);
    const char *first = NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v)
    {
        const char *s = json_string_value(v);
        if (p && in_list(p->audiences, s))
            return s;
        if (!first)
            first = s;
    }
    return first;
}

oidc_result oidc_check(const oidc_policy *p, const json_t *payload, int64_t now)
{
    const char *iss = json_string_value(json_object_get(payload, "iss"));
    if (!iss || (strcmp(iss, "https://accounts.google.com") != 0 &&
                 strcmp(iss, "accounts.google.com") != 0))
        return OIDC_WRONG_ISSUER;
    if (!in_list(p->audiences, oidc_audience(p, payload)))
        return OIDC_WRONG_AUDIENCE;
    int64_t exp, iat, skew = p->skew_s;
    if (oidc_numeric_date(payload, "exp", &exp) != 0 ||
        oidc_numeric_date(payload, "iat", &iat) != 0)
        return OIDC_MALFORMED;
    if (exp <= now - skew || exp - iat > OIDC_MAX_LIFETIME_S + skew)
        return OIDC_EXPIRED;
    if (iat > now + skew)
        return OIDC_NOT_YET_VALID;
    if (!in_list(p->service_accounts, json_string_value(json_object_get(payload, "email"))))
        return OIDC_UNAUTHORIZED_ACCOUNT;
    if (!json_is_true(json_object_get(payload, "email_verified")))
        return OIDC_UNVERIFIED_EMAIL;
    return OIDC_OK;
}
