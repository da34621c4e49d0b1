/* fuzz_jwt — strict JWS parsing, RS256 verification against a fixed key (RFC 7515 A.2's, so the
 * seed corpus holds a token that verifies), and the claim policy on whatever payload parsed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jwks.h"
#include "jwt.h"
#include "log.h"
#include "oidc.h"

static const char RFC_JWKS[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rfc7515-a2\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}]}";

static jwks_keyset *keys;
static char *auds[] = {"joe", "https://retrain.example.com/"};
static char *sas[] = {"eventarc@proj.iam.gserviceaccount.com"};
static const config_list aud_list = {auds, 2}, sa_list = {sas, 1};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_jwt", LOG_CRITICAL);
    char err[128];
    keys = jwks_keyset_parse(RFC_JWKS, strlen(RFC_JWKS), err, sizeof err);
    return keys ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jwt t;
    jwt_status st = jwt_parse((const char *)data, size, &t);
    if (st == JWT_OK) {
        EVP_PKEY *key = jwks_keyset_find(keys, t.kid ? t.kid : "rfc7515-a2");
        if (key && jwt_verify(&t, key) == JWT_OK && t.signing_input_len > size)
            __builtin_trap(); /* the signing input is a prefix of the token */
    }
    if (t.payload) {
        oidc_policy p = {&aud_list, &sa_list, 60};
        (void)oidc_check(&p, t.payload, 1300819000);
        (void)oidc_audience(&p, t.payload);
    }
    jwt_clear(&t);
    return 0;
}
