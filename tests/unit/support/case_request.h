/* case_request — test-only: a case's request as nginx hands it to the pool, so the unit runners
 * see what the pool sees behind nginx (nginx/fastcgi.conf.template).
 *
 * The parameters: REQUEST_METHOD; DOCUMENT_URI, the path with its percent-escapes decoded (as
 * nginx's $uri), QUERY_STRING and REQUEST_URI as sent; CONTENT_LENGTH; CONTENT_TYPE; and each
 * other header as HTTP_NAME. Headers nginx would not pass (a name with anything but letters,
 * digits and '-') are left out, and so is Content-Length (nginx sends the body's own). */
#ifndef TEST_CASE_REQUEST_H
#define TEST_CASE_REQUEST_H

#include <stddef.h>

#include "arena.h"
#include "case_file.h"

/* NULL-terminated "NAME=value" strings in A, for glue_request_from_params(). */
char **case_fcgi_params(arena *a, const char *method, const char *uri, const case_item *headers,
                        size_t n_headers, size_t body_len);

#endif
