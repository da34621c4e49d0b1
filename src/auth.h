/* auth — verifies the Authorization header of one delivery: a Google-signed OIDC ID token.
 *
 * Composes jwt (strict JWS parsing, RS256 verification), jwks (the key set, fetched and shared
 * by the pool's workers) and oidc (the claim policy), with a bounded per-worker cache of tokens
 * already verified (keyed by BLAKE2b of the whole token; claims re-checked on every hit).
 *
 * Reason codes beyond their names: a "crit" header, a duplicate JSON member, a NUL in a string,
 * or a missing or non-numeric exp/iat is malformed_token; a lifetime over an hour (plus skew) is
 * expired; a kid not in the key set (after at most one refetch per 30 s) is unknown_key, and so
 * is a key the set refused (under 2048 bits). The header's jku/x5u/jwk/x5c are never used.
 *
 * Ownership: an auth handle belongs to one process; create it after fork. It borrows the
 * auth_config, which must outlive it. The claims written into auth_claims are copies owned by
 * the caller's arena. No function here logs or returns the token itself. */
#ifndef RT_AUTH_H
#define RT_AUTH_H

#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "jwks.h"

typedef struct auth auth;

typedef enum {
    AUTH_OK = 0,
    AUTH_MISSING_TOKEN,
    AUTH_MALFORMED_TOKEN,
    AUTH_UNSUPPORTED_ALG,
    AUTH_BAD_SIGNATURE,
    AUTH_UNKNOWN_KEY,
    AUTH_EXPIRED,
    AUTH_NOT_YET_VALID,
    AUTH_WRONG_ISSUER,
    AUTH_WRONG_AUDIENCE,
    AUTH_UNVERIFIED_EMAIL,
    AUTH_UNAUTHORIZED_ACCOUNT,
    AUTH_KEYS_UNAVAILABLE, /* no usable key set could be had at all: 503, not 401 */
} auth_result;

typedef struct {
    const char *kid, *iss, *aud, *email, *sub; /* NULL when absent or unparsed */
    int64_t exp, iat;
} auth_claims;

/* Fetches keys from cfg->jwks_url (libcurl), shared through cfg->jwks_cache when set. Returns
 * NULL with a reason in ERR when the config cannot work (no audience, no service account). */
auth *auth_new(const auth_config *cfg, char *err, size_t errlen);
/* The same with the key source supplied (tests, `retrainctl verify-token --jwks FILE`). KEYS is
 * taken, even on failure. */
auth *auth_new_with_keys(const auth_config *cfg, jwks *keys, char *err, size_t errlen);
void auth_free(auth *a);

/* Checks AUTHORIZATION ("Bearer <jwt>", may be NULL) at time NOW (epoch seconds). CLAIMS (may be
 * NULL) receives what could be read of the token, even on failure, for the log line; its
 * strings are copies in AR (when AR is NULL, CLAIMS is only zeroed). The scheme is matched
 * case-insensitively; no header, another scheme or an empty token is AUTH_MISSING_TOKEN. With
 * cfg->disabled every request is AUTH_OK (the caller warns). */
auth_result auth_check(auth *a, const char *authorization, int64_t now, arena *ar,
                       auth_claims *claims);

/* "missing_token", ..., "unauthorized_account"; "keys_unavailable". */
const char *auth_result_code(auth_result r);

/* True once a key set is loaded (for /readyz). */
int auth_ready(auth *a);

#endif
