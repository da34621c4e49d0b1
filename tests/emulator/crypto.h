/* crypto — the emulator's own JWT signer and RS256 checker (OpenSSL 3 EVP).
 *
 * Written apart from the project's token verifier on purpose: a test that signs with the code
 * it verifies with proves nothing. Keys are EVP_PKEY owned by the caller (EVP_PKEY_free). */
#ifndef EMU_CRYPTO_H
#define EMU_CRYPTO_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

/* A fresh RSA key of BITS bits (e = 65537), or NULL. */
EVP_PKEY *emu_rsa_new(unsigned bits);

/* The key id: the first 8 bytes of SHA-256 over the DER public key, in hex (17 bytes). */
int emu_key_id(EVP_PKEY *key, char out[17]);

/* A JWK {"kty","alg","use","kid","n","e"} for the public half; new reference or NULL. */
json_t *emu_jwk(EVP_PKEY *key, const char *kid);

/* PEM text of the public (SubjectPublicKeyInfo) or private (PKCS#8) key; malloc'd or NULL. */
char *emu_pem_public(EVP_PKEY *key);
char *emu_pem_private(EVP_PKEY *key);

typedef enum {
    EMU_SIGN_RS256,        /* RSA PKCS#1 v1.5 with SHA-256 under KEY */
    EMU_SIGN_NONE,         /* empty signature */
    EMU_SIGN_HS256_SECRET, /* HMAC-SHA256 with SECRET as the key */
} emu_sign_mode;

/* base64url(header) "." base64url(claims) "." signature; malloc'd or NULL. The header and the
 * claims are written as given (the caller sets "alg"). */
char *emu_jwt_encode(const json_t *header, const json_t *claims, emu_sign_mode mode, EVP_PKEY *key,
                     const char *secret);

/* Splits TOKEN and checks an RS256 signature under KEY. On success returns 0 and sets *header
 * and *claims (new references); -1 for a malformed token, -2 for a bad signature. */
int emu_jwt_verify_rs256(const char *token, EVP_PKEY *key, json_t **header, json_t **claims);

#endif
