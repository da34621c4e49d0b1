/* jwt — see jwt.h. Decoding is ordered so that the cheapest and most telling check decides:
 * the header (and its "alg") first, so that an "alg":"none" token, which usually carries an
 * empty signature, is reported as an unsupported algorithm rather than as a malformed token. */
#include "jwt.h"

#include <openssl/rsa.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *jwt_status_name(jwt_status s)
{
    switch (s) {
    case JWT_OK:
        return "ok";
    case JWT_MALFORMED:
        return "malformed";
    case JWT_UNSUPPORTED_ALG:
        return "unsupported_alg";
    case JWT_BAD_SIGNATURE:
        return "bad_signature";
    case JWT_WEAK_KEY:
        return "weak_key";
    case JWT_NOMEM:
        return "nomem";
    }
    return "unknown";
}

/* The base64url alphabet (RFC 4648 §5), checked here: libsodium 1.0.18's decoder reads every
 * byte from 0x80 up as '_', so it cannot be trusted to refuse them. */
static bool b64url_alphabet(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

unsigned char *jwt_b64url_decode(const char *s, size_t len, size_t *out_len)
{
    if (!b64url_alphabet(s, len))
        return NULL;
    size_t cap = len / 4 * 3 + 3;
    unsigned char *bin = malloc(cap + 1);
    if (!bin)
        return NULL;
    size_t n = 0;
    /* b64_end NULL: the whole input must be consumed, so '=' or any stray byte fails. */
    if (sodium_base642bin(bin, cap, s, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(bin);
        return NULL;
    }
    bin[n] = '\0';
    *out_len = n;
    return bin;
}

char *jwt_b64url_encode(const void *bin, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (s)
        sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

/* Decodes one segment as a JSON object; duplicate names and NUL in strings are rejected. */
static json_t *decode_object(const char *seg, size_t len)
{
    size_t n;
    unsigned char *bin = jwt_b64url_decode(seg, len, &n);
    if (!bin)
        return NULL;
    json_error_t e;
    json_t *v = json_loadb((const char *)bin, n, JSON_REJECT_DUPLICATES, &e);
    free(bin);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

jwt_status jwt_parse(const char *token, size_t len, jwt *out)
{
    memset(out, 0, sizeof *out);
    if (!token || len == 0 || len > JWT_MAX_LEN)
        return JWT_MALFORMED;
    const char *d1 = memchr(token, '.', len);
    if (!d1)
        return JWT_MALFORMED;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return JWT_MALFORMED;
    size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);
    if (hlen == 0 || plen == 0)
        return JWT_MALFORMED;

    if (!(out->header = decode_object(token, hlen)))
        return JWT_MALFORMED;
    json_t *alg = json_object_get(out->header, "alg");
    json_t *kid = json_object_get(out->header, "kid");
    if (!json_is_string(alg) || (kid && !json_is_string(kid)))
        return JWT_MALFORMED;
    out->alg = json_string_value(alg);
    out->kid = kid ? json_string_value(kid) : NULL;
    out->payload = decode_object(d1 + 1, plen);
    if (strcmp(out->alg, "RS256") != 0)
        return JWT_UNSUPPORTED_ALG;
    if (json_object_get(out->header, "crit") || !out->payload || slen == 0)
        return JWT_MALFORMED;
    if (!(out->sig = jwt_b64url_decode(d2 + 1, slen, &out->sig_len)) || out->sig_len == 0)
        return JWT_MALFORMED;
    out->signing_input = token;
    out->signing_input_len = (size_t)(d2 - token);
    return JWT_OK;
}

void jwt_clear(jwt *t)
{
    json_decref(t->header);
    json_decref(t->payload);
    free(t->sig);
    memset(t, 0, sizeof *t);
}

int jwt_key_acceptable(EVP_PKEY *key)
{
    return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
           EVP_PKEY_get_bits(key) >= JWT_MIN_RSA_BITS;
}

jwt_status jwt_verify_rs256(const void *signing_input, size_t len, const unsigned char *sig,
                            size_t sig_len, EVP_PKEY *key)
{
    if (!jwt_key_acceptable(key))
        return JWT_WEAK_KEY;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return JWT_NOMEM;
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, signing_input, len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? JWT_OK : JWT_BAD_SIGNATURE;
}

jwt_status jwt_verify(const jwt *t, EVP_PKEY *key)
{
    if (!t->signing_input || !t->sig || !t->alg || strcmp(t->alg, "RS256") != 0)
        return JWT_MALFORMED;
    return jwt_verify_rs256(t->signing_input, t->signing_input_len, t->sig, t->sig_len, key);
}

/* The base64url of V's compact JSON text, malloc'd. */
static char *encode_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text)
        return NULL;
    char *enc = jwt_b64url_encode(text, strlen(text));
    free(text);
    return enc;
}

jwt_status jwt_sign_rs256(const json_t *header, const json_t *payload, EVP_PKEY *priv, char **out)
{
    *out = NULL;
    if (!json_is_object(header) || !json_is_object(payload))
        return JWT_MALFORMED;
    if (!jwt_key_acceptable(priv))
        return JWT_WEAK_KEY;
    jwt_status st = JWT_NOMEM;
    json_t *h = json_deep_copy(header);
    char *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL;
    unsigned char *sig = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!h || !md || json_object_set_new(h, "alg", json_string("RS256")) != 0)
        goto done;
    if (!(h64 = encode_json(h)) || !(p64 = encode_json(payload)))
        goto done;
    size_t ilen = strlen(h64) + 1 + strlen(p64);
    if (!(input = malloc(ilen + 1)))
        goto done;
    snprintf(input, ilen + 1, "%s.%s", h64, p64);
    size_t sig_len = 0;
    EVP_PKEY_CTX *pctx = NULL;
    if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, priv) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, (unsigned char *)input, ilen) != 1 ||
        !(sig = malloc(sig_len)) ||
        EVP_DigestSign(md, sig, &sig_len, (unsigned char *)input, ilen) != 1) {
        st = JWT_WEAK_KEY; /* not a usable private key */
        goto done;
    }
    if (!(s64 = jwt_b64url_encode(sig, sig_len)))
        goto done;
    size_t total = ilen + 1 + strlen(s64) + 1;
    if (!(*out = malloc(total)))
        goto done;
    snprintf(*out, total, "%s.%s", input, s64);
    st = JWT_OK;
done:
    EVP_MD_CTX_free(md);
    json_decref(h);
    free(h64);
    free(p64);
    free(s64);
    free(input);
    free(sig);
    return st;
}
