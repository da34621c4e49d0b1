/* glue — see glue.h. */
#include "glue.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HTTP_CE_SPECVERSION -> ce-specversion */
static char *header_name(arena *a, const char *cgi, size_t n)
{
    char *name = arena_strndup(a, cgi, n);
    if (name)
        for (char *p = name; *p; p++)
            *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    return name;
}

/* RFC 9110 §5.5: a field value excludes leading and trailing optional whitespace (SP, HTAB).
 * nginx strips spaces over HTTP/1.1 and passes HTTP/2 values as sent; trimming here, where the
 * parameters become headers, gives every header the same value whatever the protocol. Sets *N. */
static const char *trim_ows(const char *v, size_t *n)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t k = strlen(v);
    while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'))
        k--;
    *n = k;
    return v;
}

int glue_request_from_params(char *const *envp, arena *a, http_request *req)
{
    size_t count = 0;
    for (char *const *e = envp; *e; e++)
        count++;
    http_header *headers = arena_alloc(a, (count ? count : 1) * sizeof *headers);
    if (!headers)
        return -1;
    memset(req, 0, sizeof *req);
    req->method = "GET";
    req->query = "";
    req->remote_addr = "";
    const char *request_uri = NULL;
    size_t n = 0;
    for (char *const *e = envp; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - *e);
        const char *value = eq + 1;
        const char *name = NULL;
        if (klen > 5 && strncmp(*e, "HTTP_", 5) == 0)
            name = header_name(a, *e + 5, klen - 5);
        else if (klen == 12 && strncmp(*e, "CONTENT_TYPE", 12) == 0)
            name = "content-type";
        else if (klen == 14 && strncmp(*e, "CONTENT_LENGTH", 14) == 0)
            name = "content-length";
        else if (klen == 14 && strncmp(*e, "REQUEST_METHOD", 14) == 0)
            req->method = value;
        else if (klen == 12 && strncmp(*e, "DOCUMENT_URI", 12) == 0)
            req->path = value;
        else if (klen == 11 && strncmp(*e, "REQUEST_URI", 11) == 0)
            request_uri = value;
        else if (klen == 12 && strncmp(*e, "QUERY_STRING", 12) == 0)
            req->query = value;
        else if (klen == 11 && strncmp(*e, "REMOTE_ADDR", 11) == 0)
            req->remote_addr = value;
        if (klen > 5 && !name && strncmp(*e, "HTTP_", 5) == 0)
            return -1;
        size_t vlen = 0;
        const char *trimmed = name ? trim_ows(value, &vlen) : NULL;
        if (name && vlen > 0) { /* an empty value counts as absent */
            headers[n].name = name;
            headers[n].value = trimmed[vlen] ? arena_strndup(a, trimmed, vlen) : trimmed;
            if (!headers[n].value)
                return -1;
            n++;
        }
    }
    if (!req->path) { /* no DOCUMENT_URI: take REQUEST_URI up to the query */
        const char *uri = request_uri ? request_uri : "/";
        req->path = arena_strndup(a, uri, strcspn(uri, "?"));
        if (!req->path)
            return -1;
    }
    req->headers = headers;
    req->n_headers = n;
    return 0;
}

long glue_content_length(const http_request *req)
{
    const char *v = http_header_get(req, "content-length");
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0)
        return -1;
    return n;
}

char *glue_response_head(const http_response *resp, arena *a, size_t *len)
{
    const char *type = resp->content_type ? resp->content_type : "application/json";
    static const char fmt[] = "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n";
    /* One allocation: the fixed lines, each extra header, the blank line. */
    size_t cap = sizeof fmt + 3 + strlen(http_status_text(resp->status)) + strlen(type) + 20 + 2;
    for (size_t i = 0; i < resp->n_headers; i++)
        cap += strlen(resp->headers[i].name) + strlen(resp->headers[i].value) + 4;
    char *head = arena_alloc(a, cap);
    if (!head)
        return NULL;
    size_t n = (size_t)snprintf(head, cap, fmt, resp->status, http_status_text(resp->status), type,
                                resp->body_len);
    for (size_t i = 0; i < resp->n_headers; i++)
        n += (size_t)snprintf(head + n, cap - n, "%s: %s\r\n", resp->headers[i].name,
                              resp->headers[i].value);
    n += (size_t)snprintf(head + n, cap - n, "\r\n");
    *len = n;
    return head;
}
