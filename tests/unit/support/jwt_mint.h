/* jwt_mint — test-only: RSA keys, JWK sets and tokens with any header and claims, forged ones
 * included (raw JSON text is signed as given, so duplicate members or odd types survive).
 *
 * Every string returned is malloc'd and freed by the caller; keys with EVP_PKEY_free. */
#ifndef TEST_JWT_MINT_H
#define TEST_JWT_MINT_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "jwks.h"

/* A fresh RSA key pair of BITS bits (aborts on failure). */
EVP_PKEY *mint_rsa_key(int bits);

/* The public key as PEM (SubjectPublicKeyInfo) text, and as DER bytes (*LEN). */
char *mint_public_pem(EVP_PKEY *key);
unsigned char *mint_public_der(EVP_PKEY *key, size_t *len);

/* base64url, no padding. */
char *mint_b64url(const void *bin, size_t len);

/* "b64(HEADER).b64(PAYLOAD)" signed RS256 with PRIV. */
char *mint_token_rs256(EVP_PKEY *priv, const char *header, const char *payload);
/* "b64(HEADER).b64(PAYLOAD).SIG64" with SIG64 as given (may be ""). */
char *mint_token_raw(const char *header, const char *payload, const char *sig64);
/* HS256 with SECRET as the HMAC key. */
char *mint_token_hs256(const void *secret, size_t secret_len, const char *header,
                       const char *payload);

/* A Google-shaped payload: iss accounts.google.com, AUD, EMAIL verified, IAT, EXP, sub. */
char *mint_payload(const char *aud, const char *email, int64_t iat, int64_t exp);

/* {"keys":[...]} with KEYS[i] under KIDS[i]. */
char *mint_jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n);

/* A fake jwks fetcher: serves BODY (copied per call) with MAX_AGE, or fails when FAIL; counts
 * its calls. Use with jwks_options.fetch = mint_fetch, fetch_ctx = &fake. */
typedef struct {
    const char *body;
    long max_age;
    int fail;
    int calls;
} mint_fetcher;
int mint_fetch(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen);

#endif
