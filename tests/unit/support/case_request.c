/* case_request — see case_request.h. */
#include "case_request.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* nginx's view of a header name: letters, digits and '-' only (ignore_invalid_headers,
 * underscores_in_headers off); anything else never reaches the pool. */
static bool nginx_passes(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

/* PATH[0..N) with %HH decoded, in A. */
static char *decoded(arena *a, const char *path, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (path[i] == '%' && i + 2 < n && case_hexval(path[i + 1]) >= 0 &&
            case_hexval(path[i + 2]) >= 0) {
            out[k++] = (char)(case_hexval(path[i + 1]) << 4 | case_hexval(path[i + 2]));
            i += 2;
        } else {
            out[k++] = path[i];
        }
    }
    if (out)
        out[k] = '\0';
    return out;
}

char **case_fcgi_params(arena *a, const char *method, const char *uri, const case_item *headers,
                        size_t n_headers, size_t body_len)
{
    char **envp = arena_alloc(a, (n_headers + 8) * sizeof *envp);
    if (!envp)
        return NULL;
    size_t n = 0;
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    envp[n++] = arena_printf(a, "REQUEST_METHOD=%s", method);
    envp[n++] = arena_printf(a, "DOCUMENT_URI=%s", decoded(a, uri, plen));
    envp[n++] = arena_printf(a, "QUERY_STRING=%s", q ? q + 1 : "");
    envp[n++] = arena_printf(a, "REQUEST_URI=%s", uri);
    envp[n++] = arena_printf(a, "CONTENT_LENGTH=%zu", body_len);
    for (size_t i = 0; i < n_headers; i++) {
        const case_item *h = &headers[i];
        if (!nginx_passes(h->key) || strcasecmp(h->key, "content-length") == 0)
            continue;
        if (strcasecmp(h->key, "content-type") == 0) {
            envp[n++] = arena_printf(a, "CONTENT_TYPE=%s", h->value);
            continue;
        }
        char *param = arena_printf(a, "HTTP_%s=%s", h->key, h->value);
        for (char *p = param + 5; *p != '='; p++)
            *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        envp[n++] = param;
    }
    envp[n] = NULL;
    return envp;
}
