/* gauth: key-file checks (each bad field named, its value never echoed), the signed JWT-bearer
 * assertion, token answers, the refresh policy with a fake clock, and each source against a
 * loopback mini server standing in for the token endpoint and the metadata server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gauth.h"
#include "gauth_key.h"
#include "support/mini_http.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MARK "SECRET-VALUE-42"

static EVP_PKEY *rsa_key;
static char *rsa_pem;
static char tmpdir[] = "/tmp/test_gauth.XXXXXX";

static int group_setup(void **state)
{
    (void)state;
    rsa_key = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    if (!rsa_key || !bio || PEM_write_bio_PrivateKey(bio, rsa_key, NULL, NULL, 0, NULL, NULL) != 1)
        return -1;
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    rsa_pem = strndup(data, (size_t)n);
    BIO_free(bio);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    free(rsa_pem);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A valid key file's JSON for TOKEN_URI. */
static json_t *key_json(const char *token_uri)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account", "project_id", "p",
                     "private_key_id", "kid-1", "private_key", rsa_pem, "client_email",
                     "sa@p.iam.gserviceaccount.com", "token_uri", token_uri);
}

static char *write_key(json_t *j, const char *name)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    assert_int_equal(json_dump_file(j, path, 0), 0);
    json_decref(j);
    return path;
}

/* Loading TEXT must fail with a message containing FIELD and not SECRET_MARK. */
static void expect_key_error(const char *text, const char *field)
{
    char err[256] = "";
    gauth_key *k = gauth_key_parse(text, strlen(text), err, sizeof err);
    assert_null(k);
    if (!strstr(err, field))
        fail_msg("error \"%s\" does not name %s", err, field);
    assert_null(strstr(err, SECRET_MARK));
}

static void expect_json_key_error(json_t *j, const char *field)
{
    char *text = json_dumps(j, 0);
    json_decref(j);
    expect_key_error(text, field);
    free(text);
}

static void test_key_file_not_json(void **state)
{
    (void)state;
    expect_key_error("{\"private_key\": \"" SECRET_MARK "\"", "not valid JSON");
    expect_key_error("[1,2]", "not a JSON object");
    expect_key_error("", "not valid JSON");
}

static void test_key_file_bad_type(void **state)
{
    (void)state;
    json_t *j = key_json("https://oauth2.googleapis.com/token");
    json_object_set_new(j, "type", json_string("authorized_user" SECRET_MARK));
    expect_json_key_error(j, "type: must be \"service_account\"");
    j = key_json("https://oauth2.googleapis.com/token");
    json_object_del(j, "type");
    expect_json_key_error(j, "type: missing");
}

static void test_key_file_missing_fields(void **state)
{
    (void)state;
    const char *fields[] = {"client_email", "private_key", "token_uri"};
    for (size_t i = 0; i < 3; i++) {
        json_t *j = key_json("https://oauth2.googleapis.com/token");
        json_object_del(j, fields[i]);
        char want[64];
        snprintf(want, sizeof want, "%s: missing", fields[i]);
        expect_json_key_error(j, want);
        j = key_json("https://oauth2.googleapis.com/token");
        json_object_set_new(j, fields[i], json_integer(7));
        snprintf(want, sizeof want, "%s: must be a non-empty string", fields[i]);
        expect_json_key_error(j, want);
    }
}

static void test_key_file_bad_pem(void **state)
{
    (void)state;
    json_t *j = key_json("https://oauth2.googleapis.com/token");
    json_object_set_new(
        j, "private_key",
        json_string("-----BEGIN PRIVATE KEY-----\n" SECRET_MARK "\n-----END PRIVATE KEY-----\n"));
    expect_json_key_error(j, "private_key: not a PEM RSA private key");

    /* A well-formed key of the wrong kind (EC) is refused too. */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    j = key_json("https://oauth2.googleapis.com/token");
    json_object_set_new(j, "private_key", json_stringn(data, (size_t)n));
    BIO_free(bio);
    EVP_PKEY_free(ec);
    expect_json_key_error(j, "private_key: not a PEM RSA private key");
}

static void test_key_file_bad_token_uri(void **state)
{
    (void)state;
    expect_json_key_error(key_json("file:///" SECRET_MARK), "token_uri: must be an http(s) URL");
}

static void test_key_file_unreadable(void **state)
{
    (void)state;
    char err[256];
    assert_null(gauth_key_load("/nonexistent/key.json", err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    gauth_options opt = {.key_file = "/nonexistent/key.json"};
    gauth *g;
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_ERR_CONFIG);
    assert_null(g);
    assert_non_null(strstr(err, "GOOGLE_APPLICATION_CREDENTIALS"));
}

static json_t *decode_part(const char *b64, size_t len)
{
    unsigned char buf[2048];
    size_t n;
    assert_int_equal(sodium_base642bin(buf, sizeof buf, b64, len, NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json_t *j = json_loadb((const char *)buf, n, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_assertion_signed_and_claims(void **state)
{
    (void)state;
    json_t *j = key_json("https://oauth2.example/token");
    char *text = json_dumps(j, 0);
    json_decref(j);
    char err[256];
    gauth_key *k = gauth_key_parse(text, strlen(text), err, sizeof err);
    free(text);
    assert_non_null(k);
    assert_string_equal(gauth_key_email(k), "sa@p.iam.gserviceaccount.com");
    char *jwt = gauth_key_assertion(k, 1700000000);
    assert_non_null(jwt);
    char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);

    json_t *h = decode_part(jwt, (size_t)(dot1 - jwt));
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "kid-1");
    json_decref(h);
    json_t *c = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    assert_string_equal(json_string_value(json_object_get(c, "iss")),
                        "sa@p.iam.gserviceaccount.com");
    assert_string_equal(json_string_value(json_object_get(c, "scope")), GAUTH_SCOPE);
    assert_string_equal(json_string_value(json_object_get(c, "aud")),
                        "https://oauth2.example/token");
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700003600);
    json_decref(c);

    /* The signature verifies with the public half over "header.claims". */
    unsigned char sig[512];
    size_t siglen;
    const char *s64 = dot2 + 1;
    assert_int_equal(sodium_base642bin(sig, sizeof sig, s64, strlen(s64), NULL, &siglen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, rsa_key), 1);
    assert_int_equal(
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    /* ...and not over anything else. */
    EVP_MD_CTX_reset(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, rsa_key), 1);
    assert_int_not_equal(
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt - 1)),
        1);
    EVP_MD_CTX_free(ctx);
    free(jwt);
    gauth_key_free(k);
}

static void test_refresh_policy(void **state)
{
    (void)state;
    time_t exp = 1000000;
    assert_false(gauth_needs_refresh(exp, exp - GAUTH_REFRESH_MARGIN_S - 1));
    assert_true(gauth_needs_refresh(exp, exp - GAUTH_REFRESH_MARGIN_S));
    assert_true(gauth_needs_refresh(exp, exp + 10));
    assert_false(gauth_needs_refresh(exp, exp - 3600));
}

static void test_token_answers(void **state)
{
    (void)state;
    char *tok = NULL, err[128];
    time_t exp = 0;
    const char *ok =
        "{\"access_token\":\"ya29.abc\",\"expires_in\":3599,\"token_type\":\"Bearer\"}";
    assert_int_equal(gauth_parse_token_response(ok, strlen(ok), 100, &tok, &exp, err, sizeof err),
                     0);
    assert_string_equal(tok, "ya29.abc");
    assert_int_equal(exp, 3699);
    sodium_free(tok);

    struct {
        const char *body;
        const char *want;
    } bad[] = {
        {"not json", "not a JSON object"},
        {"{\"access_token\":\"ya29.abc\",\"expires_in\":35", "not a JSON object"},
        {"", "not a JSON object"},
        {"{\"expires_in\":3599}", "access_token missing"},
        {"{\"access_token\":\"\",\"expires_in\":3599}", "access_token missing"},
        {"{\"access_token\":\"" SECRET_MARK "\"}", "expires_in missing"},
        {"{\"access_token\":\"" SECRET_MARK "\",\"expires_in\":\"3599\"}", "expires_in missing"},
        {"{\"access_token\":\"" SECRET_MARK "\",\"expires_in\":-5}", "expires_in missing"},
        {"{\"access_token\":\"" SECRET_MARK "\",\"expires_in\":60,\"token_type\":\"MAC\"}",
         "token_type is not Bearer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(gauth_parse_token_response(bad[i].body, strlen(bad[i].body), 100, &tok,
                                                    &exp, err, sizeof err),
                         -1);
        assert_null(tok);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].want);
        assert_null(strstr(err, SECRET_MARK));
    }
}

typedef struct {
    time_t t;
} fake_clock;

static time_t fake_now(void *ctx)
{
    return ((fake_clock *)ctx)->t;
}

static void test_metadata_refresh_timing(void **state)
{
    (void)state;
    mini_http *srv = mini_http_start();
    mini_http_push(srv, (mini_reply){.status = 200,
                                     .body = "{\"access_token\":\"tok-1\",\"expires_in\":3600,"
                                             "\"token_type\":\"Bearer\"}"});
    mini_http_push(srv, (mini_reply){.status = 200,
                                     .body = "{\"access_token\":\"tok-2\",\"expires_in\":3600}"});
    mini_http_push(srv, (mini_reply){.status = 200,
                                     .body = "{\"access_token\":\"tok-3\",\"expires_in\":3600}"});
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", mini_http_port(srv));
    fake_clock clk = {.t = 1000000};
    gauth_options opt = {.metadata_host = host, .now = fake_now, .now_ctx = &clk};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    assert_int_equal(gauth_get_source(g), GAUTH_SOURCE_METADATA);
    const char *tok;
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "tok-1");
    char *req = mini_http_last_request(srv);
    assert_non_null(strstr(
        req, "GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "Metadata-Flavor: Google\r\n"));
    free(req);

    clk.t += 3600 - GAUTH_REFRESH_MARGIN_S - 1; /* still fresh: served from the cache */
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "tok-1");
    assert_int_equal(gauth_fetches(g), 1);

    clk.t += 1; /* inside the margin: fetched again */
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "tok-2");
    assert_int_equal(gauth_fetches(g), 2);

    gauth_invalidate(g); /* after a 401: the next call fetches at once */
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "tok-3");
    assert_int_equal(mini_http_requests(srv), 3);
    gauth_close(g);
    mini_http_stop(srv);
}

static void test_key_file_grant(void **state)
{
    (void)state;
    mini_http *srv = mini_http_start();
    char uri[96];
    snprintf(uri, sizeof uri, "%s/token", mini_http_url(srv));
    char *path = write_key(key_json(uri), "good.json");
    mini_http_push(srv, (mini_reply){.status = 200,
                                     .body = "{\"access_token\":\"ya29.k\",\"expires_in\":3599,"
                                             "\"token_type\":\"Bearer\"}"});
    gauth_options opt = {.key_file = path, .metadata_host = "127.0.0.1:1"};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    assert_int_equal(gauth_get_source(g), GAUTH_SOURCE_KEY_FILE);
    assert_int_equal(mini_http_requests(srv), 0); /* nothing fetched until asked */
    const char *tok;
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "ya29.k");
    char *req = mini_http_last_request(srv);
    assert_non_null(strstr(req, "POST /token HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "Content-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(
        req, "\r\n\r\ngrant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=eyJ"));
    free(req);
    gauth_close(g);
    mini_http_stop(srv);
    free(path);
}

static void test_token_endpoint_refusals(void **state)
{
    (void)state;
    mini_http *srv = mini_http_start();
    char uri[96];
    snprintf(uri, sizeof uri, "%s/token", mini_http_url(srv));
    char *path = write_key(key_json(uri), "refused.json");
    mini_http_push(srv, (mini_reply){.status = 400,
                                     .body = "{\"error\":\"invalid_grant\",\"error_description\":"
                                             "\"" SECRET_MARK "\"}"});
    mini_http_push(srv, (mini_reply){.status = 503, .body = "<html>" SECRET_MARK "</html>"});
    mini_http_push(srv, (mini_reply){.status = 200, .body = "{\"access_token\":\"x\""});
    gauth_options opt = {.key_file = path};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    const char *tok;
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_ERR_DENIED);
    assert_null(tok);
    assert_non_null(strstr(err, "HTTP 400 invalid_grant"));
    assert_null(strstr(err, SECRET_MARK));
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_ERR_TRANSIENT);
    assert_non_null(strstr(err, "HTTP 503"));
    assert_null(strstr(err, SECRET_MARK));
    assert_int_equal(gauth_token(g, 2000, &tok, err, sizeof err), GAUTH_ERR_TRANSIENT);
    assert_non_null(strstr(err, "not a JSON object"));
    gauth_close(g);
    mini_http_stop(srv);
    free(path);
}

static void test_static_source(void **state)
{
    (void)state;
    gauth_options opt = {.static_token = "dev-token"};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    assert_int_equal(gauth_get_source(g), GAUTH_SOURCE_STATIC);
    const char *tok;
    assert_int_equal(gauth_token(g, 1000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "dev-token");
    gauth_invalidate(g);
    assert_int_equal(gauth_token(g, 1000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "dev-token");
    assert_int_equal(gauth_fetches(g), 0);
    gauth_close(g);
}

static void test_probe_falls_through_to_static(void **state)
{
    (void)state;
    /* Port 1 on loopback refuses at once, as a non-GCE machine's metadata host would fail. */
    gauth_options opt = {
        .metadata_host = "127.0.0.1:1", .probe_metadata = true, .static_token = "dev"};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    assert_int_equal(gauth_get_source(g), GAUTH_SOURCE_STATIC);
    assert_int_equal(gauth_fetches(g), 0);
    gauth_close(g);

    opt.static_token = NULL;
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_ERR_NO_SOURCE);
    assert_null(g);
    assert_non_null(strstr(err, "GOOGLE_APPLICATION_CREDENTIALS"));
}

static void test_probe_success_chooses_metadata(void **state)
{
    (void)state;
    mini_http *srv = mini_http_start();
    mini_http_push(
        srv, (mini_reply){.status = 200, .body = "{\"access_token\":\"m\",\"expires_in\":3600}"});
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", mini_http_port(srv));
    gauth_options opt = {.metadata_host = host, .probe_metadata = true, .static_token = "dev"};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_OK);
    assert_int_equal(gauth_get_source(g), GAUTH_SOURCE_METADATA);
    const char *tok; /* the probe's token is cached */
    assert_int_equal(gauth_token(g, 1000, &tok, err, sizeof err), GAUTH_OK);
    assert_string_equal(tok, "m");
    assert_int_equal(mini_http_requests(srv), 1);
    gauth_close(g);
    mini_http_stop(srv);
}

static void test_bad_metadata_host(void **state)
{
    (void)state;
    gauth_options opt = {.metadata_host = "evil.example/path?x="};
    gauth *g;
    char err[256];
    assert_int_equal(gauth_open(&opt, &g, err, sizeof err), GAUTH_ERR_CONFIG);
    assert_non_null(strstr(err, "GCE_METADATA_HOST"));
}

static void test_options_from_env(void **state)
{
    (void)state;
    setenv("GOOGLE_APPLICATION_CREDENTIALS", "/k.json", 1);
    unsetenv("GCE_METADATA_HOST");
    setenv("RETRAIN_ACCESS_TOKEN", "t", 1);
    gauth_options opt;
    gauth_options_from_env(&opt);
    assert_string_equal(opt.key_file, "/k.json");
    assert_string_equal(opt.metadata_host, GAUTH_DEFAULT_METADATA_HOST);
    assert_true(opt.probe_metadata);
    assert_string_equal(opt.static_token, "t");
    setenv("GCE_METADATA_HOST", "127.0.0.1:8080", 1);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    gauth_options_from_env(&opt);
    assert_null(opt.key_file);
    assert_string_equal(opt.metadata_host, "127.0.0.1:8080");
    assert_false(opt.probe_metadata);
    unsetenv("GCE_METADATA_HOST");
    unsetenv("RETRAIN_ACCESS_TOKEN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file_not_json),
        cmocka_unit_test(test_key_file_bad_type),
        cmocka_unit_test(test_key_file_missing_fields),
        cmocka_unit_test(test_key_file_bad_pem),
        cmocka_unit_test(test_key_file_bad_token_uri),
        cmocka_unit_test(test_key_file_unreadable),
        cmocka_unit_test(test_assertion_signed_and_claims),
        cmocka_unit_test(test_refresh_policy),
        cmocka_unit_test(test_token_answers),
        cmocka_unit_test(test_metadata_refresh_timing),
        cmocka_unit_test(test_key_file_grant),
        cmocka_unit_test(test_token_endpoint_refusals),
        cmocka_unit_test(test_static_source),
        cmocka_unit_test(test_probe_falls_through_to_static),
        cmocka_unit_test(test_probe_success_chooses_metadata),
        cmocka_unit_test(test_bad_metadata_host),
        cmocka_unit_test(test_options_from_env),
    };
    return cmocka_run_group_tests_name("gauth", tests, group_setup, group_teardown);
}
