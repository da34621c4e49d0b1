/* jwt_mint — see jwt_mint.h. */
#include "jwt_mint.h"

#include "jwt.h"

#include <jansson.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *mint_rsa_key(int bits)
{
    EVP_PKEY *key = EVP_RSA_gen((unsigned)bits);
    if (!key)
        abort();
    return key;
}

char *mint_public_pem(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *data;
    if (b && PEM_write_bio_PUBKEY(b, key) == 1) {
        long n = BIO_get_mem_data(b, &data);
        if ((out = malloc((size_t)n + 1))) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

unsigned char *mint_public_der(EVP_PKEY *key, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return NULL;
    unsigned char *out = malloc((size_t)n);
    if (out)
        memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return out;
}

char *mint_b64url(const void *bin, size_t len)
{
    return jwt_b64url_encode(bin, len);
}

static char *signing_input(const char *header, const char *payload)
{
    char *h = mint_b64url(header, strlen(header)), *p = mint_b64url(payload, strlen(payload));
    char *out = NULL;
    if (h && p && asprintf(&out, "%s.%s", h, p) < 0)
        out = NULL;
    free(h);
    free(p);
    return out;
}

char *mint_token_raw(const char *header, const char *payload, const char *sig64)
{
    char *in = signing_input(header, payload), *out = NULL;
    if (in && asprintf(&out, "%s.%s", in, sig64) < 0)
        out = NULL;
    free(in);
    return out;
}

static char *finish(char *in, const unsigned char *sig, size_t sig_len)
{
    char *s64 = mint_b64url(sig, sig_len), *out = NULL;
    if (s64 && asprintf(&out, "%s.%s", in, s64) < 0)
        out = NULL;
    free(s64);
    free(in);
    return out;
}

char *mint_token_rs256(EVP_PKEY *priv, const char *header, const char *payload)
{
    char *in = signing_input(header, payload);
    unsigned char sig[2048];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!in || !md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, (unsigned char *)in, strlen(in)) != 1)
        abort();
    EVP_MD_CTX_free(md);
    return finish(in, sig, sig_len);
}

char *mint_token_hs256(const void *secret, size_t secret_len, const char *header,
                       const char *payload)
{
    char *in = signing_input(header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!in || !HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)in, strlen(in), mac,
                     &mac_len))
        abort();
    return finish(in, mac, mac_len);
}

char *mint_payload(const char *aud, const char *email, int64_t iat, int64_t exp)
{
    json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:I}", "iss", "https://accounts.google.com",
                          "aud", aud, "email", email, "email_verified", 1, "sub",
                          "112233445566778899", "iat", (json_int_t)iat, "exp", (json_int_t)exp);
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return s;
}

char *mint_jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, jwks_key_to_jwk(keys[i], kids[i]));
    json_t *set = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return s;
}

int mint_fetch(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    (void)url;
    mint_fetcher *f = ctx;
    f->calls++;
    if (f->fail || !f->body) {
        snprintf(err, errlen, "fake fetcher: endpoint down");
        return -1;
    }
    out->body = strdup(f->body);
    out->len = strlen(f->body);
    out->max_age_s = f->max_age;
    return out->body ? 0 : -1;
}
