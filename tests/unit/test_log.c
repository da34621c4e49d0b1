/* Unit tests for log: severity names, the trace taken from traceparent or X-Cloud-Trace-Context
 * (invalid ones ignored), and the JSON line itself (Cloud Logging's field names, one line per
 * call, extra fields merged, below-minimum lines dropped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static void test_severity_names(void **state)
{
    (void)state;
    log_severity s;
    assert_string_equal(log_severity_name(LOG_WARNING), "WARNING");
    assert_int_equal(log_severity_parse("error", &s), 0);
    assert_int_equal(s, LOG_ERROR);
    assert_int_equal(log_severity_parse("LOUD", &s), -1);
}

static void test_trace_headers(void **state)
{
    (void)state;
    log_set_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL, "proj");
    assert_string_equal(log_trace(), "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736");
    log_set_trace(NULL, "105445aa7843bc8bf206b12000100000/1;o=1", NULL);
    assert_string_equal(log_trace(), "105445aa7843bc8bf206b12000100000");
    /* traceparent wins when both are given */
    log_set_trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                  "105445aa7843bc8bf206b12000100000/1", NULL);
    assert_string_equal(log_trace(), "4bf92f3577b34da6a3ce929d0e0e4736");
    log_set_trace("00-not-hex-at-all", "short/1", NULL);
    assert_null(log_trace());
    log_set_trace("00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL, NULL);
    assert_null(log_trace());
    log_set_trace(NULL, "105445aa7843bc8bf206b12000100000/1", "p");
    log_clear_trace();
    assert_null(log_trace());
}

/* Runs FN with stderr sent to a temp file; returns what it wrote (malloc'd). */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/test_log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, text, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return text;
}

static void emit_lines(void)
{
    log_init("unit", LOG_INFO);
    log_set_trace(NULL, "105445aa7843bc8bf206b12000100000/1", "proj");
    log_emit(LOG_WARNING, json_pack("{s:s, s:i}", "reason", "expired", "n", 3), "rejected %d", 1);
    log_clear_trace();
    log_debug("dropped below the minimum");
    log_info("second \"quoted\" line");
}

static void test_json_lines(void **state)
{
    (void)state;
    char *text = capture(emit_lines);
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *a = json_loads(text, 0, NULL), *b = json_loads(second, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(a, "severity")), "WARNING");
    assert_string_equal(json_string_value(json_object_get(a, "message")), "rejected 1");
    assert_string_equal(json_string_value(json_object_get(a, "component")), "unit");
    assert_string_equal(json_string_value(json_object_get(a, "reason")), "expired");
    assert_int_equal(json_integer_value(json_object_get(a, "n")), 3);
    assert_string_equal(json_string_value(json_object_get(a, "logging.googleapis.com/trace")),
                        "projects/proj/traces/105445aa7843bc8bf206b12000100000");
    assert_non_null(json_object_get(a, "time"));
    assert_int_equal(json_integer_value(json_object_get(a, "pid")), getpid());
    assert_string_equal(json_string_value(json_object_get(b, "message")), "second \"quoted\" line");
    assert_null(json_object_get(b, "logging.googleapis.com/trace"));
    assert_null(strstr(second, "dropped below"));
    json_decref(a);
    json_decref(b);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_trace_headers),
        cmocka_unit_test(test_json_lines),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
