/* Unit tests for html: the five characters that end text or an attribute value become entities,
 * controls, invalid UTF-8 and the code points that hide or reorder text become U+FFFD, the rest
 * of UTF-8 is kept, markup of our own is appended as it is, a URL part is percent-encoded, and a
 * document grows past its first block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "html.h"

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

/* The escaped form of LEN bytes of S. */
static const char *esc(const char *s, size_t len)
{
    html *h = html_new(a);
    html_textn(h, s, len);
    size_t n;
    const char *out = html_done(h, &n);
    assert_non_null(out);
    assert_int_equal(n, strlen(out));
    return out;
}

#define E(lit) esc(lit, sizeof(lit) - 1)
#define FFFD "\xEF\xBF\xBD"

static void test_markup_characters_become_entities(void **state)
{
    (void)state;
    assert_string_equal(E("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_string_equal(E("\"><img src=x onerror='a'>"),
                        "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;");
    assert_string_equal(E("a & b &amp;"), "a &amp; b &amp;amp;");
    assert_string_equal(E("churn/data 2026.csv"), "churn/data 2026.csv");
    assert_string_equal(E(""), "");
}

static void test_controls_become_replacements(void **state)
{
    (void)state;
    assert_string_equal(E("a\tb\nc"), "a\tb\nc");
    assert_string_equal(E("a\rb"), "a" FFFD "b");
    assert_string_equal(E("a\0b"), "a" FFFD "b");
    assert_string_equal(E("\x1b[31m\x7f"), FFFD "[31m" FFFD);
    assert_string_equal(E("\xc2\x85"), FFFD); /* C1: NEL */
}

static void test_utf8_kept_unless_it_hides_text(void **state)
{
    (void)state;
    assert_string_equal(E("données-été-日本-😀"), "données-été-日本-😀");
    assert_string_equal(E("a\xe2\x80\xae"
                          "b"),
                        "a" FFFD "b"); /* RIGHT-TO-LEFT OVERRIDE */
    assert_string_equal(E("a\xe2\x80\x8b"
                          "b"),
                        "a" FFFD "b"); /* ZERO WIDTH SPACE */
    assert_string_equal(E("\xef\xbb\xbf"
                          "x"),
                        FFFD "x"); /* BOM */
}

static void test_invalid_utf8_one_replacement_a_byte(void **state)
{
    (void)state;
    assert_string_equal(E("\xff\xfe"), FFFD FFFD);
    assert_string_equal(E("\xc0\xbc"), FFFD FFFD);          /* an overlong '<' */
    assert_string_equal(E("\xed\xa0\x80"), FFFD FFFD FFFD); /* a surrogate */
    assert_string_equal(E("ab\xe6\x97"), "ab" FFFD FFFD);   /* cut short */
}

static void test_raw_and_formatted(void **state)
{
    (void)state;
    html *h = html_new(a);
    html_raw(h, "<td class=\"n\">");
    html_rawf(h, "%d", 42);
    html_raw(h, "</td><td>");
    html_textf(h, "%s: %d", "<b>", 7);
    html_raw(h, "</td>");
    html_text(h, NULL);
    size_t n;
    assert_string_equal(html_done(h, &n), "<td class=\"n\">42</td><td>&lt;b&gt;: 7</td>");
}

static void test_url_part(void **state)
{
    (void)state;
    html *h = html_new(a);
    html_url_part(h, "churn/\"><a b>&c=d.csv~_-");
    size_t n;
    assert_string_equal(html_done(h, &n), "churn%2F%22%3E%3Ca%20b%3E%26c%3Dd.csv~_-");
}

static void test_grows_past_its_first_block(void **state)
{
    (void)state;
    html *h = html_new(a);
    for (int i = 0; i < 20000; i++)
        html_text(h, "<>");
    size_t n;
    const char *out = html_done(h, &n);
    assert_non_null(out);
    assert_int_equal(n, 20000 * 8);
    assert_memory_equal(out + n - 8, "&lt;&gt;", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markup_characters_become_entities),
        cmocka_unit_test(test_controls_become_replacements),
        cmocka_unit_test(test_utf8_kept_unless_it_hides_text),
        cmocka_unit_test(test_invalid_utf8_one_replacement_a_byte),
        cmocka_unit_test(test_raw_and_formatted),
        cmocka_unit_test(test_url_part),
        cmocka_unit_test(test_grows_past_its_first_block),
    };
    return cmocka_run_group_tests_name("html", tests, setup, teardown);
}
