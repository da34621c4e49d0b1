/* bench_jwt — ID-token verifications per second on one core, beside OpenSSL's raw RS256 verify.
 *
 *   full    auth_check with the token cache OFF and the key set warm: header parse, strict JWS
 *           parse (base64url, JSON), key by kid, RS256 verify, claim policy
 *   cached  auth_check with the token cache ON: BLAKE2b of the token, lookup, policy re-check
 *   raw     EVP_DigestVerifyInit + EVP_DigestVerify (RSA-2048, SHA-256) over the same bytes
 *
 * Each runs for about --seconds (default 2) on this thread, the three taking turns in 0.1 s
 * slices; each figure is the median slice. --json FILE also writes the figures.
 * Exit 0, or 1 when a check does not succeed (a broken build measures nothing). */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "auth.h"
#include "jwks.h"
#include "jwt.h"
#include "log.h"

#define AUD "https://retrain.example.com/"
#define SA "eventarc@proj.iam.gserviceaccount.com"
#define NOW 1700000000

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Serves the JWK set from memory: the bench measures verification, not the network. */
static int memory_fetch(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    (void)url;
    (void)err;
    (void)errlen;
    out->body = strdup(ctx);
    out->len = strlen(ctx);
    out->max_age_s = 86400;
    return out->body ? 0 : -1;
}

typedef struct {
    auth *a;
    const char *header;
    arena *ar;
    EVP_PKEY *key;
    const char *input;
    size_t input_len;
    unsigned char *sig;
    size_t sig_len;
} bench_ctx;

static int one_auth(bench_ctx *c)
{
    auth_claims claims;
    auth_result r = auth_check(c->a, c->header, NOW, c->ar, &claims);
    arena_reset(c->ar);
    return r == AUTH_OK;
}

static int one_raw(bench_ctx *c)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, c->key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_DigestVerify(md, c->sig, c->sig_len, (const unsigned char *)c->input,
                              c->input_len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* Operations per second of FN over one slice of SLICE seconds; -1 when an operation fails. */
static double slice_rate(int (*fn)(bench_ctx *), bench_ctx *c, double slice)
{
    uint64_t n = 0;
    double start = seconds_now(), elapsed = 0;
    do {
        for (int i = 0; i < 16; i++, n++)
            if (!fn(c))
                return -1;
        elapsed = seconds_now() - start;
    } while (elapsed < slice);
    return (double)n / elapsed;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define SLICE_S 0.1
#define MAX_ROUNDS 600

static auth *make_auth(const auth_config *cfg, const char *jwks_text)
{
    jwks_options o;
    jwks_options_default(&o);
    o.url = "memory:";
    o.fetch = memory_fetch;
    o.fetch_ctx = (void *)jwks_text;
    char err[256];
    auth *a = auth_new_with_keys(cfg, jwks_new(&o), err, sizeof err);
    if (!a)
        fprintf(stderr, "bench_jwt: %s\n", err);
    return a;
}

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_jwt [--seconds S] [--json FILE]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds <= 60))
        seconds = 2.0;
    log_init("bench_jwt", LOG_WARNING);

    EVP_PKEY *key = EVP_RSA_gen(2048);
    json_t *jwk = jwks_key_to_jwk(key, "k1");
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *jwks_text = json_dumps(set, JSON_COMPACT);
    json_t *h = json_pack("{s:s,s:s}", "kid", "k1", "typ", "JWT");
    json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:i,s:i}", "iss", "https://accounts.google.com",
                          "aud", AUD, "email", SA, "email_verified", 1, "sub", "112233445566778899",
                          "iat", NOW - 10, "exp", NOW + 3590);
    char *token = NULL, *header = NULL;
    if (!key || !jwks_text || jwt_sign_rs256(h, p, key, &token) != JWT_OK ||
        asprintf(&header, "Bearer %s", token) < 0) {
        fprintf(stderr, "bench_jwt: setup failed\n");
        return 1;
    }

    char *auds[] = {AUD}, *sas[] = {SA};
    auth_config cfg = {.audiences = {auds, 1},
                       .service_accounts = {sas, 1},
                       .jwks_url = "memory:",
                       .clock_skew_s = 60,
                       .token_cache_size = 0};
    auth_config cfg_cached = cfg;
    cfg_cached.token_cache_size = 1024;

    char err[256];
    jwks_keyset *ks = jwks_keyset_parse(jwks_text, strlen(jwks_text), err, sizeof err);
    jwt parsed;
    jwt_parse(token, strlen(token), &parsed);
    bench_ctx c = {.header = header,
                   .ar = arena_new(4096),
                   .key = jwks_keyset_find(ks, "k1"), /* the public key auth uses */
                   .input = parsed.signing_input,
                   .input_len = parsed.signing_input_len,
                   .sig = parsed.sig,
                   .sig_len = parsed.sig_len};

    /* The three run in turns, a tenth of a second each, and each figure is the median of its
     * slices: on a shared machine the load then weighs on all three alike. */
    auth *plain = make_auth(&cfg, jwks_text), *cached_auth = make_auth(&cfg_cached, jwks_text);
    int rounds = (int)(seconds / SLICE_S);
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    static double r_full[MAX_ROUNDS], r_cached[MAX_ROUNDS], r_raw[MAX_ROUNDS];
    double full = -1, cached = -1, raw = -1;
    for (int i = 0; plain && cached_auth && i < rounds; i++) {
        c.a = plain;
        r_full[i] = slice_rate(one_auth, &c, SLICE_S);
        c.a = cached_auth;
        r_cached[i] = slice_rate(one_auth, &c, SLICE_S);
        r_raw[i] = slice_rate(one_raw, &c, SLICE_S);
        if (r_full[i] < 0 || r_cached[i] < 0 || r_raw[i] < 0)
            break;
        if (i == rounds - 1) {
            qsort(r_full, (size_t)rounds, sizeof(double), by_value);
            qsort(r_cached, (size_t)rounds, sizeof(double), by_value);
            qsort(r_raw, (size_t)rounds, sizeof(double), by_value);
            full = r_full[rounds / 2];
            cached = r_cached[rounds / 2];
            raw = r_raw[rounds / 2];
        }
    }
    auth_free(plain);
    auth_free(cached_auth);

    int rc = 0;
    if (full <= 0 || cached <= 0 || raw <= 0) {
        fprintf(stderr, "bench_jwt: a verification failed; no figures\n");
        rc = 1;
    } else {
        printf("bench_jwt: ID-token verification, RSA-2048, one core, %.1f s each (median of %d "
               "slices)\n",
               seconds, rounds);
        printf("  %-44s %12.0f /s  %6.2fx raw\n", "full check, token cache off (warm keys)", full,
               full / raw);
        printf("  %-44s %12.0f /s  %6.2fx raw\n", "full check, token cache on (hit)", cached,
               cached / raw);
        printf("  %-44s %12.0f /s  %6.2fx raw\n", "OpenSSL EVP_DigestVerify RS256 (baseline)", raw,
               1.0);
        printf("  parse + policy overhead per check: %.2f us\n", (1e6 / full) - (1e6 / raw));
        if (json_path) {
            json_t *out =
                json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f}", "bench", "jwt", "seconds", seconds,
                          "full_per_s", full, "cached_per_s", cached, "raw_rs256_per_s", raw,
                          "full_vs_raw", full / raw, "cached_vs_raw", cached / raw);
            if (!out || json_dump_file(out, json_path, JSON_INDENT(2)) != 0) {
                fprintf(stderr, "bench_jwt: cannot write %s\n", json_path);
                rc = 1;
            }
            json_decref(out);
        }
    }
    jwt_clear(&parsed);
    jwks_keyset_free(ks);
    arena_free(c.ar);
    free(header);
    free(token);
    free(jwks_text);
    json_decref(set);
    json_decref(h);
    json_decref(p);
    EVP_PKEY_free(key);
    return rc;
}
