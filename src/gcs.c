/* gcs — see gcs.h. */
#include "gcs.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoreboard.h"

#define GCS_NAME_MAX 1024 /* Cloud Storage's limit on an object name, in bytes */
#define GCS_BUCKET_MAX 222

const char *gcs_err_name(gcs_err e)
{
    switch (e) {
    case GCS_OK:
        return "ok";
    case GCS_ERR_TRANSIENT:
        return "transient";
    case GCS_ERR_PERMANENT:
        return "permanent";
    case GCS_ERR_USAGE:
        return "usage";
    }
    return "unknown";
}

int gcs_uri_split(const char *uri, char *bucket, size_t bucketlen, char *object, size_t objectlen)
{
    if (!uri || strncmp(uri, "gs://", 5) != 0)
        return -1;
    const char *b = uri + 5, *slash = strchr(b, '/');
    if (!slash || slash == b || !slash[1] || (size_t)(slash - b) >= bucketlen ||
        strlen(slash + 1) >= objectlen || strlen(slash + 1) > GCS_NAME_MAX)
        return -1;
    snprintf(bucket, bucketlen, "%.*s", (int)(slash - b), b);
    snprintf(object, objectlen, "%s", slash + 1);
    return 0;
}

/* Google's error message in BODY ({"error":{"message":…}}), or "". */
static void google_message(const char *body, size_t len, char *out, size_t outlen)
{
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
    snprintf(out, outlen, "%.300s", msg ? msg : "");
    json_decref(doc);
}

/* One request with the pool's token: METHOD on URL (an object's) with BODY (may be NULL).
 * ROUTE names it in the scoreboard. On GCS_OK, *ANSWER holds the response (the caller frees it
 * with fetch_answer_free); otherwise it is freed and WHY says what failed. */
static gcs_err call(fetch_client *http, gauth *auth, const char *method, const char *url,
                    const char *route, const char *content_type, const char *data, size_t len,
                    size_t max_body, long timeout_ms, const char *uri, fetch_answer *answer,
                    long *http_status, char *why, size_t whylen)
{
    memset(answer, 0, sizeof *answer);
    const char *token;
    char terr[256];
    gauth_err ge = gauth_token(auth, timeout_ms, &token, terr, sizeof terr);
    if (ge != GAUTH_OK) {
        snprintf(why, whylen, "%s: access token: %.200s", uri, terr);
        return GCS_ERR_TRANSIENT;
    }
    /* The bearer header holds the token: locked memory, wiped when freed. */
    size_t alen = strlen(token) + sizeof "Authorization: Bearer ";
    char *authz = sodium_malloc(alen);
    if (!authz) {
        snprintf(why, whylen, "out of memory");
        return GCS_ERR_TRANSIENT;
    }
    snprintf(authz, alen, "Authorization: Bearer %s", token);
    char ctype[160];
    snprintf(ctype, sizeof ctype, "Content-Type: %.140s", content_type ? content_type : "");
    const char *headers[] = {authz, "Accept: application/json", content_type ? ctype : NULL, NULL};
    fetch_call fc = {.method = method,
                     .url = url,
                     .headers = headers,
                     .body = data,
                     .body_len = len,
                     .max_body = max_body,
                     .timeout_ms = timeout_ms};
    fetch_err fe = fetch_do(http, &fc, answer);
    sodium_free(authz);
    scoreboard_count_call(route, fe == FETCH_OK ? answer->status : 0);
    gcs_err e = GCS_OK;
    if (fe != FETCH_OK) {
        snprintf(why, whylen, "%s: %s (%.120s)", uri, fetch_err_name(fe), answer->detail);
        e = fe == FETCH_ERR_TOO_BIG ? GCS_ERR_PERMANENT : GCS_ERR_TRANSIENT;
    } else if (answer->status < 200 || answer->status > 299) {
        char msg[320];
        google_message(answer->body, answer->body_len, msg, sizeof msg);
        *http_status = answer->status;
        snprintf(why, whylen, "%s: HTTP %ld%s%s", uri, answer->status, msg[0] ? ": " : "", msg);
        e = answer->status == 408 || answer->status == 429 || answer->status >= 500
                ? GCS_ERR_TRANSIENT
                : GCS_ERR_PERMANENT;
        if (answer->status == 401)
            gauth_invalidate(auth); /* the next attempt fetches a fresh token */
    } else {
        *http_status = answer->status;
    }
    if (e != GCS_OK)
        fetch_answer_free(answer);
    return e;
}

/* The escaped bucket and object of URI in the URL FMT ("%s/…/b/%s/o…%s"), or NULL. */
static char *object_url(const char *fmt, const char *endpoint, const char *bucket,
                        const char *object)
{
    char *b = curl_easy_escape(NULL, bucket, 0), *o = curl_easy_escape(NULL, object, 0);
    char *url = NULL;
    if (!b || !o || asprintf(&url, fmt, endpoint, b, o) < 0)
        url = NULL;
    curl_free(b);
    curl_free(o);
    return url;
}

gcs_err gcs_upload(fetch_client *http, gauth *auth, const char *endpoint, const char *uri,
                   const char *content_type, const char *data, size_t len, long timeout_ms,
                   long *http_status, char *why, size_t whylen)
{
    long ignored = 0;
    http_status = http_status ? http_status : &ignored;
    *http_status = 0;
    char bucket[GCS_BUCKET_MAX + 1], object[GCS_NAME_MAX + 1];
    if (!http || !auth || !endpoint || !content_type || (!data && len) || timeout_ms <= 0 ||
        gcs_uri_split(uri, bucket, sizeof bucket, object, sizeof object) != 0) {
        snprintf(why, whylen, "not a gs://BUCKET/OBJECT URI, or bad arguments");
        return GCS_ERR_USAGE;
    }
    char *url = object_url("%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s", endpoint, bucket,
                           object);
    if (!url) {
        snprintf(why, whylen, "out of memory");
        return GCS_ERR_TRANSIENT;
    }
    fetch_answer r;
    gcs_err e = call(http, auth, "POST", url, "POST storage.objects.insert", content_type, data,
                     len, 0, timeout_ms, uri, &r, http_status, why, whylen);
    free(url);
    if (e == GCS_OK)
        fetch_answer_free(&r);
    return e;
}

gcs_err gcs_read(fetch_client *http, gauth *auth, const char *endpoint, const char *uri,
                 size_t max_bytes, long timeout_ms, char **data, size_t *len, long *http_status,
                 char *why, size_t whylen)
{
    long ignored = 0;
    http_status = http_status ? http_status : &ignored;
    *http_status = 0;
    *data = NULL;
    *len = 0;
    char bucket[GCS_BUCKET_MAX + 1], object[GCS_NAME_MAX + 1];
    if (!http || !auth || !endpoint || timeout_ms <= 0 || max_bytes == 0 ||
        gcs_uri_split(uri, bucket, sizeof bucket, object, sizeof object) != 0) {
        snprintf(why, whylen, "not a gs://BUCKET/OBJECT URI, or bad arguments");
        return GCS_ERR_USAGE;
    }
    char *url = object_url("%s/storage/v1/b/%s/o/%s?alt=media", endpoint, bucket, object);
    if (!url) {
        snprintf(why, whylen, "out of memory");
        return GCS_ERR_TRANSIENT;
    }
    fetch_answer r;
    gcs_err e = call(http, auth, "GET", url, "GET storage.objects.get", NULL, NULL, 0, max_bytes,
                     timeout_ms, uri, &r, http_status, why, whylen);
    free(url);
    if (e != GCS_OK)
        return e;
    *data = r.body; /* taken from the answer */
    *len = r.body_len;
    r.body = NULL;
    fetch_answer_free(&r);
    return GCS_OK;
}
