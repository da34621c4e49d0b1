/* Unit tests for trace: the traceparent and X-Cloud-Trace-Context cases
 * (tests/data/traceparent/cases.txt and cloud.txt: what a delivery carries, and the traceparent
 * its outbound calls carry, or "ignored"), and the current trace's life (begin, end, which header
 * wins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

#define CASES "tests/data/traceparent/"

/* Runs every "EXPECT<TAB>HEADER" line of FILE through trace_begin with the header as the
 * traceparent (CLOUD false) or as X-Cloud-Trace-Context; returns how many lines ran. */
static int run_cases(const char *file, bool cloud)
{
    FILE *f = fopen(file, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repository's root)", file);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        const char *want = line, *header = tab + 1;
        trace_begin(cloud ? NULL : header, cloud ? header : NULL);
        const char *got = trace_header();
        if (strcmp(want, "ignored") == 0) {
            if (got)
                fail_msg("%s: '%s' should be ignored, got %s", file, header, got);
        } else if (!got) {
            fail_msg("%s: '%s' was ignored, want %s", file, header, want);
        } else if (strstr(want, "-random-")) { /* a parent-id made up: 16 hex, not all 0 */
            assert_int_equal(strlen(got), TRACE_HEADER_LEN);
            assert_memory_equal(got, want, 36);
            assert_string_equal(got + 52, want + strlen(want) - 3);
            assert_int_not_equal(strspn(got + 36, "0"), 16);
        } else if (strcmp(got, want) != 0) {
            fail_msg("%s: '%s' gave %s, want %s", file, header, got, want);
        }
        if (got)
            assert_memory_equal(trace_id(), got + 3, 32);
        else
            assert_null(trace_id());
        n++;
    }
    fclose(f);
    trace_end();
    return n;
}

static void test_traceparent_cases(void **state)
{
    (void)state;
    assert_true(run_cases(CASES "cases.txt", false) >= 20);
}

static void test_cloud_trace_cases(void **state)
{
    (void)state;
    assert_true(run_cases(CASES "cloud.txt", true) >= 10);
}

static void test_current_trace(void **state)
{
    (void)state;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_null(trace_header());
    trace_begin(tp, "105445aa7843bc8bf206b12000100000/1;o=1"); /* traceparent wins */
    assert_string_equal(trace_header(), tp);
    assert_string_equal(trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    trace_begin("garbage", "105445aa7843bc8bf206b12000100000/1;o=1"); /* else the other */
    assert_string_equal(trace_id(), "105445aa7843bc8bf206b12000100000");
    trace_begin(NULL, NULL); /* a request without one has none: nothing left of the last */
    assert_null(trace_header());
    trace_begin(tp, NULL);
    trace_end();
    assert_null(trace_id());
    assert_null(trace_header());
    trace_ctx c;
    assert_true(trace_parse(tp, &c));
    assert_string_equal(c.parent, "00f067aa0ba902b7");
    assert_int_equal(c.flags, 1);
    assert_false(trace_parse(NULL, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_cases),
        cmocka_unit_test(test_cloud_trace_cases),
        cmocka_unit_test(test_current_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
