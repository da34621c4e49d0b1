/* fuzz_jwks — JWK set parsing: any input either fails cleanly or yields a set whose keys are all
 * RSA of 2048 to 8192 bits, each found again by its kid and exported back to a JWK. */
#include <stddef.h>
#include <stdint.h>

#include "jwks.h"
#include "jwt.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_jwks", LOG_CRITICAL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    jwks_keyset *ks = jwks_keyset_parse((const char *)data, size, err, sizeof err);
    if (!ks)
        return 0;
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, 0, &je);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(root, "keys"), i, k)
    {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        EVP_PKEY *key = jwks_keyset_find(ks, kid);
        if (!key)
            continue;
        if (!jwt_key_acceptable(key))
            __builtin_trap();
        json_t *jwk = jwks_key_to_jwk(key, kid);
        if (!jwk)
            __builtin_trap();
        json_decref(jwk);
    }
    json_decref(root);
    jwks_keyset_free(ks);
    return 0;
}
