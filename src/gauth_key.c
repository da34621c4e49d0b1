/* gauth_key — see gauth_key.h.
 *
 * The file is read into sodium_malloc memory and the "private_key" string jansson made is wiped
 * in place before it is released, so that no copy of the PEM outlives the parse in memory we
 * own. (jansson's parser buffers are outside our reach; they are freed at once.) */
#include "gauth_key.h"

#include "jwt.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY_FILE_MAX (64u << 10)

struct gauth_key {
    char *email;
    char *key_id; /* NULL when the file has none */
    char *token_uri;
    EVP_PKEY *pkey;
};

void gauth_key_free(gauth_key *k)
{
    if (!k)
        return;
    free(k->email);
    free(k->key_id);
    free(k->token_uri);
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *gauth_key_email(const gauth_key *k)
{
    return k->email;
}

const char *gauth_key_token_uri(const gauth_key *k)
{
    return k->token_uri;
}

/* A required non-empty string field, or NULL with ERR naming it. */
static const char *string_field(json_t *root, const char *name, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, name);
    if (!v) {
        snprintf(err, errlen, "%s: missing", name);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(err, errlen, "%s: must be a non-empty string", name);
        return NULL;
    }
    return json_string_value(v);
}

/* Parses the PEM through a sodium_malloc copy that is wiped and freed right after. */
static EVP_PKEY *parse_pem(const char *pem, size_t len)
{
    char *secure = sodium_malloc(len + 1);
    if (!secure)
        return NULL;
    memcpy(secure, pem, len);
    secure[len] = '\0';
    EVP_PKEY *pkey = NULL;
    BIO *bio = BIO_new_mem_buf(secure, (int)len);
    if (bio) {
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    sodium_free(secure); /* sodium_free wipes before it releases */
    if (pkey && !EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static bool is_http_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

static gauth_key *from_json(json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root)) {
        snprintf(err, errlen, "key file: not a JSON object");
        return NULL;
    }
    const char *type = string_field(root, "type", err, errlen);
    if (!type)
        return NULL;
    if (strcmp(type, "service_account") != 0) {
        snprintf(err, errlen, "type: must be \"service_account\"");
        return NULL;
    }
    const char *email = string_field(root, "client_email", err, errlen);
    const char *token_uri = email ? string_field(root, "token_uri", err, errlen) : NULL;
    const char *pem = token_uri ? string_field(root, "private_key", err, errlen) : NULL;
    if (!pem)
        return NULL;
    if (!is_http_url(token_uri)) {
        snprintf(err, errlen, "token_uri: must be an http(s) URL");
        return NULL;
    }
    json_t *kid = json_object_get(root, "private_key_id");
    if (kid && !json_is_string(kid)) {
        snprintf(err, errlen, "private_key_id: must be a string");
        return NULL;
    }
    gauth_key *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->pkey = parse_pem(pem, json_string_length(json_object_get(root, "private_key")));
    if (!k->pkey) {
        snprintf(err, errlen, "private_key: not a PEM RSA private key");
        gauth_key_free(k);
        return NULL;
    }
    k->email = strdup(email);
    k->token_uri = strdup(token_uri);
    k->key_id = kid && json_string_length(kid) ? strdup(json_string_value(kid)) : NULL;
    if (!k->email || !k->token_uri || (kid && json_string_length(kid) && !k->key_id)) {
        snprintf(err, errlen, "out of memory");
        gauth_key_free(k);
        return NULL;
    }
    return k;
}

gauth_key *gauth_key_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jerr.text may quote the input; report the position only. */
        snprintf(err, errlen, "key file: not valid JSON (line %d, column %d)", jerr.line,
                 jerr.column);
        return NULL;
    }
    gauth_key *k = from_json(root, err, errlen);
    json_t *pem = json_object_get(root, "private_key");
    if (json_is_string(pem)) /* wipe jansson's copy of the PEM before it is freed */
        sodium_memzero((char *)json_string_value(pem), json_string_length(pem));
    json_decref(root);
    return k;
}

gauth_key *gauth_key_load(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > KEY_FILE_MAX) {
        snprintf(err, errlen, "key file %s: empty or larger than %u bytes", path, KEY_FILE_MAX);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *text = sodium_malloc(size);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        fclose(f);
        return NULL;
    }
    size_t got = fread(text, 1, size, f);
    fclose(f);
    gauth_key *k = NULL;
    if (got != size)
        snprintf(err, errlen, "key file %s: short read", path);
    else
        k = gauth_key_parse(text, size, err, errlen);
    sodium_free(text);
    return k;
}

char *gauth_key_assertion(const gauth_key *k, time_t iat)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    if (header && k->key_id)
        json_object_set_new(header, "kid", json_string(k->key_id));
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", k->email, "scope", GAUTH_SCOPE,
                               "aud", k->token_uri, "iat", (json_int_t)iat, "exp",
                               (json_int_t)iat + GAUTH_ASSERTION_LIFETIME_S);
    char *out = NULL;
    if (!header || !claims || jwt_sign_rs256(header, claims, k->pkey, &out) != JWT_OK)
        out = NULL;
    json_decref(header);
    json_decref(claims);
    return out;
}
