/* auth — see auth.h. The order of checks is the order of cost and of trust: the header's shape,
 * the token cache, strict parsing, the key by kid, the signature, and only then the claims, so
 * that nothing about the policy is revealed for a token we did not sign-check. */
#include "auth.h"

#include "jwt.h"
#include "oidc.h"
#include "token_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct auth {
    const auth_config *cfg;
    oidc_policy policy;
    jwks *keys;
    token_cache *cache;
};

const char *auth_result_code(auth_result r)
{
    switch (r) {
    case AUTH_OK:
        return "ok";
    case AUTH_MISSING_TOKEN:
        return "missing_token";
    case AUTH_MALFORMED_TOKEN:
        return "malformed_token";
    case AUTH_UNSUPPORTED_ALG:
        return "unsupported_alg";
    case AUTH_BAD_SIGNATURE:
        return "bad_signature";
    case AUTH_UNKNOWN_KEY:
        return "unknown_key";
    case AUTH_EXPIRED:
        return "expired";
    case AUTH_NOT_YET_VALID:
        return "not_yet_valid";
    case AUTH_WRONG_ISSUER:
        return "wrong_issuer";
    case AUTH_WRONG_AUDIENCE:
        return "wrong_audience";
    case AUTH_UNVERIFIED_EMAIL:
        return "unverified_email";
    case AUTH_UNAUTHORIZED_ACCOUNT:
        return "unauthorized_account";
    case AUTH_KEYS_UNAVAILABLE:
        return "keys_unavailable";
    }
    return "unknown";
}

auth *auth_new_with_keys(const auth_config *cfg, jwks *keys, char *err, size_t errlen)
{
    if (!cfg->disabled && (cfg->audiences.n == 0 || cfg->service_accounts.n == 0)) {
        snprintf(err, errlen, "auth: at least one audience and one service account are needed");
        jwks_free(keys);
        return NULL;
    }
    auth *a = calloc(1, sizeof *a);
    if (!a || !keys) {
        snprintf(err, errlen, "auth: out of memory");
        jwks_free(keys);
        free(a);
        return NULL;
    }
    a->cfg = cfg;
    a->policy = (oidc_policy){&cfg->audiences, &cfg->service_accounts, cfg->clock_skew_s};
    a->keys = keys;
    if (cfg->token_cache_size > 0 && !(a->cache = token_cache_new((size_t)cfg->token_cache_size))) {
        snprintf(err, errlen, "auth: out of memory");
        auth_free(a);
        return NULL;
    }
    return a;
}

auth *auth_new(const auth_config *cfg, char *err, size_t errlen)
{
    jwks_options o;
    jwks_options_default(&o);
    o.url = cfg->jwks_url;
    o.cache_path = cfg->jwks_cache;
    return auth_new_with_keys(cfg, jwks_new(&o), err, errlen);
}

void auth_free(auth *a)
{
    if (!a)
        return;
    jwks_free(a->keys);
    token_cache_free(a->cache);
    free(a);
}

int auth_ready(auth *a)
{
    return a->cfg->disabled || jwks_ready(a->keys, (int64_t)time(NULL));
}

/* Finds the token in "Bearer <token>"; trailing blanks are dropped, any other blank inside is
 * left for the strict parser to reject. */
static auth_result bearer_token(const char *h, const char **tok, size_t *len)
{
    if (!h)
        return AUTH_MISSING_TOKEN;
    h += strspn(h, " \t");
    if (strncasecmp(h, "bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return AUTH_MISSING_TOKEN;
    h += 6;
    h += strspn(h, " \t");
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n == 0)
        return AUTH_MISSING_TOKEN;
    *tok = h;
    *len = n;
    return AUTH_OK;
}

static const char *copy(arena *ar, const char *s)
{
    return s ? arena_strdup(ar, s) : NULL;
}

static void fill_claims(const auth *a, auth_claims *c, arena *ar, const char *kid,
                        const json_t *payload)
{
    if (!c || !ar)
        return;
    c->kid = copy(ar, kid);
    if (!payload)
        return;
    c->iss = copy(ar, json_string_value(json_object_get(payload, "iss")));
    c->aud = copy(ar, oidc_audience(&a->policy, payload));
    c->email = copy(ar, json_string_value(json_object_get(payload, "email")));
    c->sub = copy(ar, json_string_value(json_object_get(payload, "sub")));
    if (oidc_numeric_date(payload, "exp", &c->exp) != 0)
        c->exp = 0;
    if (oidc_numeric_date(payload, "iat", &c->iat) != 0)
        c->iat = 0;
}

static auth_result from_oidc(oidc_result r)
{
    switch (r) {
    case OIDC_OK:
        return AUTH_OK;
    case OIDC_EXPIRED:
        return AUTH_EXPIRED;
    case OIDC_NOT_YET_VALID:
        return AUTH_NOT_YET_VALID;
    case OIDC_WRONG_ISSUER:
        return AUTH_WRONG_ISSUER;
    case OIDC_WRONG_AUDIENCE:
        return AUTH_WRONG_AUDIENCE;
    case OIDC_UNVERIFIED_EMAIL:
        return AUTH_UNVERIFIED_EMAIL;
    case OIDC_UNAUTHORIZED_ACCOUNT:
        return AUTH_UNAUTHORIZED_ACCOUNT;
    case OIDC_MALFORMED:
        break;
    }
    return AUTH_MALFORMED_TOKEN;
}

auth_result auth_check(auth *a, const char *authorization, int64_t now, arena *ar,
                       auth_claims *claims)
{
    if (claims)
        memset(claims, 0, sizeof *claims);
    if (a->cfg->disabled)
        return AUTH_OK;
    const char *tok = NULL;
    size_t len = 0;
    auth_result r = bearer_token(authorization, &tok, &len);
    if (r != AUTH_OK)
        return r;
    if (len > JWT_MAX_LEN)
        return AUTH_MALFORMED_TOKEN;

    const json_t *cached;
    const char *cached_kid;
    if (token_cache_get(a->cache, tok, len, now, &cached, &cached_kid)) {
        fill_claims(a, claims, ar, cached_kid, cached);
        return from_oidc(oidc_check(&a->policy, cached, now));
    }

    jwt t;
    jwt_status js = jwt_parse(tok, len, &t);
    fill_claims(a, claims, ar, t.kid, t.payload);
    EVP_PKEY *key = NULL;
    if (js != JWT_OK) {
        r = js == JWT_UNSUPPORTED_ALG ? AUTH_UNSUPPORTED_ALG : AUTH_MALFORMED_TOKEN;
    } else {
        jwks_status ks = jwks_key_for_kid(a->keys, t.kid, now, &key);
        if (ks == JWKS_UNAVAILABLE)
            r = AUTH_KEYS_UNAVAILABLE;
        else if (ks != JWKS_OK)
            r = AUTH_UNKNOWN_KEY;
        else if (jwt_verify(&t, key) != JWT_OK)
            r = AUTH_BAD_SIGNATURE;
        else if ((r = from_oidc(oidc_check(&a->policy, t.payload, now))) == AUTH_OK) {
            int64_t exp;
            if (oidc_numeric_date(t.payload, "exp", &exp) == 0)
                token_cache_put(a->cache, tok, len, t.payload, t.kid, exp + a->cfg->clock_skew_s);
        }
    }
    jwt_clear(&t);
    return r;
}
