/* Unit tests for `retrainctl check-config`: cmd_check_config() is called with temporary
 * config files while stdout and stderr go to temporary files, and each problem is asserted
 * with its JSON path and the exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtins.h"
#include "cmd_check_config.h"

typedef struct {
    char dir[64];
    char path[128];
    char out[8192], err[8192];
} fixture;

static int setup(void **state)
{
    /* The environment overrides the file; keep it from changing what is checked. */
    static const char *const env[] = {
        "RETRAIN_CONFIG",   "RETRAIN_AUDIENCE",    "RETRAIN_SERVICE_ACCOUNTS",
        "RETRAIN_JWKS_URL", "RETRAIN_LEDGER",      "RETRAIN_VERTEX_ENDPOINT",
        "RETRAIN_LISTEN",   "RETRAIN_FUNCTION",    "RETRAIN_LOG_LEVEL",
        "RETRAIN_WORKERS",  "GOOGLE_CLOUD_PROJECT"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i]);
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_check_config.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/config.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Reads and removes the capture file PATH into BUF. */
static void slurp(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, len - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    unlink(path);
}

/* Runs check-config with ARGS (NULL-terminated), capturing stdout and stderr. */
static int run(fixture *f, ...)
{
    char *argv[8] = {"check-config"};
    int argc = 1;
    va_list ap;
    va_start(ap, f);
    char *a;
    while ((a = va_arg(ap, char *)) && argc < 7)
        argv[argc++] = a;
    va_end(ap);

    char out_path[128], err_path[128];
    snprintf(out_path, sizeof out_path, "%s/stdout", f->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", f->dir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved_out >= 0 && saved_err >= 0 && out >= 0 && err >= 0);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    int rc = cmd_check_config(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    slurp(out_path, f->out, sizeof f->out);
    slurp(err_path, f->err, sizeof f->err);
    return rc;
}

/* True when TEXT has a line starting with PREFIX. */
static bool has_line(const char *text, const char *prefix)
{
    for (const char *line = text; line && *line;) {
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return true;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

static void assert_line(const char *text, const char *prefix)
{
    if (!has_line(text, prefix))
        fail_msg("no line starting \"%s\" in:\n%s", prefix, text);
}

#define GOOD_TOP                                                                                   \
    "\"listen\": \"127.0.0.1:9000\","                                                              \
    "\"auth\": {\"audiences\": [\"https://127.0.0.1:8443/\"],"                                     \
    "         \"service_accounts\": [\"sa@p.iam.gserviceaccount.com\"]},"                          \
    "\"ledger\": {\"url\": \"sqlite:///tmp/x/ledger.db\"},"

#define GOOD_RULE                                                                                  \
    "{\"name\": \"churn\", \"match\": {\"type\": \"google.cloud.storage.object.v1.finalized\","    \
    " \"bucket\": \"b\", \"name\": \"datasets/**.csv\"}, \"action\": \"train\","                   \
    " \"job\": {\"displayName\": \"churn-${event_key}\", \"jobSpec\": {\"workerPoolSpecs\": [{"    \
    " \"machineSpec\": {\"machineType\": \"n1-standard-4\"}, \"replicaCount\": \"1\","             \
    " \"containerSpec\": {\"imageUri\": \"img\"}}]}}}"

static void test_help(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "--help", NULL), 0);
    assert_line(f->out, "usage: retrainctl check-config FILE");
    assert_string_equal(f->err, "");
    assert_int_equal(run(f, "-h", NULL), 0);
    assert_line(f->out, "usage: retrainctl check-config FILE");
}

static void test_usage_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, NULL), 2);
    assert_line(f->err, "usage: retrainctl check-config FILE");
    assert_string_equal(f->out, "");
    assert_int_equal(run(f, "a.json", "b.json", NULL), 2);
    assert_line(f->err, "usage:");
    assert_int_equal(run(f, "--verbose", NULL), 2);
    assert_line(f->err, "usage:");
}

static void test_ok(void **state)
{
    fixture *f = *state;
    write_file(f->path, "{" GOOD_TOP "\"rules\": [" GOOD_RULE "]}");
    assert_int_equal(run(f, f->path, NULL), 0);
    char want[256];
    snprintf(want, sizeof want, "%s: ok (1 rules)\n", f->path);
    assert_string_equal(f->out, want);
    assert_string_equal(f->err, "");
}

static void test_ok_without_rules(void **state)
{
    fixture *f = *state;
    write_file(f->path, "{" GOOD_TOP "\"function\": \"echo\"}");
    assert_int_equal(run(f, f->path, NULL), 0);
    assert_non_null(strstr(f->out, ": ok (0 rules)"));
}

/* The function is looked up as the pool's start and reload look it up (config_check). */
static void test_unknown_function(void **state)
{
    fixture *f = *state;
    write_file(f->path,
               "{" GOOD_TOP "\"function\": \"no-such-function\", \"rules\": [" GOOD_RULE "]}");
    assert_int_equal(run(f, f->path, NULL), 2);
    assert_line(f->err, "function: no function is registered as \"no-such-function\"");
    assert_non_null(strstr(f->err, ": 1 problem\n"));
    assert_string_equal(f->out, "");
}

static void test_example_config_passes(void **state)
{
    fixture *f = *state;
    /* The unit tests run from the repository root (tests/run-unit.sh). */
    assert_int_equal(run(f, "examples/config.json", NULL), 0);
    assert_string_equal(f->out, "examples/config.json: ok (3 rules)\n");
    assert_string_equal(f->err, "");
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "/nonexistent/retrain.json", NULL), 2);
    assert_line(f->err, "/nonexistent/retrain.json: unable to open");
    assert_line(f->err, "/nonexistent/retrain.json: 1 problem");
    assert_string_equal(f->out, "");
}

static void test_not_json(void **state)
{
    fixture *f = *state;
    write_file(f->path, "{\"listen\": ");
    assert_int_equal(run(f, f->path, NULL), 2);
    char want[256];
    snprintf(want, sizeof want, "%s: ", f->path);
    assert_line(f->err, want);
    assert_non_null(strstr(f->err, "(line 1, column"));
}

/* The list: unknown keys, bad globs, unknown placeholders, labels that break Google's
 * rules, a rule with no action: exit 2 with the JSON path of each problem. */
static void test_every_problem_with_its_path(void **state)
{
    fixture *f = *state;
    write_file(
        f->path,
        "{" GOOD_TOP "\"rules\": [" GOOD_RULE ","
        "{\"name\": \"two\", \"match\": {\"type\": \"t\", \"name\": \"x/***.csv\","
        "  \"colour\": \"red\"},"
        " \"action\": \"train\", \"labels\": {\"Team\": \"ml\"},"
        " \"job\": {\"displayName\": \"two-${object}\", \"jobSpec\": {\"workerPoolSpecs\": [{"
        " \"machineSpec\": {\"machineType\": \"n1\"}, \"containerSpec\": {\"imageUri\": "
        "\"img\"}}]}}},"
        "{\"name\": \"three\", \"match\": {\"type\": \"t\"}}]}");
    assert_int_equal(run(f, f->path, NULL), 2);
    assert_line(f->err, "rules[1].match.colour: unknown key");
    assert_line(f->err, "rules[1].match.name: unsupported glob: '***' at offset 2");
    assert_line(f->err, "rules[1].job.displayName: unknown placeholder ${object}");
    assert_line(f->err, "rules[1].labels: label key \"Team\"");
    assert_line(f->err, "rules[2].action: required");
    char want[256];
    snprintf(want, sizeof want, "%s: 5 problems", f->path);
    assert_line(f->err, want);
    assert_string_equal(f->out, "");
}

static void test_rules_checked_when_the_file_has_problems(void **state)
{
    fixture *f = *state;
    /* A top-level typo makes config_load() fail; the rules are still checked. */
    write_file(f->path, "{" GOOD_TOP "\"wokers\": 4, \"rules\": [{\"name\": \"Bad\","
                        " \"match\": {\"type\": \"t\"}, \"action\": \"train\"}]}");
    assert_int_equal(run(f, f->path, NULL), 2);
    assert_line(f->err, "wokers: unknown key");
    assert_line(f->err, "rules[0].name: must be 1-63 lower-case");
    assert_line(f->err, "rules[0].job: required for action train");
}

static void test_validate_and_rules_together(void **state)
{
    fixture *f = *state;
    /* Loads, but fails config_validate (no audiences) and a rule is bad. */
    write_file(f->path,
               "{\"listen\": \"127.0.0.1:9000\", \"auth\": {\"service_accounts\": [\"sa@x\"]},"
               "\"rules\": [{\"name\": \"r\", \"match\": {\"type\": \"t\"},"
               " \"action\": \"register\", \"model\": {\"parent\": \"models/1\"}}]}");
    assert_int_equal(run(f, f->path, NULL), 2);
    assert_line(f->err, "auth.audiences: at least one audience is required");
    assert_line(f->err, "rules[0].model.parent: must look like projects/");
    assert_line(f->err, "rules[0].model.container_image: required");
}

static void test_rules_not_an_array(void **state)
{
    fixture *f = *state;
    write_file(f->path, "{" GOOD_TOP "\"rules\": {\"name\": \"x\"}}");
    assert_int_equal(run(f, f->path, NULL), 2);
    assert_line(f->err, "rules: must be an array");
}

int main(void)
{
    builtins_register(); /* as the binaries do */
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_help),
        T(test_usage_errors),
        T(test_ok),
        T(test_ok_without_rules),
        T(test_unknown_function),
        T(test_example_config_passes),
        T(test_missing_file),
        T(test_not_json),
        T(test_every_problem_with_its_path),
        T(test_rules_checked_when_the_file_has_problems),
        T(test_validate_and_rules_together),
        T(test_rules_not_an_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
