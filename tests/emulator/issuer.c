/* issuer — the OIDC test issuer: Google's accounts.google.com as far as a token verifier sees.
 *
 *   GET  /oauth2/v3/certs                 the JWKS, Cache-Control: public, max-age=N
 *   GET  /.well-known/openid-configuration issuer and jwks_uri
 *   POST /emulator/oidc/mint              {"claims","header","sign","ttl_s"} -> {"token","kid"}
 *   POST /emulator/oidc/rotate            new signing key published, the old one removed
 *   POST /emulator/oidc/down              {"down":bool, "mode":"503"|"drop"}: JWKS unavailable
 *   GET  /emulator/oidc/jwks-hits         {"hits":served, "attempts":all}
 *   GET  /emulator/oidc/public-key.pem    the signing key's public half (for openssl checks)
 *
 * Minted tokens default to a valid Google ID token for the configured audience and service
 * account; "claims" and "header" members override the defaults, a null member removes one.
 * Sign modes that make bad tokens on purpose: "none" (alg none, empty signature), "hs256-pubkey"
 * (HMAC keyed with the public key's PEM: the classic algorithm confusion), "other-key" (an
 * unpublished key claiming our kid) and "small-key" (RSA-1024, published under its own kid from
 * its first use on). Reset keeps the signing key, so verifiers' caches stay right, and clears
 * the rest. Keys are generated outside the lock: RSA key generation takes tens of ms. */
#include "crypto.h"
#include "emu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    EVP_PKEY *key;
    char kid[17];
} issuer_key;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const emu_options *opts;
static issuer_key cur, small_key, other_key;
static bool small_published, down, down_drop;
static long hits, attempts, minted;

static int key_make(issuer_key *k, unsigned bits)
{
    k->key = emu_rsa_new(bits);
    return k->key && emu_key_id(k->key, k->kid) == 0 ? 0 : -1;
}

static int issuer_init(const emu_options *opt)
{
    opts = opt;
    return key_make(&cur, 2048) == 0 && key_make(&other_key, 2048) == 0 &&
                   key_make(&small_key, 1024) == 0
               ? 0
               : -1;
}

static void issuer_shutdown(void)
{
    EVP_PKEY_free(cur.key);
    EVP_PKEY_free(other_key.key);
    EVP_PKEY_free(small_key.key);
}

static void issuer_reset(void)
{
    pthread_mutex_lock(&mu);
    small_published = down = down_drop = false;
    hits = attempts = minted = 0;
    pthread_mutex_unlock(&mu);
}

static void issuer_stats(json_t *out)
{
    pthread_mutex_lock(&mu);
    json_object_set_new(out, "oidc",
                        json_pack("{s:I, s:I, s:s, s:b}", "jwks_hits", (json_int_t)hits, "minted",
                                  (json_int_t)minted, "kid", cur.kid, "down", down));
    pthread_mutex_unlock(&mu);
}

static void serve_jwks(emu_response *resp)
{
    pthread_mutex_lock(&mu);
    attempts++;
    if (down) {
        bool drop = down_drop;
        pthread_mutex_unlock(&mu);
        if (drop)
            resp->drop = true;
        else
            emu_respond_error(resp, 503, "UNAVAILABLE", "The JWKS endpoint is down.");
        return;
    }
    hits++;
    json_t *keys = json_array();
    json_array_append_new(keys, emu_jwk(cur.key, cur.kid));
    if (small_published)
        json_array_append_new(keys, emu_jwk(small_key.key, small_key.kid));
    pthread_mutex_unlock(&mu);
    char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%ld", opts->jwks_max_age);
    emu_add_header(resp, "Cache-Control", cc);
    emu_respond_value(resp, 200, json_pack("{s:o}", "keys", keys));
}

/* Members of OVER replace those of BASE; a null member removes it. */
static void apply_overrides(json_t *base, const json_t *over)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)over, key, v)
    {
        if (json_is_null(v))
            json_object_del(base, key);
        else
            json_object_set(base, key, v);
    }
}

/* A valid Google ID token's claims, as Eventarc's push subscription sends them. */
static json_t *default_claims(const char *aud, json_int_t ttl)
{
    json_int_t now = (json_int_t)(emu_now_ms() / 1000);
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:s}", "iss",
                     "https://accounts.google.com", "aud", aud, "azp", "112233445566778899001",
                     "email", opts->service_account, "email_verified", 1, "iat", now, "exp",
                     now + ttl, "sub", "112233445566778899001");
}

static void mint(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    const json_t *claims_in = NULL, *header_in = NULL;
    const char *sign = "rs256";
    json_int_t ttl = 300;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok;
        if (strcmp(key, "claims") == 0)
            ok = json_is_object(claims_in = v);
        else if (strcmp(key, "header") == 0)
            ok = json_is_object(header_in = v);
        else if (strcmp(key, "sign") == 0)
            ok = json_is_string(v) && (sign = json_string_value(v));
        else if (strcmp(key, "ttl_s") == 0)
            ok = json_is_integer(v) && ((ttl = json_integer_value(v)), true);
        else
            ok = false;
        if (!ok) {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "bad or unknown member \"%s\"", key);
            json_decref(body);
            return;
        }
    }
    emu_sign_mode mode = EMU_SIGN_RS256;
    const char *alg = "RS256";
    bool use_other = false, use_small = false;
    if (strcmp(sign, "none") == 0) {
        mode = EMU_SIGN_NONE;
        alg = "none";
    } else if (strcmp(sign, "hs256-pubkey") == 0) {
        mode = EMU_SIGN_HS256_SECRET;
        alg = "HS256";
    } else if (strcmp(sign, "other-key") == 0) {
        use_other = true;
    } else if (strcmp(sign, "small-key") == 0) {
        use_small = true;
    } else if (strcmp(sign, "rs256") != 0) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "unknown sign mode \"%s\"", sign);
        json_decref(body);
        return;
    }

    json_t *claims = default_claims(opts->audience, ttl);
    pthread_mutex_lock(&mu);
    if (use_small)
        small_published = true;
    issuer_key *signer = use_small ? &small_key : use_other ? &other_key : &cur;
    EVP_PKEY_up_ref(signer->key);
    EVP_PKEY *sign_key = signer->key;
    const char *kid = use_small ? small_key.kid : cur.kid;
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", kid, "typ", "JWT");
    char *pem = mode == EMU_SIGN_HS256_SECRET ? emu_pem_public(cur.key) : NULL;
    minted++;
    pthread_mutex_unlock(&mu);

    if (claims_in)
        apply_overrides(claims, claims_in);
    if (header_in)
        apply_overrides(header, header_in);
    char *token = emu_jwt_encode(header, claims, mode, sign_key, pem);
    EVP_PKEY_free(sign_key);
    free(pem);
    if (token) {
        json_t *out = json_pack("{s:s}", "token", token);
        json_t *kid_used = json_object_get(header, "kid");
        if (out && kid_used)
            json_object_set(out, "kid", kid_used);
        emu_respond_value(resp, 200, out);
    } else {
        emu_respond_error(resp, 500, "INTERNAL", "could not sign the token");
    }
    free(token);
    json_decref(claims);
    json_decref(header);
    json_decref(body);
}

char *emu_issuer_id_token(const char *aud)
{
    json_t *claims = default_claims(aud, 3600);
    pthread_mutex_lock(&mu);
    EVP_PKEY *key = cur.key;
    EVP_PKEY_up_ref(key);
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "kid", cur.kid, "typ", "JWT");
    minted++;
    pthread_mutex_unlock(&mu);
    char *token = emu_jwt_encode(header, claims, EMU_SIGN_RS256, key, NULL);
    EVP_PKEY_free(key);
    json_decref(header);
    json_decref(claims);
    return token;
}

static void rotate(emu_response *resp)
{
    issuer_key fresh;
    if (key_make(&fresh, 2048) != 0) {
        EVP_PKEY_free(fresh.key);
        emu_respond_error(resp, 500, "INTERNAL", "could not generate a key");
        return;
    }
    pthread_mutex_lock(&mu);
    issuer_key old = cur;
    cur = fresh;
    pthread_mutex_unlock(&mu);
    EVP_PKEY_free(old.key);
    emu_respond_value(resp, 200, json_pack("{s:s, s:s}", "kid", fresh.kid, "removed", old.kid));
}

static void set_down(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    const json_t *d = json_object_get(body, "down"), *m = json_object_get(body, "mode");
    bool drop = m && json_is_string(m) && strcmp(json_string_value(m), "drop") == 0;
    if (!json_is_boolean(d) ||
        (m && (!json_is_string(m) || (!drop && strcmp(json_string_value(m), "503") != 0))) ||
        json_object_size(body) != (m ? 2u : 1u)) {
        json_decref(body);
        emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                          "expected {\"down\":true|false, \"mode\":\"503\"|\"drop\"}");
        return;
    }
    pthread_mutex_lock(&mu);
    down = json_is_true(d);
    down_drop = drop;
    pthread_mutex_unlock(&mu);
    json_decref(body);
    emu_respond_value(resp, 200, json_pack("{s:b}", "down", down));
}

static bool issuer_handle(const emu_request *req, emu_response *resp)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *p = req->path;
    if (strcmp(p, "/oauth2/v3/certs") == 0 && get) {
        resp->route = "oidc.jwks";
        serve_jwks(resp);
    } else if (strcmp(p, "/.well-known/openid-configuration") == 0 && get) {
        resp->route = "oidc.discovery";
        char jwks_uri[160];
        snprintf(jwks_uri, sizeof jwks_uri, "%s/oauth2/v3/certs", emu_base_url());
        emu_respond_value(resp, 200,
                          json_pack("{s:s, s:s, s:[s], s:[s]}", "issuer",
                                    "https://accounts.google.com", "jwks_uri", jwks_uri,
                                    "id_token_signing_alg_values_supported", "RS256",
                                    "subject_types_supported", "public"));
    } else if (strcmp(p, "/emulator/oidc/mint") == 0 && post) {
        resp->route = "oidc.mint";
        mint(req, resp);
    } else if (strcmp(p, "/emulator/oidc/rotate") == 0 && post) {
        resp->route = "oidc.rotate";
        rotate(resp);
    } else if (strcmp(p, "/emulator/oidc/down") == 0 && post) {
        resp->route = "oidc.down";
        set_down(req, resp);
    } else if (strcmp(p, "/emulator/oidc/jwks-hits") == 0 && get) {
        resp->route = "oidc.jwks_hits";
        pthread_mutex_lock(&mu);
        json_t *v =
            json_pack("{s:I, s:I}", "hits", (json_int_t)hits, "attempts", (json_int_t)attempts);
        pthread_mutex_unlock(&mu);
        emu_respond_value(resp, 200, v);
    } else if (strcmp(p, "/emulator/oidc/public-key.pem") == 0 && get) {
        resp->route = "oidc.public_key";
        pthread_mutex_lock(&mu);
        char *pem = emu_pem_public(cur.key);
        pthread_mutex_unlock(&mu);
        resp->status = pem ? 200 : 500;
        resp->content_type = "application/x-pem-file";
        resp->body = pem;
    } else {
        return false;
    }
    return true;
}

const emu_service emu_issuer_service = {
    .name = "oidc",
    .init = issuer_init,
    .handle = issuer_handle,
    .reset = issuer_reset,
    .stats = issuer_stats,
    .shutdown = issuer_shutdown,
};
