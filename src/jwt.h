/* jwt — strict JWS compact parsing and RS256 signing/verification (OpenSSL 3 EVP).
 *
 * Strict means: at most JWT_MAX_LEN bytes; exactly three base64url segments with no padding, no
 * character outside the alphabet and no non-canonical trailing bits (libsodium); a non-empty
 * signature; header and payload JSON objects with no duplicate member names and no NUL in any
 * string. Only "alg":"RS256" is accepted, whatever the key: "none", HS*, ES*, PS* are
 * JWT_UNSUPPORTED_ALG. A "crit" header rejects the token (we understand no extension). "jku",
 * "x5u", "jwk" and "x5c" are ignored: where keys come from is the caller's business (jwks.h),
 * and "kid" is only a string to look a key up by. RSA keys under JWT_MIN_RSA_BITS are refused.
 *
 * Ownership: a parsed jwt borrows the token text (for the signing input) and owns its decoded
 * header, payload and signature; jwt_clear() releases them. */
#ifndef RT_JWT_H
#define RT_JWT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#define JWT_MAX_LEN 8192
#define JWT_MIN_RSA_BITS 2048

typedef enum {
    JWT_OK = 0,
    JWT_MALFORMED,       /* structure, base64url, JSON, size, "crit" */
    JWT_UNSUPPORTED_ALG, /* "alg" is not "RS256" */
    JWT_BAD_SIGNATURE,   /* the signature does not verify with the key */
    JWT_WEAK_KEY,        /* not an RSA key, or under JWT_MIN_RSA_BITS */
    JWT_NOMEM,
} jwt_status;

typedef struct {
    json_t *header;            /* owned; an object */
    json_t *payload;           /* owned; an object */
    const char *alg, *kid;     /* borrowed from header; kid NULL when absent */
    const char *signing_input; /* borrowed: the token's "header.payload" prefix */
    size_t signing_input_len;
    unsigned char *sig; /* owned */
    size_t sig_len;
} jwt;

/* "ok", "malformed", "unsupported_alg", "bad_signature", "weak_key", "nomem". */
const char *jwt_status_name(jwt_status s);

/* Parses TOKEN (LEN bytes, need not be NUL-terminated). On JWT_OK all of OUT is set. On failure
 * OUT keeps what could be decoded (header and/or payload, for logging) and must still be given
 * to jwt_clear(). The token must outlive OUT. */
jwt_status jwt_parse(const char *token, size_t len, jwt *out);

/* Releases what jwt_parse() decoded; OUT is zeroed. Safe on a zeroed jwt. */
void jwt_clear(jwt *t);

/* Verifies T's RS256 signature with the public KEY (borrowed). */
jwt_status jwt_verify(const jwt *t, EVP_PKEY *key);

/* The RS256 check itself, over any signing input (for callers and tests that hold raw bytes). */
jwt_status jwt_verify_rs256(const void *signing_input, size_t len, const unsigned char *sig,
                            size_t sig_len, EVP_PKEY *key);

/* Signs HEADER and PAYLOAD (objects, borrowed; "alg" is forced to "RS256") with the RSA private
 * key PRIV. *OUT receives a malloc'd NUL-terminated compact token the caller frees. */
jwt_status jwt_sign_rs256(const json_t *header, const json_t *payload, EVP_PKEY *priv, char **out);

/* True for an RSA key of at least JWT_MIN_RSA_BITS. */
int jwt_key_acceptable(EVP_PKEY *key);

/* Base64url without padding, strict as above. Decode returns a malloc'd buffer (NUL-terminated
 * for convenience, the NUL not counted) or NULL; encode returns a malloc'd string or NULL. */
unsigned char *jwt_b64url_decode(const char *s, size_t len, size_t *out_len);
char *jwt_b64url_encode(const void *bin, size_t len);

#endif
