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

static char big_prefix[2047]; /* 2046 'a', set in main */

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

/* Whatever bytes a message or a field carries, every call writes exactly one line, and the line
 * is RFC 8259 JSON: printable ASCII (controls and non-ASCII escaped), strict UTF-8 inside, one
 * object. */
static void emit_hostile_lines(void)
{
    log_init("unit", LOG_INFO);
    /* 1: invalid UTF-8 in the message (a %s of raw bytes). */
    log_info("bad bytes %s end", "acme\xfd\xc3(");
    /* 2: a long message cut at the buffer's end, inside a 2-byte character. */
    char big[2100];
    memset(big, 'a', 2046);
    strcpy(big + 2046, "\xc3\xa9\xc3\xa9tail");
    log_info("%s", big);
    /* 3: a field string that is not UTF-8 (jansson's nocheck setters let one in). */
    json_t *f = json_object();
    json_object_set_new(f, "event_id", json_stringn_nocheck("id-\xff\x00x", 6));
    json_object_set_new(f, "nested", json_pack("[s, o]", "ok", json_string_nocheck("\xc0\xa0")));
    log_emit(LOG_WARNING, f, "fields");
    /* 4: a key that is not UTF-8. */
    f = json_object();
    json_object_set_new_nocheck(f, "k\xfe", json_string("v"));
    log_emit(LOG_WARNING, f, "keys");
    /* 5: control and bidirectional characters, valid UTF-8: escaped by JSON, never raw. */
    log_info("esc \x1b[2J rlo \xe2\x80\xae nel \xc2\x85 quote \" backslash \\");
}

static void test_every_line_is_json(void **state)
{
    (void)state;
    char *text = capture(emit_hostile_lines);
    size_t lines = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        lines++;
        for (const char *p = line; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                fail_msg("line %zu has the byte 0x%02x", lines, (unsigned char)*p);
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!json_is_object(j))
            fail_msg("line %zu is not a JSON object: %s: %s", lines, err.text, line);
        const char *msg = json_string_value(json_object_get(j, "message"));
        assert_non_null(msg);
        if (lines == 1)
            assert_string_equal(msg, "bad bytes acme\\xFD\\xC3( end");
        if (lines == 2) {
            assert_int_equal(strncmp(msg, big_prefix, 2046), 0);
            assert_true(strlen(msg) <= 2047);
        }
        if (lines == 3) {
            assert_string_equal(json_string_value(json_object_get(j, "event_id")),
                                "id-\\xFF\\x00x");
            assert_string_equal(json_string_value(json_array_get(json_object_get(j, "nested"), 1)),
                                "\\xC0\\xA0");
            assert_string_equal(json_string_value(json_array_get(json_object_get(j, "nested"), 0)),
                                "ok");
        }
        if (lines == 4)
            assert_string_equal(json_string_value(json_object_get(j, "k\\xFE")), "v");
        if (lines == 5)
            assert_non_null(strstr(msg, "rlo \xe2\x80\xae nel"));
        json_decref(j);
    }
    assert_int_equal(lines, 5);
    free(text);
}

int main(void)
{
    memset(big_prefix, 'a', 2046);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_trace_headers),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_every_line_is_json),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
