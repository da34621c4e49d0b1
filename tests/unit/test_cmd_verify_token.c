/* test_cmd_verify_token — `retrainctl verify-token`, called directly with stdout and stderr
 * redirected to temp files: exit codes 0 / 1 / 2, the claims JSON, the reason code, stdin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd_verify_token.h"
#include "log.h"
#include "support/jwt_mint.h"

#define NOW 1700000000
#define NOW_S "1700000000"
#define AUD "https://retrain.example.com/"
#define SA "eventarc@proj.iam.gserviceaccount.com"

static EVP_PKEY *ours, *other;
static char dir[64], jwks_path[128], out_path[128], err_path[128], in_path[128];
static char *good, *forged;
static char out[65536], err[65536];

static int setup(void **state)
{
    (void)state;
    log_init("test_cmd_verify_token", LOG_CRITICAL);
    unsetenv("RETRAIN_CONFIG");
    unsetenv("RETRAIN_AUDIENCE");
    unsetenv("RETRAIN_SERVICE_ACCOUNTS");
    unsetenv("RETRAIN_JWKS_URL");
    ours = mint_rsa_key(2048);
    other = mint_rsa_key(2048);
    snprintf(dir, sizeof dir, "/tmp/test_cmd_vt.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(jwks_path, sizeof jwks_path, "%s/jwks.json", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    const char *kids[] = {"k1"};
    char *set = mint_jwks(&ours, kids, 1);
    FILE *f = fopen(jwks_path, "w");
    fputs(set, f);
    fclose(f);
    free(set);
    char *payload = mint_payload(AUD, SA, NOW - 10, NOW + 3590);
    good = mint_token_rs256(ours, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    forged = mint_token_rs256(other, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
    free(payload);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(jwks_path);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
    rmdir(dir);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(other);
    free(good);
    free(forged);
    return 0;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Runs the command in a child process with ARGV (NULL-terminated), stdout and stderr to files,
 * stdin from STDIN_TEXT when not NULL: the test process's own descriptors are never touched. The
 * child exits normally, so LeakSanitizer checks it and a leak changes the exit code. */
static int run(const char *stdin_text, const char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    if (stdin_text) {
        FILE *f = fopen(in_path, "w");
        fputs(stdin_text, f);
        fclose(f);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fi = open(stdin_text ? in_path : "/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || dup2(fi, 0) < 0)
            _exit(99);
        exit(cmd_verify_token(argc, (char **)argv));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    slurp(out_path, out, sizeof out);
    slurp(err_path, err, sizeof err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void valid_token_prints_claims(void **state)
{
    (void)state;
    const char *argv[] = {
        "verify-token", "--jwks", jwks_path, "--audience", AUD, "--service-account", SA,
        "--now",        NOW_S,    good,      NULL};
    assert_int_equal(run(NULL, argv), 0);
    json_t *claims = json_loads(out, 0, NULL);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "email")), SA);
    assert_string_equal(json_string_value(json_object_get(claims, "aud")), AUD);
    assert_string_equal(json_string_value(json_object_get(claims, "kid")), "k1");
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW + 3590);
    json_decref(claims);
    assert_null(strstr(out, good)); /* never the token itself */
}

static void invalid_token_prints_reason(void **state)
{
    (void)state;
    const char *argv[] = {
        "verify-token", "--jwks", jwks_path, "--audience", AUD, "--service-account", SA,
        "--now",        NOW_S,    forged,    NULL};
    assert_int_equal(run(NULL, argv), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "bad_signature"));
    /* The same good token an hour and more later. */
    const char *later[] = {
        "verify-token", "--jwks",     jwks_path, "--audience", AUD, "--service-account", SA,
        "--now",        "1700010000", good,      NULL};
    assert_int_equal(run(NULL, later), 1);
    assert_non_null(strstr(err, "expired"));
    const char *wrong_aud[] = {
        "verify-token", "--jwks", jwks_path, "--audience", "other", "--service-account", SA,
        "--now",        NOW_S,    good,      NULL};
    assert_int_equal(run(NULL, wrong_aud), 1);
    assert_non_null(strstr(err, "wrong_audience"));
}

static void token_from_stdin(void **state)
{
    (void)state;
    char *text;
    assert_true(asprintf(&text, "%s\n", good) > 0);
    const char *argv[] = {
        "verify-token", "--jwks", jwks_path, "--audience", AUD, "--service-account", SA,
        "--now",        NOW_S,    "-",       NULL};
    assert_int_equal(run(text, argv), 0);
    assert_non_null(strstr(out, SA));
    free(text);
}

static void defaults_from_environment(void **state)
{
    (void)state;
    setenv("RETRAIN_AUDIENCE", AUD, 1);
    setenv("RETRAIN_SERVICE_ACCOUNTS", SA, 1);
    setenv("RETRAIN_JWKS_URL", jwks_path, 1);
    const char *argv[] = {"verify-token", "--now", NOW_S, good, NULL};
    assert_int_equal(run(NULL, argv), 0);
    /* An option replaces the environment's value. */
    const char *other_sa[] = {
        "verify-token", "--service-account", "x@y", "--now", NOW_S, good, NULL};
    assert_int_equal(run(NULL, other_sa), 1);
    assert_non_null(strstr(err, "unauthorized_account"));
    unsetenv("RETRAIN_AUDIENCE");
    unsetenv("RETRAIN_SERVICE_ACCOUNTS");
    unsetenv("RETRAIN_JWKS_URL");
}

static void usage_errors(void **state)
{
    (void)state;
    const char *none[] = {"verify-token", NULL};
    assert_int_equal(run(NULL, none), 2);
    assert_non_null(strstr(err, "usage:"));
    const char *two[] = {"verify-token", "--audience", AUD, "a", "b", NULL};
    assert_int_equal(run(NULL, two), 2);
    const char *unknown[] = {"verify-token", "--bogus", good, NULL};
    assert_int_equal(run(NULL, unknown), 2);
    const char *missing_value[] = {"verify-token", good, "--now", NULL};
    assert_int_equal(run(NULL, missing_value), 2);
    const char *bad_now[] = {"verify-token", "--now", "yesterday", good, NULL};
    assert_int_equal(run(NULL, bad_now), 2);
    assert_non_null(strstr(err, "--now"));
    /* No audience anywhere. */
    const char *no_aud[] = {"verify-token", "--jwks", jwks_path, "--now", NOW_S, good, NULL};
    assert_int_equal(run(NULL, no_aud), 2);
    assert_non_null(strstr(err, "audience"));
    /* A config file that does not exist. */
    setenv("RETRAIN_CONFIG", "/nonexistent/retrain.json", 1);
    const char *cfg[] = {"verify-token", good, NULL};
    assert_int_equal(run(NULL, cfg), 2);
    unsetenv("RETRAIN_CONFIG");
}

static void no_key_set_is_an_environment_error(void **state)
{
    (void)state;
    const char *argv[] = {"verify-token",
                          "--jwks",
                          "/nonexistent/jwks.json",
                          "--audience",
                          AUD,
                          "--service-account",
                          SA,
                          "--now",
                          NOW_S,
                          good,
                          NULL};
    assert_int_equal(run(NULL, argv), 2);
    assert_non_null(strstr(err, "keys_unavailable"));
}

static void help(void **state)
{
    (void)state;
    const char *argv[] = {"verify-token", "--help", NULL};
    assert_int_equal(run(NULL, argv), 0);
    assert_non_null(strstr(out, "usage: retrainctl verify-token"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_token_prints_claims),
        cmocka_unit_test(invalid_token_prints_reason),
        cmocka_unit_test(token_from_stdin),
        cmocka_unit_test(defaults_from_environment),
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(no_key_set_is_an_environment_error),
        cmocka_unit_test(help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
