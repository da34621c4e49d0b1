/* jwks — Google's JWK set: parsed into RSA public keys by kid, fetched, cached and shared.
 *
 * A key set is parsed from JSON {"keys":[...]}: each RSA key with string "kty" ("RSA"), "kid",
 * "n" and "e" (strict base64url) becomes an EVP_PKEY; a key that is malformed, not RSA, marked
 * for another use or algorithm, under 2048 or over 8192 bits, or a repeated kid, is skipped and
 * logged and never spoils the rest of the set.
 *
 * A jwks handle keeps the current set for the Cache-Control max-age of the response that
 * brought it, and refreshes it on its own schedule at half of max-age: an issuer that announces
 * max-age M must publish a key at least M before it signs with it (or caches that honour M would
 * refuse its tokens), so a set refreshed every M/2 holds every new key before its first token,
 * whatever else happens. Google rotates that way. A kid that is not in the set (an issuer that
 * signs with a key as soon as it publishes it, or a forged kid: they look the same) may refetch
 * the set at most once per `unknown_kid_interval_s` (5 s). The two have separate clocks: unknown
 * kids, however many, never delay the regular refresh, and a genuine new kid is found within
 * 5 s of its publication even while forged kids flood in; a flood costs at most one fetch per
 * 5 s. A regular attempt that fails is retried at most once per `refetch_interval_s` (30 s), so
 * a failing endpoint is not hammered. When fetches fail the last set keeps serving for `grace_s`
 * past its max-age; the failure is logged. With `cache_path`, the workers of a pool share one
 * fetched set through that file: a lock file (cache_path + ".lock", flock) lets one worker
 * fetch while the others wait and then re-read the file; the file (fetch time, max-age, both
 * clocks, then the JWKS body) is replaced atomically (temp file + rename), and both bounds are
 * pool-wide. Without it each process has its own.
 *
 * Time is always passed in (epoch seconds), and the fetch is a function pointer, so tests drive
 * max-age, throttle and grace with a fake clock and a fake fetcher.
 *
 * Ownership: a jwks handle belongs to one process (create it after fork). Keys returned by
 * jwks_key_for_kid() are borrowed and valid until the next call on the same handle. */
#ifndef RT_JWKS_H
#define RT_JWKS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWKS_MAX_BODY (1024 * 1024)
#define JWKS_MAX_RSA_BITS 8192

/* ---- a parsed key set ---------------------------------------------------------------------- */

typedef struct jwks_keyset jwks_keyset;

/* Parses BODY (LEN bytes). Returns NULL (and a reason in ERR) only when BODY is not a JSON object
 * with a "keys" array; a set whose keys were all skipped is returned empty. Free with
 * jwks_keyset_free(). */
jwks_keyset *jwks_keyset_parse(const char *body, size_t len, char *err, size_t errlen);
void jwks_keyset_free(jwks_keyset *ks);
size_t jwks_keyset_count(const jwks_keyset *ks);
/* The key whose kid equals KID exactly (byte for byte), borrowed; NULL when none. */
EVP_PKEY *jwks_keyset_find(const jwks_keyset *ks, const char *kid);

/* The public JWK of an RSA key: {"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}.
 * A new reference, or NULL when KEY is not RSA. */
json_t *jwks_key_to_jwk(EVP_PKEY *key, const char *kid);

/* ---- fetching ------------------------------------------------------------------------------ */

typedef struct {
    char *body; /* malloc'd; the jwks handle takes it */
    size_t len;
    long max_age_s; /* from Cache-Control; -1 when absent */
} jwks_body;

/* Fetches URL into OUT. Returns 0, or -1 with a reason in ERR (no secret in it). */
typedef int (*jwks_fetch_fn)(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen);

/* Over fetch.h (src/jwks_http.c): GET with connect/total timeouts (3 s / 5 s), TLS verified, no
 * redirects, at most JWKS_MAX_BODY; http:// only to a loopback host (the local emulator), which
 * is never reached through a proxy. CTX: a fetch_client to use, or NULL for one per fetch. */
int jwks_fetch_http(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen);
/* Reads the file named URL (a path); max-age one day. CTX unused. For `retrainctl`. */
int jwks_fetch_file(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen);

/* ---- the cached, shared set ---------------------------------------------------------------- */

typedef struct {
    const char *url;        /* copied */
    const char *cache_path; /* copied; NULL: no sharing between processes */
    jwks_fetch_fn fetch;    /* default jwks_fetch_http */
    void *fetch_ctx;
    int64_t refetch_interval_s;     /* regular attempts, after a failure; default 30 */
    int64_t unknown_kid_interval_s; /* refetches for kids not in the set; default 5 */
    int64_t grace_s;                /* default 24 h */
    int64_t default_max_age_s;      /* when the response has none; default 300 */
    int64_t max_max_age_s;          /* cap on a response's max-age; default 24 h */
} jwks_options;

typedef enum {
    JWKS_OK = 0,
    JWKS_UNKNOWN_KID, /* a set is held but has no such kid (after any allowed refetch) */
    JWKS_UNAVAILABLE, /* no usable set could be had */
} jwks_status;

typedef struct jwks jwks;

void jwks_options_default(jwks_options *o);
/* Returns NULL only when out of memory. Nothing is fetched until a key is asked for. */
jwks *jwks_new(const jwks_options *o);
void jwks_free(jwks *j);

/* "ok", "unknown_kid", "unavailable". */
const char *jwks_status_name(jwks_status s);

/* The key for KID at time NOW, refreshing the set as described above. KID NULL: unknown. */
jwks_status jwks_key_for_kid(jwks *j, const char *kid, int64_t now, EVP_PKEY **key);

/* True when a usable set is held at NOW; when none is, tries to get one (throttled as above). */
bool jwks_ready(jwks *j, int64_t now);

#endif
