/* Unit tests for printable: one test per character class of the policy (printable ASCII, quotes
 * and backslash, C0 controls and DEL, valid UTF-8, C1 controls, bidirectional controls, other
 * invisible characters, noncharacters, invalid UTF-8), then the bound (the ellipsis, a cut never
 * inside a multi-byte character or an escape) and the two predicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "printable.h"

static const char *render(const char *s, size_t n)
{
    static char out[256];
    return prt_text(out, sizeof out, s, n);
}

#define R(lit) render(lit, sizeof(lit) - 1)

static void test_printable_ascii_is_kept(void **state)
{
    (void)state;
    assert_string_equal(R("objects/data/train.csv"), "objects/data/train.csv");
    assert_string_equal(R(" ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"), " ~!#$%&'()*+,-./:;<=>?@[]^_`{|}");
    assert_string_equal(R(""), "");
    assert_string_equal(prt_str((char[8]){0}, 8, NULL), "");
}

static void test_quotes_and_backslash(void **state)
{
    (void)state;
    assert_string_equal(R("say \"hi\""), "say \\\"hi\\\"");
    assert_string_equal(R("C:\\path\\x41"), "C:\\\\path\\\\x41");
    /* The rendering cannot close the quotes a message puts around it: every quote in it is
     * escaped. */
    const char *r = R("\"; forged=\"1");
    assert_string_equal(r, "\\\"; forged=\\\"1");
    for (const char *q = strchr(r, '"'); q; q = strchr(q + 1, '"'))
        assert_true(q > r && q[-1] == '\\');
}

static void test_control_bytes(void **state)
{
    (void)state;
    assert_string_equal(R("a\tb\nc\rd"), "a\\tb\\nc\\rd");
    assert_string_equal(R("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
    assert_string_equal(R("nul\0byte"), "nul\\x00byte");
    assert_string_equal(R("del\x7f"), "del\\x7F");
    assert_string_equal(R("\x01\x1f"), "\\x01\\x1F");
}

static void test_valid_utf8_is_kept(void **state)
{
    (void)state;
    assert_string_equal(R("donn\xc3\xa9"
                          "es/\xe2\x82\xac/\xf0\x9f\x98\x80.csv"),
                        "donn\xc3\xa9"
                        "es/\xe2\x82\xac/\xf0\x9f\x98\x80.csv");
    assert_string_equal(R("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"), "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
}

static void test_c1_controls(void **state)
{
    (void)state;
    assert_string_equal(R("a\xc2\x80z"), "a\\u{0080}z");
    assert_string_equal(R("\xc2\x9b"
                          "31m"),
                        "\\u{009B}31m");             /* CSI */
    assert_string_equal(R("\xc2\x85"), "\\u{0085}"); /* NEL */
}

static void test_bidi_controls(void **state)
{
    (void)state;
    /* "invoice_\u202Efdp.exe" shows as "invoice_exe.pdf" */
    assert_string_equal(R("invoice_\xe2\x80\xae"
                          "fdp.exe"),
                        "invoice_\\u{202E}fdp.exe");
    const struct {
        const char *in, *want;
    } cases[] = {
        {"\xe2\x80\xaa", "\\u{202A}"}, {"\xe2\x80\xab", "\\u{202B}"}, {"\xe2\x80\xac", "\\u{202C}"},
        {"\xe2\x80\xad", "\\u{202D}"}, {"\xe2\x81\xa6", "\\u{2066}"}, {"\xe2\x81\xa7", "\\u{2067}"},
        {"\xe2\x81\xa8", "\\u{2068}"}, {"\xe2\x81\xa9", "\\u{2069}"}, {"\xe2\x80\x8e", "\\u{200E}"},
        {"\xe2\x80\x8f", "\\u{200F}"}, {"\xd8\x9c", "\\u{061C}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(render(cases[i].in, strlen(cases[i].in)), cases[i].want);
}

static void test_invisible_and_noncharacters(void **state)
{
    (void)state;
    assert_string_equal(R("a\xe2\x80\x8b"
                          "b"),
                        "a\\u{200B}b"); /* zero width space */
    assert_string_equal(R("\xef\xbb\xbf"
                          "x"),
                        "\\u{FEFF}x"); /* BOM */
    assert_string_equal(R("soft\xc2\xad"
                          "hyphen"),
                        "soft\\u{00AD}hyphen");
    assert_string_equal(R("line\xe2\x80\xa8"
                          "sep"),
                        "line\\u{2028}sep");
    assert_string_equal(R("\xf3\xa0\x80\x81"), "\\u{E0001}"); /* language tag */
    assert_string_equal(R("\xef\xbf\xbe\xef\xbf\xbf"), "\\u{FFFE}\\u{FFFF}");
    assert_string_equal(R("\xef\xb7\x90"), "\\u{FDD0}");
    assert_string_equal(R("\xf4\x8f\xbf\xbf"), "\\u{10FFFF}");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(R("acme\xfd"), "acme\\xFD");
    assert_string_equal(R("\xc0\xa0"), "\\xC0\\xA0");                   /* overlong space */
    assert_string_equal(R("\xed\xa0\x80"), "\\xED\\xA0\\x80");          /* a surrogate */
    assert_string_equal(R("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80"); /* past U+10FFFF */
    assert_string_equal(R("cut\xe2\x82"), "cut\\xE2\\x82");             /* a sequence cut short */
    assert_string_equal(R("\x80x"), "\\x80x"); /* a stray continuation byte */
    assert_string_equal(R("\xc3(\xa9"), "\\xC3(\\xA9");
}

static void test_bounded_with_ellipsis(void **state)
{
    (void)state;
    char in[1000], out[PRT_ECHO_SIZE];
    memset(in, 'x', sizeof in);
    prt_text(out, sizeof out, in, sizeof in);
    assert_int_equal(strlen(out), 67);
    assert_string_equal(out + 64, "...");
    assert_int_equal(strspn(out, "x"), 64);
    /* Exactly what fits is not cut. */
    prt_text(out, sizeof out, in, 67);
    assert_int_equal(strlen(out), 67);
    assert_null(strstr(out, "..."));
    prt_text(out, sizeof out, in, 68);
    assert_string_equal(out + 64, "...");
    /* The smallest buffer holds the ellipsis alone; smaller ones hold nothing. */
    char tiny[4];
    assert_string_equal(prt_text(tiny, sizeof tiny, in, 10), "...");
    assert_string_equal(prt_text(tiny, 3, in, 10), "");
}

static void test_cut_never_splits_a_character_or_an_escape(void **state)
{
    (void)state;
    /* 63 ASCII bytes then a 2-byte character: it does not fit before "...", so it goes whole. */
    char in[200], out[PRT_ECHO_SIZE];
    memset(in, 'a', 63);
    memcpy(in + 63, "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
    prt_text(out, sizeof out, in, 69);
    assert_int_equal(strlen(out), 66);
    assert_string_equal(out + 63, "...");
    assert_true(prt_utf8_valid(out, strlen(out)));
    /* A 4-byte emoji straddling the bound. */
    memset(in, 'a', 62);
    memcpy(in + 62, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8);
    prt_text(out, sizeof out, in, 70);
    assert_string_equal(out + 62, "...");
    /* An escape straddling the bound. */
    memset(in, 'a', 61);
    memcpy(in + 61, "\x01\x01\x01\x01", 4);
    prt_text(out, sizeof out, in, 65);
    assert_string_equal(out + 61, "...");
    /* Every length of a mixed input gives valid, printable UTF-8 within the bound. */
    const char mixed[] = "\xc3\xa9\"\\\x01\xe2\x80\xae\xf0\x9f\x98\x80\xfd"
                         "ab";
    for (size_t size = 4; size < 40; size++) {
        char buf[40];
        prt_text(buf, size, mixed, sizeof mixed - 1);
        assert_true(strlen(buf) < size);
        assert_true(prt_utf8_valid(buf, strlen(buf)));
        assert_true(prt_is_printable(buf, strlen(buf)));
    }
}

static void test_predicates(void **state)
{
    (void)state;
    assert_true(prt_utf8_valid("caf\xc3\xa9", 5));
    assert_false(prt_utf8_valid("a\0b", 3));
    assert_false(prt_utf8_valid("\xc3", 1));
    assert_true(prt_utf8_valid("\xe2\x80\xae", 3)); /* valid, though not printable */
    assert_false(prt_is_printable("\xe2\x80\xae", 3));
    assert_false(prt_is_printable("a\nb", 3));
    assert_false(prt_is_printable("\xc2\x85", 2));
    assert_true(prt_is_printable("say \"caf\xc3\xa9\"", 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_ascii_is_kept),
        cmocka_unit_test(test_quotes_and_backslash),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_valid_utf8_is_kept),
        cmocka_unit_test(test_c1_controls),
        cmocka_unit_test(test_bidi_controls),
        cmocka_unit_test(test_invisible_and_noncharacters),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_bounded_with_ellipsis),
        cmocka_unit_test(test_cut_never_splits_a_character_or_an_escape),
        cmocka_unit_test(test_predicates),
    };
    return cmocka_run_group_tests_name("printable", tests, NULL, NULL);
}
