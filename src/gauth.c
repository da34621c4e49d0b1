/* gauth — see gauth.h.
 *
 * Tokens are kept in sodium_malloc memory (guard pages, wiped on free). Error messages carry
 * the HTTP status and, from an OAuth error answer, only its short "error" code: an answer's
 * free text is not ours to trust and is left out. */
#include "gauth.h"

#include "gauth_key.h"
#include "log.h"
#include "scoreboard.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#define METADATA_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define TOKEN_MAX_LEN 4096

struct gauth {
    gauth_source source;
    gauth_key *key;     /* key-file source */
    char *metadata_url; /* metadata source */
    fetch_client *http;
    bool own_http;
    gauth_clock now;
    void *now_ctx;
    char *token; /* sodium_malloc'd; NULL when none is cached */
    time_t expiry;
    long fetches;
};

const char *gauth_err_name(gauth_err e)
{
    switch (e) {
    case GAUTH_OK:
        return "ok";
    case GAUTH_ERR_CONFIG:
        return "credentials misconfigured";
    case GAUTH_ERR_NO_SOURCE:
        return "no credentials found";
    case GAUTH_ERR_TRANSIENT:
        return "token endpoint unavailable";
    case GAUTH_ERR_DENIED:
        return "token endpoint refused the credentials";
    case GAUTH_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown";
}

const char *gauth_source_name(gauth_source s)
{
    switch (s) {
    case GAUTH_SOURCE_KEY_FILE:
        return "service-account key file";
    case GAUTH_SOURCE_METADATA:
        return "metadata server";
    case GAUTH_SOURCE_STATIC:
        return "static token";
    }
    return "unknown";
}

void gauth_options_from_env(gauth_options *opt)
{
    memset(opt, 0, sizeof *opt);
    const char *v = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    opt->key_file = v && *v ? v : NULL;
    v = getenv("GCE_METADATA_HOST");
    opt->metadata_host = v && *v ? v : GAUTH_DEFAULT_METADATA_HOST;
    opt->probe_metadata = !(v && *v);
    v = getenv("RETRAIN_ACCESS_TOKEN");
    opt->static_token = v && *v ? v : NULL;
}

bool gauth_needs_refresh(time_t expiry, time_t now)
{
    return now >= expiry - GAUTH_REFRESH_MARGIN_S;
}

static char *secure_strdup(const char *s, size_t n)
{
    char *p = sodium_malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int gauth_parse_token_response(const char *body, size_t len, time_t now, char **token,
                               time_t *expiry, char *err, size_t errlen)
{
    *token = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "token answer: not a JSON object");
        json_decref(root);
        return -1;
    }
    json_t *tok = json_object_get(root, "access_token");
    json_t *exp = json_object_get(root, "expires_in");
    json_t *type = json_object_get(root, "token_type");
    int rc = -1;
    if (!json_is_string(tok) || json_string_length(tok) == 0 ||
        json_string_length(tok) > TOKEN_MAX_LEN)
        snprintf(err, errlen, "token answer: access_token missing or malformed");
    else if (!json_is_integer(exp) || json_integer_value(exp) <= 0 ||
             json_integer_value(exp) > 7 * 24 * 3600)
        snprintf(err, errlen, "token answer: expires_in missing or out of range");
    else if (type && (!json_is_string(type) || strcasecmp(json_string_value(type), "Bearer")))
        snprintf(err, errlen, "token answer: token_type is not Bearer");
    else if (!(*token = secure_strdup(json_string_value(tok), json_string_length(tok))))
        snprintf(err, errlen, "out of memory");
    else {
        *expiry = now + (time_t)json_integer_value(exp);
        rc = 0;
    }
    /* The token's text in jansson's memory: wipe it before the tree goes. */
    if (json_is_string(tok))
        sodium_memzero((char *)json_string_value(tok), json_string_length(tok));
    json_decref(root);
    return rc;
}

static time_t clock_now(const gauth *g)
{
    return g->now ? g->now(g->now_ctx) : time(NULL);
}

static void drop_token(gauth *g)
{
    if (g->token)
        sodium_free(g->token);
    g->token = NULL;
    g->expiry = 0;
}

/* The OAuth error code of a 4xx answer, when it is a short identifier; else "". */
static void oauth_error_code(const fetch_answer *r, char *out, size_t outlen)
{
    out[0] = '\0';
    json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
    const char *code = json_string_value(json_object_get(root, "error"));
    if (code && strlen(code) < outlen &&
        strspn(code, "abcdefghijklmnopqrstuvwxyz_") == strlen(code))
        snprintf(out, outlen, "%s", code);
    json_decref(root);
}

static gauth_err read_answer(gauth *g, const char *what, fetch_err herr, fetch_answer *r, char *err,
                             size_t errlen)
{
    if (herr == FETCH_ERR_NOMEM) {
        snprintf(err, errlen, "out of memory");
        return GAUTH_ERR_NOMEM;
    }
    if (herr != FETCH_OK) {
        snprintf(err, errlen, "%s: %s (%s)", what, fetch_err_name(herr), r->detail);
        return GAUTH_ERR_TRANSIENT;
    }
    if (r->status != 200) {
        char code[48];
        oauth_error_code(r, code, sizeof code);
        snprintf(err, errlen, "%s: HTTP %ld%s%s", what, r->status, code[0] ? " " : "", code);
        return r->status >= 500 || r->status == 429 || r->status == 408 ? GAUTH_ERR_TRANSIENT
                                                                        : GAUTH_ERR_DENIED;
    }
    char *token;
    time_t expiry;
    char why[128];
    if (gauth_parse_token_response(r->body, r->body_len, clock_now(g), &token, &expiry, why,
                                   sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return GAUTH_ERR_TRANSIENT;
    }
    drop_token(g);
    g->token = token;
    g->expiry = expiry;
    return GAUTH_OK;
}

static gauth_err fetch_key_file(gauth *g, long timeout_ms, char *err, size_t errlen)
{
    /* Stamped with the real time: the token endpoint checks iat against its own clock. */
    char *assertion = gauth_key_assertion(g->key, time(NULL));
    if (!assertion) {
        snprintf(err, errlen, "could not sign the token request");
        return GAUTH_ERR_CONFIG;
    }
    size_t n = strlen(assertion) + sizeof "grant_type=" JWT_BEARER_GRANT "&assertion=";
    char *form = malloc(n);
    if (!form) {
        free(assertion);
        snprintf(err, errlen, "out of memory");
        return GAUTH_ERR_NOMEM;
    }
    /* The assertion is base64url and dots: nothing in it needs form-encoding. */
    snprintf(form, n, "grant_type=%s&assertion=%s", JWT_BEARER_GRANT, assertion);
    free(assertion);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    fetch_call call = {.method = "POST",
                       .url = gauth_key_token_uri(g->key),
                       .headers = headers,
                       .body = form,
                       .body_len = strlen(form),
                       .timeout_ms = timeout_ms};
    fetch_answer r;
    fetch_err herr = fetch_do(g->http, &call, &r);
    free(form);
    gauth_err e = read_answer(g, "token endpoint", herr, &r, err, errlen);
    fetch_answer_free(&r);
    return e;
}

static gauth_err fetch_metadata(gauth *g, long timeout_ms, long connect_ms, char *err,
                                size_t errlen)
{
    const char *headers[] = {"Metadata-Flavor: Google", NULL};
    fetch_call call = {.method = "GET",
                       .url = g->metadata_url,
                       .headers = headers,
                       .timeout_ms = timeout_ms,
                       .connect_timeout_ms = connect_ms};
    fetch_answer r;
    fetch_err herr = fetch_do(g->http, &call, &r);
    gauth_err e = read_answer(g, "metadata server", herr, &r, err, errlen);
    fetch_answer_free(&r);
    return e;
}

static gauth_err fetch(gauth *g, long timeout_ms, char *err, size_t errlen)
{
    g->fetches++;
    gauth_err e = g->source == GAUTH_SOURCE_KEY_FILE
                      ? fetch_key_file(g, timeout_ms, err, errlen)
                      : fetch_metadata(g, timeout_ms, 0, err, errlen);
    scoreboard_count_token_refresh(e == GAUTH_OK);
    return e;
}

gauth_err gauth_token(gauth *g, long timeout_ms, const char **token, char *err, size_t errlen)
{
    *token = NULL;
    if (g->token && !gauth_needs_refresh(g->expiry, clock_now(g))) {
        *token = g->token;
        return GAUTH_OK;
    }
    gauth_err e = fetch(g, timeout_ms, err, errlen);
    if (e == GAUTH_OK)
        *token = g->token;
    return e;
}

void gauth_invalidate(gauth *g)
{
    if (g->source != GAUTH_SOURCE_STATIC)
        drop_token(g);
}

gauth_source gauth_get_source(const gauth *g)
{
    return g->source;
}

long gauth_fetches(const gauth *g)
{
    return g->fetches;
}

void gauth_close(gauth *g)
{
    if (!g)
        return;
    drop_token(g);
    gauth_key_free(g->key);
    free(g->metadata_url);
    if (g->own_http)
        fetch_free(g->http);
    free(g);
}

static bool host_valid(const char *host)
{
    return *host && strlen(host) < 256 && !strpbrk(host, "/@?# \t\r\n");
}

/* Tries the metadata server: trusted when given explicitly, probed otherwise. */
static gauth_err open_metadata(gauth *g, const gauth_options *opt, char *err, size_t errlen)
{
    if (!host_valid(opt->metadata_host)) {
        snprintf(err, errlen, "GCE_METADATA_HOST: must be host[:port]");
        return GAUTH_ERR_CONFIG;
    }
    size_t n = strlen(opt->metadata_host) + sizeof "http://" METADATA_PATH;
    if (!(g->metadata_url = malloc(n))) {
        snprintf(err, errlen, "out of memory");
        return GAUTH_ERR_NOMEM;
    }
    snprintf(g->metadata_url, n, "http://%s%s", opt->metadata_host, METADATA_PATH);
    g->source = GAUTH_SOURCE_METADATA;
    if (!opt->probe_metadata)
        return GAUTH_OK;
    g->fetches++;
    return fetch_metadata(g, 2000, GAUTH_PROBE_CONNECT_MS, err, errlen);
}

gauth_err gauth_open(const gauth_options *opt, gauth **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return GAUTH_ERR_NOMEM;
    }
    gauth *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return GAUTH_ERR_NOMEM;
    }
    g->now = opt->now;
    g->now_ctx = opt->now_ctx;
    g->http = opt->http;
    if (!g->http) {
        g->own_http = true;
        if (!(g->http = fetch_new())) {
            free(g);
            snprintf(err, errlen, "out of memory");
            return GAUTH_ERR_NOMEM;
        }
    }
    gauth_err e = GAUTH_ERR_NO_SOURCE;
    if (opt->key_file) {
        char why[200];
        g->key = gauth_key_load(opt->key_file, why, sizeof why);
        g->source = GAUTH_SOURCE_KEY_FILE;
        e = g->key ? GAUTH_OK : GAUTH_ERR_CONFIG;
        if (!g->key)
            snprintf(err, errlen, "GOOGLE_APPLICATION_CREDENTIALS: %s", why);
    } else {
        if (opt->metadata_host) {
            e = open_metadata(g, opt, err, errlen);
            if (e != GAUTH_OK && e != GAUTH_ERR_CONFIG && opt->probe_metadata) {
                free(g->metadata_url);
                g->metadata_url = NULL;
                g->fetches = 0;
                e = GAUTH_ERR_NO_SOURCE;
            }
        }
        if (e == GAUTH_ERR_NO_SOURCE && opt->static_token) {
            size_t n = strlen(opt->static_token);
            g->source = GAUTH_SOURCE_STATIC;
            g->token = n && n <= TOKEN_MAX_LEN ? secure_strdup(opt->static_token, n) : NULL;
            g->expiry = (time_t)LLONG_MAX;
            e = g->token ? GAUTH_OK : GAUTH_ERR_CONFIG;
            if (g->token)
                log_warning("using the static access token from RETRAIN_ACCESS_TOKEN: for "
                            "development only, it is never refreshed");
            else
                snprintf(err, errlen, "RETRAIN_ACCESS_TOKEN: empty or too long");
        }
        if (e == GAUTH_ERR_NO_SOURCE)
            snprintf(err, errlen,
                     "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS, run on Google "
                     "Cloud (metadata server), or set RETRAIN_ACCESS_TOKEN for development");
    }
    if (e != GAUTH_OK) {
        gauth_close(g);
        return e;
    }
    *out = g;
    return GAUTH_OK;
}
