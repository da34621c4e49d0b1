/* jwks_http — the JWK-set fetcher for the real endpoint (see jwks.h), over the project's one
 * HTTP client (fetch.h): bounded in time and size, TLS verified, Cache-Control max-age read from
 * the answer. Tests use a fake fetcher; this one is tested against a loopback server in
 * test_jwks_http.c. */
#include "jwks.h"

#include "fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* https anywhere; http only to a loopback host (the emulator). */
static bool url_allowed(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        bool loopback = strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
                        strcmp(host, "[::1]") == 0;
        ok = strcmp(scheme, "https") == 0 || (loopback && strcmp(scheme, "http") == 0);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

int jwks_fetch_http(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    if (!url_allowed(url)) {
        snprintf(err, errlen, "the JWKS URL must be https (or http to a loopback host)");
        return -1;
    }
    /* A set is fetched every few hours: a client of its own per fetch unless one is lent. */
    fetch_client *own = ctx ? NULL : fetch_new();
    fetch_client *c = ctx ? ctx : own;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fetch_call call = {.method = "GET",
                       .url = url,
                       .timeout_ms = 5000,
                       .connect_timeout_ms = 3000,
                       .max_body = JWKS_MAX_BODY};
    fetch_answer a;
    fetch_err e = fetch_do(c, &call, &a);
    fetch_free(own);
    if (e != FETCH_OK || a.status != 200) {
        if (e != FETCH_OK)
            snprintf(err, errlen, "%s: %s", fetch_err_name(e), a.detail);
        else
            snprintf(err, errlen, "HTTP status %ld", a.status);
        fetch_answer_free(&a);
        return -1;
    }
    *out = (jwks_body){a.body, a.body_len, a.max_age_s};
    return 0;
}
