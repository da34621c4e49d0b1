/* case_token — test-only: the bearer token a delivery case describes (tests/data/README.md,
 * "Tokens"), minted here with the runner's keys or by the emulator's issuer, then mutated and
 * put into the Authorization header as the case says.
 *
 * The keys stand in for the emulator's: OURS is published under kid "k1" (the issuer's
 * current key), OTHER is unpublished (sign: other-key) and WEAK, 1024 bits, is published under
 * kid "weak" (sign: small-key). Every string returned is malloc'd unless said otherwise. */
#ifndef TEST_CASE_TOKEN_H
#define TEST_CASE_TOKEN_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>

#include "case_file.h"

/* The audiences and service accounts the runners' pools accept; a default token is for the
 * first of each. */
#define CASE_AUDIENCE "https://retrain.test/"
#define CASE_AUDIENCE_2 "https://second.retrain.test/"
#define CASE_ACCOUNT "eventarc-trigger@test-project.iam.gserviceaccount.com"
#define CASE_ACCOUNT_2 "second-trigger@test-project.iam.gserviceaccount.com"

typedef struct {
    EVP_PKEY *ours, *other, *weak;
    char *jwks; /* {"keys":[ours as k1, weak]} */
} case_keys;

/* Makes the keys (aborts on failure); case_keys_free releases them. */
void case_keys_make(case_keys *k);
void case_keys_free(case_keys *k);

/* The keys of the header block that describe the token, for the runners' lists of known keys. */
extern const char *const case_token_keys[];

/* C's token minted with K at NOW (epoch seconds), before its mutations: the literal "token",
 * or a header and claims signed as "sign" says. NULL with *BAD naming the problem. */
char *case_token_mint(const case_file *c, const case_keys *k, int64_t now, const char **bad);

/* The body of the emulator's POST /emulator/oidc/mint for C's token at NOW (new reference):
 * {"sign", "header", "claims"} overrides. NULL with *WHY when the emulator cannot mint it (raw
 * header or payload text, a literal token, a DER-keyed HMAC). */
json_t *case_token_mint_request(const case_file *c, int64_t now, const char **why);

/* TOKEN with C's "mutate" lines applied in order. NULL with *BAD. */
char *case_token_mutate(const case_file *c, const char *token, const char **bad);

/* The Authorization header C sends with TOKEN: "authorization" with ${token} replaced (default
 * "Bearer ${token}"), or NULL for "(none)". */
char *case_token_authorization(const case_file *c, const char *token);

#endif
