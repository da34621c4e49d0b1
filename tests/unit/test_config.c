/* Unit tests for config: defaults, the file, environment overrides, every problem reported with
 * its JSON path, cross-field validation, loopback detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[64];

static const char *write_file(const char *text)
{
    snprintf(path, sizeof path, "/tmp/retrain-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int teardown(void **state)
{
    (void)state;
    if (path[0])
        unlink(path);
    path[0] = '\0';
    unsetenv("RETRAIN_AUDIENCE");
    unsetenv("RETRAIN_SERVICE_ACCOUNTS");
    unsetenv("RETRAIN_LEDGER");
    unsetenv("RETRAIN_WORKERS");
    unsetenv("RETRAIN_JWKS_URL");
    unsetenv("GOOGLE_CLOUD_PROJECT");
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load(NULL, &cfg, err), 0);
    assert_string_equal(cfg.listen, "unix:/run/retrain/fcgi.sock");
    assert_int_equal(cfg.socket_mode, 0660);
    assert_int_equal(cfg.auth.clock_skew_s, 60);
    assert_string_equal(cfg.auth.jwks_url, "https://www.googleapis.com/oauth2/v3/certs");
    assert_string_equal(cfg.ledger.url, "sqlite:///var/lib/retrain/ledger.db");
    assert_int_equal(cfg.ledger.retention_s, 7 * 24 * 3600);
    assert_true(json_is_object(cfg.sections));
    assert_int_equal(json_object_size(cfg.sections), 0);
    assert_true(config_worker_count(&cfg) >= 2);
    /* Without audiences and service accounts the pool refuses to start. */
    assert_int_equal(config_validate(&cfg, err), -1);
    assert_non_null(strstr(err, "auth.audiences"));
    assert_non_null(strstr(err, "auth.service_accounts"));
    config_free(&cfg);
}

static void test_file_values(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    const char *p =
        write_file("{\"listen\":\"127.0.0.1:9000\",\"socket_mode\":\"0600\",\"workers\":3,"
                   "\"auth\":{\"audiences\":[\"https://a/\"],\"service_accounts\":[\"s@x\"],"
                   "\"clock_skew_s\":5},\"ledger\":{\"url\":\"postgres://u@h/db\",\"lease_s\":9},"
                   "\"vertex\":{\"region\":\"europe-west4\"},\"rules\":[{\"name\":\"r\"}]}");
    assert_int_equal(config_load(p, &cfg, err), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:9000");
    assert_int_equal(cfg.socket_mode, 0600);
    assert_int_equal(config_worker_count(&cfg), 3);
    assert_int_equal(cfg.auth.audiences.n, 1);
    assert_string_equal(cfg.auth.audiences.items[0], "https://a/");
    assert_int_equal(cfg.auth.clock_skew_s, 5);
    assert_int_equal(cfg.ledger.lease_s, 9);
    /* The functions' keys are kept as they are, for their functions to read. */
    assert_int_equal(json_object_size(cfg.sections), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(cfg.sections, "vertex"), "region")),
        "europe-west4");
    assert_int_equal(json_array_size(json_object_get(cfg.sections, "rules")), 1);
    assert_string_equal(cfg.path, p);
    assert_int_equal(config_validate(&cfg, err), 0);
    config_free(&cfg);
}

/* Every problem at once, each under its JSON path. */
static void test_every_problem_named(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    const char *p = write_file("{\"lisen\":\"x\",\"workers\":\"2\",\"backlog\":0,"
                               "\"socket_mode\":\"999\",\"auth\":{\"audience\":\"a\","
                               "\"disabled\":\"yes\",\"audiences\":[\"\",3]},"
                               "\"ledger\":[],\"rules\":{},\"vertx\":{}}");
    assert_int_equal(config_load(p, &cfg, err), -1);
    const char *want[] = {"lisen: unknown key",
                          "workers: must be an integer from 0 to 256",
                          "backlog: must be an integer from 1 to 65535",
                          "socket_mode: must be an octal file mode",
                          "auth.audience: unknown key",
                          "auth.disabled: must be true or false",
                          "auth.audiences: item 0 must be a non-empty string",
                          "auth.audiences: item 1 must be a non-empty string",
                          "ledger: must be an object",
                          "vertx: unknown key"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(err, want[i]))
            fail_msg("missing \"%s\" in:\n%s", want[i], err);
    /* A claimed key is its function's to check: "rules": {} is no problem of the loader's. */
    assert_null(strstr(err, "rules"));
}

/* The table reader the functions read their sections with. */
static void test_read_fields(void **state)
{
    (void)state;
    char *name = NULL, buf[512] = "";
    int n = 7;
    bool on = false;
    config_list l = {0};
    const config_field fields[] = {
        {"name", CONFIG_STRING, &name, 0, 0},
        {"n", CONFIG_INT, &n, 1, 10},
        {"on", CONFIG_BOOL, &on, 0, 0},
        {"tags", CONFIG_LIST, &l, 0, 0},
    };
    problems p = {.buf = buf, .cap = sizeof buf};
    json_t *obj = json_pack("{s:s, s:i, s:b, s:[s], s:i}", "name", "x", "n", 11, "on", 1, "tags",
                            "a", "extra", 1);
    config_read_fields(&p, "myfn", obj, fields, sizeof fields / sizeof fields[0]);
    assert_int_equal(p.count, 2);
    assert_non_null(strstr(buf, "myfn.n: must be an integer from 1 to 10"));
    assert_non_null(strstr(buf, "myfn.extra: unknown key"));
    assert_string_equal(name, "x");
    assert_int_equal(n, 7); /* a refused value leaves the default */
    assert_true(on);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0], "a");
    json_decref(obj);
    free(name);
    free(l.items[0]);
    free(l.items);
}

static void test_bad_json(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_load(write_file("{\"workers\": 2,"), &cfg, err), -1);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(config_load(write_file("[1]"), &cfg, err), -1);
    assert_non_null(strstr(err, "top level must be a JSON object"));
    assert_int_equal(config_load(write_file("{\"workers\":1,\"workers\":2}"), &cfg, err), -1);
    assert_non_null(strstr(err, "duplicate"));
    assert_int_equal(config_load("/nonexistent/retrain.json", &cfg, err), -1);
    assert_non_null(strstr(err, "/nonexistent/retrain.json"));
}

static void test_environment_overrides(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    setenv("RETRAIN_AUDIENCE", " https://a/ , https://b/,,", 1);
    setenv("RETRAIN_SERVICE_ACCOUNTS", "x@y", 1);
    setenv("RETRAIN_LEDGER", "sqlite:///tmp/l.db", 1);
    setenv("RETRAIN_WORKERS", "7", 1);
    setenv("GOOGLE_CLOUD_PROJECT", "proj", 1);
    const char *p = write_file("{\"auth\":{\"audiences\":[\"https://file/\"]},"
                               "\"ledger\":{\"url\":\"sqlite:///file.db\"}}");
    assert_int_equal(config_load(p, &cfg, err), 0);
    assert_int_equal(cfg.auth.audiences.n, 2);
    assert_string_equal(cfg.auth.audiences.items[0], "https://a/");
    assert_string_equal(cfg.auth.audiences.items[1], "https://b/");
    assert_string_equal(cfg.auth.service_accounts.items[0], "x@y");
    assert_string_equal(cfg.ledger.url, "sqlite:///tmp/l.db");
    assert_int_equal(cfg.workers, 7);
    assert_string_equal(cfg.project, "proj");
    config_free(&cfg);

    setenv("RETRAIN_WORKERS", "many", 1);
    assert_int_equal(config_load(NULL, &cfg, err), -1);
    assert_non_null(strstr(err, "RETRAIN_WORKERS: must be an integer"));
}

static void test_validation(void **state)
{
    (void)state;
    config cfg;
    char err[CONFIG_ERR_MAX];
    const char *p = write_file("{\"listen\":\"0.0.0.0:9000\",\"auth\":{\"disabled\":true},"
                               "\"ledger\":{\"url\":\"mysql://x\"},\"log_level\":\"LOUD\"}");
    assert_int_equal(config_load(p, &cfg, err), 0);
    assert_int_equal(config_validate(&cfg, err), -1);
    assert_non_null(strstr(err, "auth.disabled: is for development only"));
    assert_non_null(strstr(err, "ledger.url: must start with sqlite:// or postgres://"));
    assert_non_null(strstr(err, "log_level: must be one of"));
    config_set_string(&cfg.listen, "nonsense");
    assert_int_equal(config_validate(&cfg, err), -1);
    assert_non_null(strstr(err, "listen: must be"));
    config_free(&cfg);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(config_listen_is_loopback("unix:/run/x.sock"));
    assert_true(config_listen_is_loopback("127.0.0.1:9000"));
    assert_true(config_listen_is_loopback("127.3.2.1:9000"));
    assert_true(config_listen_is_loopback("localhost:9000"));
    assert_true(config_listen_is_loopback("[::1]:9000"));
    assert_false(config_listen_is_loopback("0.0.0.0:9000"));
    assert_false(config_listen_is_loopback("10.0.0.1:9000"));
    assert_false(config_listen_is_loopback("[::]:9000"));
    assert_false(config_listen_is_loopback(":9000"));
}

/* A function's share of the top level: its keys read, everyone else's left alone. */
static void test_read_share(void **state)
{
    (void)state;
    char buf[256] = "";
    int n = 0;
    const config_field fields[] = {{"n", CONFIG_INT, &n, 1, 10}};
    problems p = {.buf = buf, .cap = sizeof buf};
    json_t *top = json_pack("{s:i, s:s, s:{}}", "n", 4, "listen", "x", "auth");
    config_read_share(&p, top, fields, 1);
    assert_int_equal(p.count, 0);
    assert_int_equal(n, 4);
    json_object_set_new(top, "n", json_string("four"));
    config_read_share(&p, top, fields, 1);
    assert_int_equal(p.count, 1);
    assert_string_equal(buf, "n: must be an integer from 1 to 10");
    json_decref(top);
}

/* Claiming a key twice is one claim; the table is bounded and says so. Runs last: the claims
 * are the process's. */
static void test_claims_bounded(void **state)
{
    (void)state;
    static const char *const again[] = {"vertex", "rules", "vertex", NULL};
    assert_int_equal(config_claim_keys(again), 0);
    static char names[40][16];
    const char *one[2] = {NULL, NULL};
    int rc = 0;
    unsigned i;
    for (i = 0; i < 40 && rc == 0; i++) {
        snprintf(names[i], sizeof names[i], "k%u", i);
        one[0] = names[i];
        rc = config_claim_keys(one);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(i, 31); /* 32 in all, vertex and rules among them */
}

int main(void)
{
    /* Claimed as the retrain function claims them when it is registered. */
    static const char *const keys[] = {"vertex", "rules", NULL};
    if (config_claim_keys(keys) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_file_values, teardown),
        cmocka_unit_test_teardown(test_every_problem_named, teardown),
        cmocka_unit_test_teardown(test_bad_json, teardown),
        cmocka_unit_test_teardown(test_environment_overrides, teardown),
        cmocka_unit_test_teardown(test_validation, teardown),
        cmocka_unit_test_teardown(test_loopback, teardown),
        cmocka_unit_test(test_read_fields),
        cmocka_unit_test(test_read_share),
        cmocka_unit_test(test_claims_bounded),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
