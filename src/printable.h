/* printable — the one policy for text someone else sent that reaches a log line or an error
 * message (an attribute value, a JSON key, a parser's complaint quoting the input, Google's
 * error message).
 *
 * prt_text() renders bytes as text that is safe to show and to put between double quotes:
 *   - printable ASCII (0x20..0x7E) is kept, except `"` and `\`, which become `\"` and `\\`, so a
 *     rendering quoted in a message cannot close the quote or forge an escape;
 *   - tab, line feed and carriage return become `\t`, `\n`, `\r`; every other C0 control byte
 *     and DEL become `\xHH`;
 *   - valid UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF) is kept, except
 *     code points that control or hide how text is shown, which become `\u{HHHH}`: the C1
 *     controls (U+0080..U+009F), the bidirectional marks, embeddings, overrides and isolates
 *     (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), the other invisible format
 *     characters (U+00AD, U+180E, U+200B..U+200D, U+2028, U+2029, U+2060..U+2064,
 *     U+206A..U+206F, U+FEFF, U+FFF9..U+FFFB, the tags U+E0000..U+E007F) and the noncharacters
 *     (U+FDD0..U+FDEF and U+xxFFFE, U+xxFFFF);
 *   - a byte that does not belong to a valid UTF-8 sequence becomes `\xHH`;
 *   - the rendering is bounded: when the whole of it does not fit in OUTSIZE - 1 bytes, it is
 *     cut before the first unit (a character or an escape) that would not fit in OUTSIZE - 4
 *     bytes and ends in "...". A cut never splits a UTF-8 sequence or an escape.
 * So the result is valid UTF-8 without control, bidirectional or invisible characters and
 * without a bare quote or backslash: safe in JSON, in a terminal and inside "..." in a message.
 * The escapes are unambiguous: a `\` in the result always starts one.
 *
 * Memory: the caller's buffer; nothing is allocated. */
#ifndef RT_PRINTABLE_H
#define RT_PRINTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A buffer for the usual echo: 64 bytes of rendering, "..." and the NUL. */
#define PRT_ECHO_SIZE 68

/* Renders LEN bytes of IN into OUT as described above; returns OUT. OUTSIZE must be at least 4
 * (room for "..."); a smaller buffer receives "". */
const char *prt_text(char *out, size_t outsize, const void *in, size_t len);

/* prt_text() of the NUL-terminated S (NULL renders as ""). */
const char *prt_str(char *out, size_t outsize, const char *s);

/* The UTF-8 decoder the policy uses: the length of the valid sequence at S (LEN > 0 bytes left)
 * with its code point in *CP, or 0 when S does not start one (a bad lead or continuation byte,
 * an overlong form, a surrogate, past U+10FFFF, cut short). */
size_t prt_utf8_next(const void *s, size_t len, uint32_t *cp);

/* Whether LEN bytes of S are valid UTF-8 (RFC 3629) without NUL. */
bool prt_utf8_valid(const void *s, size_t len);

/* Whether prt_text() would keep LEN bytes of S as they are, quotes and backslashes aside: valid
 * UTF-8 without any control, bidirectional, invisible or noncharacter code point. */
bool prt_is_printable(const void *s, size_t len);

#endif
