/* gcs — the Cloud Storage JSON API calls the service makes with the pool's own credentials:
 * objects.insert as a simple upload (POST {endpoint}/upload/storage/v1/b/BUCKET/o
 * ?uploadType=media&name=NAME), which writes the object whole or not at all and replaces an
 * object of that name (a new generation), and objects.get of an object's data (GET
 * {endpoint}/storage/v1/b/BUCKET/o/NAME?alt=media).
 *
 * One attempt per call: a caller that fails keeps its work and tries again on its own backoff.
 * Errors are values with a message that names the object and Google's answer, never the token.
 * Every call is counted in the scoreboard (scoreboard_count_call) by its method and route.
 *
 * Memory: nothing is kept between calls; DATA is borrowed. */
#ifndef RT_GCS_H
#define RT_GCS_H

#include <stddef.h>

#include "fetch.h"
#include "gauth.h"

typedef enum {
    GCS_OK,
    GCS_ERR_TRANSIENT, /* no answer, 408, 429, 5xx, or the token endpoint failed: try later */
    GCS_ERR_PERMANENT, /* 4xx: the request, the bucket or the credentials' rights are wrong */
    GCS_ERR_USAGE,     /* not a gs://BUCKET/OBJECT URI, or bad arguments */
} gcs_err;

const char *gcs_err_name(gcs_err e);

/* Splits "gs://BUCKET/OBJECT" into BUCKET and OBJECT (both non-empty): 0, or -1. */
int gcs_uri_split(const char *uri, char *bucket, size_t bucketlen, char *object, size_t objectlen);

/* Uploads LEN bytes of DATA as URI (gs://BUCKET/OBJECT) with CONTENT_TYPE, through ENDPOINT
 * ("https://storage.googleapis.com" or an emulator's), within TIMEOUT_MS. *HTTP_STATUS (may be
 * NULL) gets Google's status (0: none); WHY the problem. */
gcs_err gcs_upload(fetch_client *http, gauth *auth, const char *endpoint, const char *uri,
                   const char *content_type, const char *data, size_t len, long timeout_ms,
                   long *http_status, char *why, size_t whylen);

/* Reads object URI (gs://BUCKET/OBJECT) whole (objects.get with alt=media), at most MAX_BYTES
 * (more: GCS_ERR_PERMANENT). *DATA gets it (malloc'd, NUL-terminated; the caller frees it),
 * *LEN its size. A missing object is GCS_ERR_PERMANENT with *HTTP_STATUS 404. Counted as
 * "GET storage.objects.get". */
gcs_err gcs_read(fetch_client *http, gauth *auth, const char *endpoint, const char *uri,
                 size_t max_bytes, long timeout_ms, char **data, size_t *len, long *http_status,
                 char *why, size_t whylen);

#endif
