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
    const char *token;
    char terr[256];
    gauth_err ge = gauth_token(auth, timeout_ms, &token, terr, sizeof terr);
    if (ge != GAUTH_OK) {
        snprintf(why, whylen, "%s: access token: %.200s", uri, terr);
        return GCS_ERR_TRANSIENT;
    }
    char *b = curl_easy_escape(NULL, bucket, 0), *o = curl_easy_escape(NULL, object, 0);
    char *url = NULL;
    if (!b || !o ||
        asprintf(&url, "%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s", endpoint, b, o) < 0)
        url = NULL;
    curl_free(b);
    curl_free(o);
    size_t alen = strlen(token) + sizeof "Authorization: Bearer ";
    char *authz = sodium_malloc(alen);
    char ctype[160];
    snprintf(ctype, sizeof ctype, "Content-Type: %.140s", content_type);
    if (!url || !authz) {
        free(url);
        if (authz)
            sodium_free(authz);
        snprintf(why, whylen, "out of memory");
        return GCS_ERR_TRANSIENT;
    }
    snprintf(authz, alen, "Authorization: Bearer %s", token);
    const char *headers[] = {authz, ctype, "Accept: application/json", NULL};
    fetch_call call = {.method = "POST",
                       .url = url,
                       .headers = headers,
                       .body = data,
                       .body_len = len,
                       .timeout_ms = timeout_ms};
    fetch_answer r;
    fetch_err fe = fetch_do(http, &call, &r);
    sodium_free(authz);
    free(url);
    scoreboard_count_call("POST storage.objects.insert", fe == FETCH_OK ? r.status : 0);
    gcs_err e = GCS_OK;
    if (fe != FETCH_OK) {
        snprintf(why, whylen, "%s: %s (%.120s)", uri, fetch_err_name(fe), r.detail);
        e = GCS_ERR_TRANSIENT;
    } else if (r.status < 200 || r.status > 299) {
        char msg[320];
        google_message(r.body, r.body_len, msg, sizeof msg);
        *http_status = r.status;
        snprintf(why, whylen, "%s: HTTP %ld%s%s", uri, r.status, msg[0] ? ": " : "", msg);
        e = r.status == 408 || r.status == 429 || r.status >= 500 ? GCS_ERR_TRANSIENT
                                                                  : GCS_ERR_PERMANENT;
        if (r.status == 401)
            gauth_invalidate(auth); /* the next attempt fetches a fresh token */
    } else {
        *http_status = r.status;
    }
    fetch_answer_free(&r);
    return e;
}
