/* emu_gauth — Google's credentials plumbing: the GCE metadata server and the OAuth2 token endpoint.
 *
 *   GET  /computeMetadata/v1/instance/service-accounts/default/token     (Metadata-Flavor: Google)
 *   GET  /computeMetadata/v1/instance/service-accounts/default/email
 *   GET  /computeMetadata/v1/instance/service-accounts/default/identity?audience=AUD
 *   GET  /computeMetadata/v1/project/project-id
 *   POST /token          grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
 *   GET  /emulator/oauth/key-file    the service-account key file written at start
 *   POST /emulator/oauth/revoke-all  every access token issued so far stops working
 *
 * At start a service-account key is generated and written, in Google's key-file shape, to
 * STATE_DIR/sa-key.json (mode 0600; a temporary directory, removed at exit, when no --state-dir
 * was given). /token checks the assertion as Google does: RS256 under that key, iss = the
 * client_email, aud = the token_uri, the cloud-platform scope, an unexpired lifetime of at most
 * one hour. Access tokens from either door are recorded with their expiry (config token_ttl_s,
 * default 3599), and emu_gauth_bearer_ok() accepts exactly those, or EMULATOR_STATIC_TOKEN. */
#include "crypto.h"
#include "emu.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GAUTH_TOKEN_TTL_DEFAULT 3599
#define GAUTH_CLOUD_PLATFORM "https://www.googleapis.com/auth/cloud-platform"
#define GAUTH_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define GAUTH_MAX_TOKENS 4096

typedef struct {
    char token[64];
    int64_t expires_ms;
} gauth_token;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const emu_options *opts;
static EVP_PKEY *sa_key;
static char key_id[17], client_email[160], token_uri[160], key_path[512], temp_dir[64];
static char *key_file_text;
static gauth_token *tokens;
static size_t n_tokens;
static long token_ttl_s = GAUTH_TOKEN_TTL_DEFAULT, issued, grant_requests, grant_refused;

static int write_key_file(void)
{
    char *pem = emu_pem_private(sa_key);
    json_t *kf =
        pem ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
                        "service_account", "project_id", opts->project, "private_key_id", key_id,
                        "private_key", pem, "client_email", client_email, "client_id",
                        "100000000000000000001", "auth_uri",
                        "https://accounts.google.com/o/oauth2/auth", "token_uri", token_uri,
                        "auth_provider_x509_cert_url", "https://www.googleapis.com/oauth2/v1/certs",
                        "client_x509_cert_url", "", "universe_domain", "googleapis.com")
            : NULL;
    if (pem) {
        sodium_memzero(pem, strlen(pem));
        free(pem);
    }
    key_file_text = kf ? json_dumps(kf, JSON_INDENT(2)) : NULL;
    json_decref(kf);
    if (!key_file_text)
        return -1;
    int fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(key_file_text);
    ssize_t w = write(fd, key_file_text, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

static int gauth_init(const emu_options *opt)
{
    opts = opt;
    const char *dir = opt->state_dir;
    if (!dir) {
        snprintf(temp_dir, sizeof temp_dir, "/tmp/gcp-emulator.XXXXXX");
        if (!mkdtemp(temp_dir))
            return -1;
        dir = temp_dir;
    }
    snprintf(key_path, sizeof key_path, "%s/sa-key.json", dir);
    snprintf(client_email, sizeof client_email, "retrain@%s.iam.gserviceaccount.com", opt->project);
    snprintf(token_uri, sizeof token_uri, "%s/token", emu_base_url());
    sa_key = emu_rsa_new(2048);
    if (!sa_key || emu_key_id(sa_key, key_id) != 0 || write_key_file() != 0) {
        fprintf(stderr, "gcp-emulator: cannot write %s\n", key_path);
        return -1;
    }
    return 0;
}

static void gauth_shutdown(void)
{
    if (temp_dir[0]) {
        unlink(key_path);
        rmdir(temp_dir);
    }
    if (key_file_text) {
        sodium_memzero(key_file_text, strlen(key_file_text));
        free(key_file_text);
    }
    EVP_PKEY_free(sa_key);
    free(tokens);
}

static void gauth_reset(void)
{
    pthread_mutex_lock(&mu);
    n_tokens = 0;
    issued = grant_requests = grant_refused = 0;
    token_ttl_s = GAUTH_TOKEN_TTL_DEFAULT;
    pthread_mutex_unlock(&mu);
}

static void gauth_configure(const json_t *cfg)
{
    const json_t *ttl = json_object_get(cfg, "token_ttl_s");
    if (ttl) {
        pthread_mutex_lock(&mu);
        token_ttl_s = (long)json_integer_value(ttl);
        pthread_mutex_unlock(&mu);
    }
}

static void gauth_stats(json_t *out)
{
    pthread_mutex_lock(&mu);
    json_object_set_new(out, "oauth",
                        json_pack("{s:I, s:I, s:I, s:I}", "issued", (json_int_t)issued, "live",
                                  (json_int_t)n_tokens, "grant_requests",
                                  (json_int_t)grant_requests, "grant_refused",
                                  (json_int_t)grant_refused));
    pthread_mutex_unlock(&mu);
}

/* Records a fresh token and answers it in the shape both doors share. */
static void issue_token(emu_response *resp)
{
    unsigned char raw[24];
    randombytes_buf(raw, sizeof raw);
    gauth_token t = {0};
    memcpy(t.token, "ya29.emu-", 9);
    sodium_bin2hex(t.token + 9, sizeof t.token - 9, raw, sizeof raw);
    pthread_mutex_lock(&mu);
    long ttl = token_ttl_s;
    int64_t now = emu_now_ms();
    t.expires_ms = now + (int64_t)ttl * 1000;
    size_t live = 0; /* drop expired tokens so the table stays small */
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i].expires_ms > now)
            tokens[live++] = tokens[i];
    n_tokens = live;
    if (n_tokens == GAUTH_MAX_TOKENS) { /* the oldest goes first */
        memmove(tokens, tokens + 1, (n_tokens - 1) * sizeof *tokens);
        n_tokens--;
    }
    if (!tokens)
        tokens = malloc(GAUTH_MAX_TOKENS * sizeof *tokens);
    if (tokens) {
        tokens[n_tokens++] = t;
        issued++;
    }
    pthread_mutex_unlock(&mu);
    emu_respond_value(resp, 200,
                      json_pack("{s:s, s:I, s:s}", "access_token", t.token, "expires_in",
                                (json_int_t)ttl, "token_type", "Bearer"));
    sodium_memzero(&t, sizeof t);
}

bool emu_gauth_bearer_ok(const emu_request *req)
{
    const char *auth = req->header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *tok = auth + 7;
    size_t len = strlen(tok);
    const char *fixed = getenv("EMULATOR_STATIC_TOKEN");
    if (fixed && *fixed && strlen(fixed) == len && sodium_memcmp(fixed, tok, len) == 0)
        return true;
    if (len >= sizeof tokens[0].token)
        return false;
    bool ok = false;
    pthread_mutex_lock(&mu);
    int64_t now = emu_now_ms();
    for (size_t i = 0; i < n_tokens; i++)
        if (strlen(tokens[i].token) == len && sodium_memcmp(tokens[i].token, tok, len) == 0 &&
            tokens[i].expires_ms > now)
            ok = true;
    pthread_mutex_unlock(&mu);
    return ok;
}

/* ---- metadata server ---------------------------------------------------------------------- */

static void metadata_text(emu_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "application/text";
    resp->body = strdup(text);
}

static bool metadata_handle(const emu_request *req, emu_response *resp)
{
    static const char sa[] = "/computeMetadata/v1/instance/service-accounts/default/";
    const char *p = req->path;
    if (strncmp(p, "/computeMetadata/", 17) != 0)
        return false;
    resp->route = "metadata.other";
    const char *flavor = req->header(req, "Metadata-Flavor");
    if (strcmp(req->method, "GET") != 0) {
        metadata_text(resp, 405, "Method not allowed");
        return true;
    }
    emu_add_header(resp, "Metadata-Flavor", "Google");
    if (!flavor || strcmp(flavor, "Google") != 0 || req->header(req, "X-Forwarded-For")) {
        resp->route = "metadata.forbidden";
        metadata_text(resp, 403, "Missing required header: Metadata-Flavor");
        return true;
    }
    if (strncmp(p, sa, sizeof sa - 1) == 0 && strcmp(p + sizeof sa - 1, "token") == 0) {
        resp->route = "metadata.token";
        issue_token(resp);
    } else if (strncmp(p, sa, sizeof sa - 1) == 0 && strcmp(p + sizeof sa - 1, "email") == 0) {
        resp->route = "metadata.email";
        metadata_text(resp, 200, client_email);
    } else if (strncmp(p, sa, sizeof sa - 1) == 0 && strcmp(p + sizeof sa - 1, "identity") == 0) {
        resp->route = "metadata.identity";
        const char *aud = req->query(req, "audience");
        char *tok = aud && *aud ? emu_issuer_id_token(aud) : NULL;
        if (tok)
            metadata_text(resp, 200, tok);
        else
            metadata_text(resp, 400, "non-empty audience parameter required");
        free(tok);
    } else if (strcmp(p, "/computeMetadata/v1/project/project-id") == 0) {
        resp->route = "metadata.project_id";
        metadata_text(resp, 200, opts->project);
    } else {
        metadata_text(resp, 404, "Not Found");
    }
    return true;
}

/* ---- OAuth2 token endpoint ---------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The url-decoded value of NAME in a form body; malloc'd, or NULL when absent. */
static char *form_value(const char *body, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        const char *v = p + nlen + 1;
        size_t vlen = strcspn(v, "&");
        char *out = malloc(vlen + 1), *o = out;
        if (!out)
            return NULL;
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] == '+')
                *o++ = ' ';
            else if (v[i] == '%' && i + 2 < vlen && hexval(v[i + 1]) >= 0 &&
                     hexval(v[i + 2]) >= 0) {
                *o++ = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                i += 2;
            } else
                *o++ = v[i];
        }
        *o = '\0';
        return out;
    }
    return NULL;
}

static void oauth_error(emu_response *resp, const char *error, const char *description)
{
    pthread_mutex_lock(&mu);
    grant_refused++;
    pthread_mutex_unlock(&mu);
    emu_respond_value(resp, 400,
                      json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

static bool scope_has(const char *scopes, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = scopes; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, want, n) == 0)
            return true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

/* The claim checks, in Google's order; returns NULL when the assertion is acceptable. */
static const char *assertion_problem(const json_t *header, const json_t *claims)
{
    const json_t *kid = json_object_get(header, "kid");
    if (kid && (!json_is_string(kid) || strcmp(json_string_value(kid), key_id) != 0))
        return "Invalid JWT Signature.";
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    const json_t *iat = json_object_get(claims, "iat"), *exp = json_object_get(claims, "exp");
    if (!iss || strcmp(iss, client_email) != 0)
        return "Invalid JWT: iss is not the service account's client_email.";
    if (!aud || strcmp(aud, token_uri) != 0)
        return "Invalid JWT: Failed audience check.";
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return "Invalid JWT: iat and exp are required integers.";
    json_int_t now = (json_int_t)(emu_now_ms() / 1000);
    json_int_t i = json_integer_value(iat), e = json_integer_value(exp);
    if (i > now + 60 || e <= now || e - i > 3600 || e <= i)
        return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
               "timeframe. Check your iat and exp values in the JWT claim.";
    if (!scope || !scope_has(scope, GAUTH_CLOUD_PLATFORM))
        return "invalid_scope: the cloud-platform scope is required.";
    return NULL;
}

static void token_grant(const emu_request *req, emu_response *resp)
{
    pthread_mutex_lock(&mu);
    grant_requests++;
    pthread_mutex_unlock(&mu);
    char *grant = form_value(req->body, "grant_type");
    char *assertion = form_value(req->body, "assertion");
    json_t *header = NULL, *claims = NULL;
    if (!grant || strcmp(grant, GAUTH_GRANT) != 0)
        oauth_error(resp, "unsupported_grant_type", "Invalid grant_type");
    else if (!assertion)
        oauth_error(resp, "invalid_request", "Missing required parameter: assertion");
    else {
        int rc = emu_jwt_verify_rs256(assertion, sa_key, &header, &claims);
        const char *problem = rc == -1   ? "Invalid JWT: malformed assertion."
                              : rc == -2 ? "Invalid JWT Signature."
                                         : assertion_problem(header, claims);
        if (problem)
            oauth_error(resp,
                        strncmp(problem, "invalid_scope", 13) == 0 ? "invalid_scope"
                                                                   : "invalid_grant",
                        problem);
        else
            issue_token(resp);
    }
    json_decref(header);
    json_decref(claims);
    free(grant);
    free(assertion);
}

static bool gauth_handle(const emu_request *req, emu_response *resp)
{
    bool post = strcmp(req->method, "POST") == 0;
    if (metadata_handle(req, resp))
        return true;
    if (strcmp(req->path, "/token") == 0 && post) {
        resp->route = "oauth.token";
        token_grant(req, resp);
    } else if (strcmp(req->path, "/emulator/oauth/revoke-all") == 0 && post) {
        resp->route = "oauth.revoke_all";
        pthread_mutex_lock(&mu);
        long n = (long)n_tokens;
        n_tokens = 0;
        pthread_mutex_unlock(&mu);
        emu_respond_value(resp, 200, json_pack("{s:I}", "revoked", (json_int_t)n));
    } else if (strcmp(req->path, "/emulator/oauth/key-file") == 0 &&
               strcmp(req->method, "GET") == 0) {
        resp->route = "oauth.key_file";
        resp->status = 200;
        resp->content_type = "application/json";
        resp->body = strdup(key_file_text);
    } else {
        return false;
    }
    return true;
}

static const char *const gauth_config_keys[] = {"token_ttl_s", NULL};

const emu_service emu_gauth_service = {
    .name = "gauth",
    .init = gauth_init,
    .handle = gauth_handle,
    .reset = gauth_reset,
    .configure = gauth_configure,
    .config_keys = gauth_config_keys,
    .stats = gauth_stats,
    .shutdown = gauth_shutdown,
};
