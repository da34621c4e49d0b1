/* jwks_curl — the JWK-set fetcher for the real endpoint (see jwks.h): libcurl, bounded in time
 * and size, TLS verified, Cache-Control max-age read from the response. Tests use a fake
 * fetcher; this one is tested against a loopback server in test_jwks_curl.c. */
#include "jwks.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *p;
    size_t n;
    long max_age;
} fetch_buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    fetch_buf *b = ud;
    size_t n = size * nmemb;
    if (b->n + n > JWKS_MAX_BODY)
        return 0;
    char *p = realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, data, n);
    b->p = p;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

/* Reads max-age (or no-store / no-cache, as 0) from a Cache-Control header line. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    fetch_buf *b = ud;
    size_t n = size * nmemb;
    static const char name[] = "cache-control:";
    if (n <= sizeof name - 1 || strncasecmp(line, name, sizeof name - 1) != 0 || n > 1024)
        return n;
    char value[1025];
    memcpy(value, line + sizeof name - 1, n - (sizeof name - 1));
    value[n - (sizeof name - 1)] = '\0';
    for (char *p = value; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *m = strstr(value, "max-age=");
    if (m) {
        char *end;
        long v = strtol(m + 8, &end, 10);
        if (end != m + 8 && v >= 0)
            b->max_age = v;
    }
    if (strstr(value, "no-store") || strstr(value, "no-cache"))
        b->max_age = 0;
    return n;
}

typedef enum { URL_REFUSED, URL_REMOTE, URL_LOOPBACK } url_kind;

/* https anywhere; http only to a loopback host (the emulator). */
static url_kind classify_url(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    url_kind kind = URL_REFUSED;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        int loopback = strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
                       strcmp(host, "[::1]") == 0;
        if (loopback && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0))
            kind = URL_LOOPBACK;
        else if (strcmp(scheme, "https") == 0)
            kind = URL_REMOTE;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return kind;
}

int jwks_fetch_curl(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    (void)ctx;
    url_kind kind = classify_url(url);
    if (kind == URL_REFUSED) {
        snprintf(err, errlen, "the JWKS URL must be https (or http to a loopback host)");
        return -1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    fetch_buf b = {NULL, 0, -1};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (kind == URL_LOOPBACK) /* a proxy from the environment cannot reach our loopback */
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200 || !b.p) {
        if (rc != CURLE_OK)
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        else
            snprintf(err, errlen, "HTTP status %ld", status);
        free(b.p);
        return -1;
    }
    *out = (jwks_body){b.p, b.n, b.max_age};
    return 0;
}
