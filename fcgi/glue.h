/* glue — FastCGI parameters and streams to and from the transport-neutral http_request.
 *
 * nginx passes the request line and headers as CGI parameters (REQUEST_METHOD, DOCUMENT_URI,
 * QUERY_STRING, CONTENT_TYPE, HTTP_CE_ID, ...). glue turns them back into lower-case header
 * names ("ce-id") so src/ never sees CGI conventions, and turns an http_response into the CGI
 * response head (Status:, Content-Type:, ...). Every header value is trimmed of optional whitespace
 * (SP, HTAB; RFC 9110 §5.5), as HTTP/1.1 and HTTP/2 deliver it differently, and a header left
 * empty counts as absent. All memory comes from the request's arena. */
#ifndef POOL_GLUE_H
#define POOL_GLUE_H

#include <stddef.h>

#include "arena.h"
#include "http_request.h"

#define GLUE_MAX_BODY (1024 * 1024) /* nginx refuses larger bodies first (413) */

/* Fills REQ (without the body) from the NULL-terminated "NAME=value" array ENVP.
 * Returns 0, or -1 on OOM. */
int glue_request_from_params(char *const *envp, arena *a, http_request *req);

/* The declared body length (CONTENT_LENGTH), or 0 when absent; -1 when it is not a number. */
long glue_content_length(const http_request *req);

/* Writes the CGI response head for RESP into the arena; *LEN receives its length. */
char *glue_response_head(const http_response *resp, arena *a, size_t *len);

#endif
