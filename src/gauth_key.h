/* gauth_key — a Google service-account key file, and the JWT-bearer assertion signed with it.
 *
 * The file is the JSON Google issues: "type":"service_account", "client_email", "private_key"
 * (PKCS#8 PEM), "private_key_id", "token_uri". Problems are reported naming the field, never
 * quoting its value. The PEM text lives only in sodium_malloc memory, wiped and freed as soon as
 * OpenSSL has parsed it; the parsed EVP_PKEY is freed by gauth_key_free.
 *
 * The assertion is the RFC 7523 JWT: header {"alg":"RS256","typ":"JWT","kid":private_key_id},
 * claims {iss: client_email, scope, aud: token_uri, iat, exp: iat + 3600}, signed RS256 with
 * OpenSSL EVP_DigestSign. (src/jwt verifies; signing lives here until jwt grows a signer.) */
#ifndef RT_GAUTH_KEY_H
#define RT_GAUTH_KEY_H

#include <stddef.h>
#include <time.h>

#define GAUTH_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define GAUTH_ASSERTION_LIFETIME_S 3600

typedef struct gauth_key gauth_key;

/* Reads and checks the key file at PATH. Returns the key, or NULL with a message in ERR that
 * names the file's offending field ("private_key: not a PEM RSA private key"). */
gauth_key *gauth_key_load(const char *path, char *err, size_t errlen);

/* The same from the file's text (TEXT need not be NUL-terminated). */
gauth_key *gauth_key_parse(const char *text, size_t len, char *err, size_t errlen);

void gauth_key_free(gauth_key *k);

/* Borrowed strings, valid while K lives. */
const char *gauth_key_email(const gauth_key *k);
const char *gauth_key_token_uri(const gauth_key *k);

/* A signed assertion for the token endpoint, issued at IAT. Returns a malloc'd string (the
 * caller frees it) or NULL when signing fails. */
char *gauth_key_assertion(const gauth_key *k, time_t iat);

#endif
