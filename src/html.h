/* html — an HTML document built in a request's arena, with one escaping policy for every byte
 * that did not come from our own templates.
 *
 * html_raw()/html_rawf() append markup we wrote (a tag, a number); html_text()/html_textf()
 * append text anyone may have sent (an object name, Google's error message, a rule's name) so
 * that it shows as text and nothing else, in element content and inside a quoted attribute
 * value alike:
 *   - `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#39;`;
 *   - tab and line feed are kept; every other C0 control byte, DEL, a byte that does not belong
 *     to valid UTF-8, and each code point printable.h would not keep as it is (C1 controls,
 *     bidirectional and invisible characters, noncharacters) become U+FFFD, the replacement
 *     character, so nothing can reorder or hide what the page shows;
 *   - the rest of valid UTF-8 is kept.
 * html_url_part() appends a URL query value percent-encoded (RFC 3986: all but the unreserved
 * characters), safe inside an href.
 *
 * Memory: everything lives in the arena given to html_new(); nothing is freed singly. Running out
 * of memory is sticky: later calls do nothing and html_done() returns NULL. */
#ifndef RT_HTML_H
#define RT_HTML_H

#include <stddef.h>

#include "arena.h"

typedef struct html html;

/* A new, empty document in A; NULL when memory runs out. */
html *html_new(arena *a);

void html_raw(html *h, const char *markup);
void html_rawf(html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The escaped form of S (NULL: nothing), of LEN bytes of S, or of a formatted string. */
void html_text(html *h, const char *s);
void html_textn(html *h, const char *s, size_t len);
void html_textf(html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* S (NULL: nothing) percent-encoded as a URL query value. */
void html_url_part(html *h, const char *s);

/* The document, NUL-terminated, and its length in *LEN; NULL when memory ran out. The text stays
 * valid until the arena is reset. */
const char *html_done(html *h, size_t *len);

#endif
