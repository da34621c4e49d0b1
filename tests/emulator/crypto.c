/* crypto — see crypto.h. */
#include "crypto.h"

#include "emu.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *emu_rsa_new(unsigned bits)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0 || EVP_PKEY_generate(ctx, &key) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int emu_key_id(EVP_PKEY *key, char out[17])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return -1;
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[16] = '\0';
    return 0;
}

static char *bn_b64url(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(key, param, &bn))
        return NULL;
    int len = BN_num_bytes(bn);
    unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
    char *out = NULL;
    if (buf) {
        BN_bn2bin(bn, buf);
        out = emu_b64url(buf, (size_t)len);
        free(buf);
    }
    BN_free(bn);
    return out;
}

json_t *emu_jwk(EVP_PKEY *key, const char *kid)
{
    char *n = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E);
    json_t *jwk = NULL;
    if (n && e)
        jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "alg", "RS256", "use",
                        "sig", "kid", kid, "n", n, "e", e);
    free(n);
    free(e);
    return jwk;
}

static char *bio_text(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    char *out = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (out) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
    }
    return out;
}

char *emu_pem_public(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = bio && PEM_write_bio_PUBKEY(bio, key) ? bio_text(bio) : NULL;
    BIO_free(bio);
    return out;
}

char *emu_pem_private(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out =
        bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ? bio_text(bio) : NULL;
    BIO_free(bio);
    return out;
}

static char *b64url_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text)
        return NULL;
    char *out = emu_b64url((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

static unsigned char *rs256_sign(EVP_PKEY *key, const char *input, size_t *siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t len = 0;
    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) > 0 &&
        EVP_DigestSign(md, NULL, &len, (const unsigned char *)input, strlen(input)) > 0) {
        sig = malloc(len);
        if (sig &&
            EVP_DigestSign(md, sig, &len, (const unsigned char *)input, strlen(input)) <= 0) {
            free(sig);
            sig = NULL;
        }
    }
    EVP_MD_CTX_free(md);
    *siglen = len;
    return sig;
}

char *emu_jwt_encode(const json_t *header, const json_t *claims, emu_sign_mode mode, EVP_PKEY *key,
                     const char *secret)
{
    char *h = b64url_json(header), *c = b64url_json(claims);
    char *input = NULL, *sig = NULL, *token = NULL;
    if (!h || !c || asprintf(&input, "%s.%s", h, c) < 0) {
        input = NULL;
        goto out;
    }
    if (mode == EMU_SIGN_NONE) {
        sig = strdup("");
    } else if (mode == EMU_SIGN_HS256_SECRET) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
                      (const unsigned char *)input, strlen(input), mac, sizeof mac, &maclen))
            sig = emu_b64url(mac, maclen);
    } else {
        size_t len;
        unsigned char *raw = rs256_sign(key, input, &len);
        if (raw)
            sig = emu_b64url(raw, len);
        free(raw);
    }
    if (sig && asprintf(&token, "%s.%s", input, sig) < 0)
        token = NULL;
out:
    free(h);
    free(c);
    free(input);
    free(sig);
    return token;
}

static json_t *decode_part(const char *text, size_t len)
{
    size_t n;
    unsigned char *raw = emu_b64url_decode(text, len, &n);
    if (!raw)
        return NULL;
    json_t *v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

int emu_jwt_verify_rs256(const char *token, EVP_PKEY *key, json_t **header, json_t **claims)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return -1;
    json_t *h = decode_part(token, (size_t)(dot1 - token));
    json_t *c = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    size_t siglen = 0;
    unsigned char *sig = emu_b64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    int rc = -1;
    if (h && c && sig) {
        const json_t *alg = json_object_get(h, "alg");
        rc = -2;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (json_is_string(alg) && strcmp(json_string_value(alg), "RS256") == 0 && md &&
            EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) > 0 &&
            EVP_DigestVerify(md, sig, siglen, (const unsigned char *)token,
                             (size_t)(dot2 - token)) == 1)
            rc = 0;
        EVP_MD_CTX_free(md);
    }
    free(sig);
    if (rc == 0) {
        *header = h;
        *claims = c;
    } else {
        json_decref(h);
        json_decref(c);
    }
    return rc;
}
