/* Unit tests for svg_chart: one point a finite value with its decision as a class, a polyline
 * through them, labels escaped, the axis labelled with the lowest and highest value, and a note
 * instead of a chart when nothing has a value. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "svg_chart.h"

static arena *a;

static int setup(void **state)
{
    (void)state;
    a = arena_new(4096);
    return a ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(a);
    return 0;
}

static const char *chart(const char *title, const chart_point *pts, size_t n)
{
    html *h = html_new(a);
    svg_chart(h, title, pts, n);
    size_t len;
    const char *out = html_done(h, &len);
    assert_non_null(out);
    return out;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_one_point_a_version(void **state)
{
    (void)state;
    chart_point pts[] = {{"1", 0.8, "promoted"}, {"2", 0.9, "promoted"}, {"3", 0.7, "held"}};
    const char *svg = chart("auRoc", pts, 3);
    assert_int_equal(count(svg, "<svg "), 1);
    assert_int_equal(count(svg, "<circle class=\"point promoted\""), 2);
    assert_int_equal(count(svg, "<circle class=\"point held\""), 1);
    assert_int_equal(count(svg, "<polyline"), 1);
    assert_non_null(strstr(svg, ">0.9</text>"));
    assert_non_null(strstr(svg, ">0.7</text>"));
    assert_non_null(strstr(svg, "<title>version 3: 0.7, held</title>"));
    /* The highest value at the top of the plot, the lowest at its bottom. */
    assert_non_null(strstr(svg, "cx=\"64.0\" cy=\""));
    assert_non_null(strstr(svg, "cx=\"616.0\" cy=\"200.0\""));
}

static void test_labels_escaped_and_nan_left_out(void **state)
{
    (void)state;
    chart_point pts[] = {{"<b>1</b>", 1.0, "x\"y"}, {"2", NAN, NULL}, {"3", INFINITY, NULL}};
    const char *svg = chart("<script>", pts, 3);
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "<b>"));
    assert_non_null(strstr(svg, "&lt;script&gt; by version"));
    assert_non_null(strstr(svg, "class=\"point x&quot;y\""));
    assert_int_equal(count(svg, "<circle"), 1);
    assert_null(strstr(svg, "nan"));
    assert_null(strstr(svg, "inf"));
}

static void test_no_value_no_chart(void **state)
{
    (void)state;
    chart_point pts[] = {{"1", NAN, NULL}};
    const char *out = chart("logLoss", pts, 1);
    assert_null(strstr(out, "<svg"));
    assert_non_null(strstr(out, "No version has a value of logLoss yet."));
    assert_non_null(strstr(chart("m", NULL, 0), "No version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_point_a_version),
        cmocka_unit_test(test_labels_escaped_and_nan_left_out),
        cmocka_unit_test(test_no_value_no_chart),
    };
    return cmocka_run_group_tests_name("svg_chart", tests, setup, teardown);
}
