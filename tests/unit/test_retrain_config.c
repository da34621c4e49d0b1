/* Unit tests for src/retrain_config.c: the retrain function's "vertex" and "rules" keys read
 * with their defaults, the environment over the file, every problem with its JSON path, and
 * the check that compiles the rules as a worker does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "retrain_config.h"

static int clean_env(void **state)
{
    (void)state;
    unsetenv("RETRAIN_VERTEX_ENDPOINT");
    unsetenv("GOOGLE_CLOUD_PROJECT");
    return 0;
}

static void test_defaults_without_the_keys(void **state)
{
    (void)state;
    json_t *sections = json_object();
    retrain_config c;
    problems p = {0};
    assert_int_equal(retrain_config_read(sections, &c, &p), 0);
    assert_string_equal(c.vertex.region, "us-central1");
    assert_int_equal(c.vertex.deadline_ms, 20000);
    assert_int_equal(c.follow.first_s, 30);
    assert_int_equal(c.follow.max_s, 300);
    assert_int_equal(c.follow.reads_per_minute, 120);
    assert_null(c.vertex.project);
    assert_null(c.vertex.endpoint);
    assert_true(json_is_array(c.rules));
    assert_int_equal(json_array_size(c.rules), 0);
    retrain_config_free(&c);
    json_decref(sections);
}

static void test_file_then_environment(void **state)
{
    (void)state;
    json_t *sections = json_pack("{s:{s:s, s:s, s:i}, s:[{s:s}], s:s}", "vertex", "region",
                                 "europe-west4", "endpoint", "http://127.0.0.1:1/v1", "deadline_ms",
                                 900, "rules", "name", "r", "listen", "ignored");
    retrain_config c;
    problems p = {0};
    setenv("GOOGLE_CLOUD_PROJECT", "from-env", 1);
    assert_int_equal(retrain_config_read(sections, &c, &p), 0);
    assert_string_equal(c.vertex.region, "europe-west4");
    assert_string_equal(c.vertex.endpoint, "http://127.0.0.1:1/v1");
    assert_string_equal(c.vertex.project, "from-env"); /* the file names none */
    assert_int_equal(c.vertex.deadline_ms, 900);
    assert_int_equal(json_array_size(c.rules), 1);
    retrain_config_free(&c);

    /* The file's project wins over GOOGLE_CLOUD_PROJECT; RETRAIN_VERTEX_ENDPOINT over the file. */
    json_object_set_new(json_object_get(sections, "vertex"), "project", json_string("in-file"));
    setenv("RETRAIN_VERTEX_ENDPOINT", "http://127.0.0.1:2/v1", 1);
    assert_int_equal(retrain_config_read(sections, &c, &p), 0);
    assert_string_equal(c.vertex.project, "in-file");
    assert_string_equal(c.vertex.endpoint, "http://127.0.0.1:2/v1");
    retrain_config_free(&c);
    json_decref(sections);
    clean_env(NULL);
}

static void test_every_problem_with_its_path(void **state)
{
    (void)state;
    char buf[1024] = "";
    problems p = {.buf = buf, .cap = sizeof buf};
    json_t *sections = json_pack("{s:{s:s, s:i, s:s}, s:{}}", "vertex", "region", "", "deadline_ms",
                                 5, "zone", "x", "rules");
    retrain_config c;
    assert_int_equal(retrain_config_read(sections, &c, &p), -1);
    const char *want[] = {"vertex.region: must be a non-empty string",
                          "vertex.deadline_ms: must be an integer from 100 to 600000",
                          "vertex.zone: unknown key", "rules: must be an array"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("missing \"%s\" in:\n%s", want[i], buf);
    assert_int_equal(p.count, 4);
    json_decref(sections);

    json_t *not_object = json_pack("{s:[]}", "vertex");
    problems q = {.buf = buf, .cap = sizeof buf};
    assert_int_equal(retrain_config_read(not_object, &c, &q), -1);
    assert_string_equal(buf, "vertex: must be an object");
    json_decref(not_object);
}

/* The check counts the rules that compile and reports the rules module's problems by path. */
static void test_check_compiles_the_rules(void **state)
{
    (void)state;
    char buf[2048] = "";
    problems p = {.buf = buf, .cap = sizeof buf};
    json_t *ok = json_loads("{\"rules\":[{\"name\":\"r\",\"match\":{\"type\":"
                            "\"google.cloud.storage.object.v1.finalized\",\"name\":\"m/**\"},"
                            "\"action\":\"register\",\"model\":{\"model_id\":\"m\","
                            "\"container_image\":\"us-docker.pkg.dev/p/r/serve:latest\"}}]}",
                            0, NULL);
    assert_non_null(ok);
    size_t n = retrain_config_check(ok, &p);
    if (p.count)
        fail_msg("%s", buf);
    assert_int_equal(n, 1);
    json_decref(ok);

    json_t *bad = json_loads("{\"rules\":[{\"name\":\"r\"}]}", 0, NULL);
    assert_int_equal(retrain_config_check(bad, &p), 0);
    assert_true(p.count > 0);
    assert_non_null(strstr(buf, "rules[0]"));
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_without_the_keys, clean_env),
        cmocka_unit_test_setup(test_file_then_environment, clean_env),
        cmocka_unit_test_setup(test_every_problem_with_its_path, clean_env),
        cmocka_unit_test_setup(test_check_compiles_the_rules, clean_env),
    };
    return cmocka_run_group_tests_name("retrain_config", tests, NULL, NULL);
}
