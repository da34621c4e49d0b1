/* Unit tests for `retrainctl check-config`'s command line: --help, usage errors, a file that
 * cannot be opened; cmd_check_config() is called while stdout and stderr go to temporary files.
 * What it reports for a config file (each problem with its JSON path, the count, the exit
 * status) is a config case: tests/data/config/check-config-*.case, run by test_config_cases. */
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
#include "support/capture.h"

typedef struct {
    char dir[64];
    char path[128];
    char out[8192], err[8192];
} fixture;

static int setup(void **state)
{
    capture_clear_config_env(); /* the environment overrides the file */
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_check_config.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
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

    return capture_main(cmd_check_config, argc, argv, f->out, sizeof f->out, f->err, sizeof f->err);
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

static void test_help(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "--help", (char *)NULL), 0);
    assert_line(f->out, "usage: retrainctl check-config FILE");
    assert_string_equal(f->err, "");
    assert_int_equal(run(f, "-h", (char *)NULL), 0);
    assert_line(f->out, "usage: retrainctl check-config FILE");
}

static void test_usage_errors(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, (char *)NULL), 2);
    assert_line(f->err, "usage: retrainctl check-config FILE");
    assert_string_equal(f->out, "");
    assert_int_equal(run(f, "a.json", "b.json", (char *)NULL), 2);
    assert_line(f->err, "usage:");
    assert_int_equal(run(f, "--verbose", (char *)NULL), 2);
    assert_line(f->err, "usage:");
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "/nonexistent/retrain.json", (char *)NULL), 2);
    assert_line(f->err, "/nonexistent/retrain.json: unable to open");
    assert_line(f->err, "/nonexistent/retrain.json: 1 problem");
    assert_string_equal(f->out, "");
}

int main(void)
{
    builtins_register(); /* as the binaries do */
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_help),
        T(test_usage_errors),
        T(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
