/* gauth — OAuth 2 access tokens for Google APIs (scope cloud-platform), for one worker.
 *
 * The source is chosen once, at open, in the order Google's client libraries use:
 *   1. a service-account key file (GOOGLE_APPLICATION_CREDENTIALS): the JWT-bearer grant,
 *      POSTed to the file's token_uri with an RS256 assertion (see gauth_key.h);
 *   2. the metadata server (GCE_METADATA_HOST, default metadata.google.internal):
 *      GET /computeMetadata/v1/instance/service-accounts/default/token with
 *      Metadata-Flavor: Google. The default host is probed with a short connect timeout so a
 *      machine outside Google Cloud falls through quickly; a host set explicitly is trusted;
 *   3. a static token (RETRAIN_ACCESS_TOKEN), for development only: a warning is logged.
 * A bad key file is an error at open, not a fall-through.
 *
 * The token is cached and fetched again GAUTH_REFRESH_MARGIN_S seconds before it expires.
 * gauth_invalidate() drops it, so that a 401 from Google makes the next gauth_token() fetch a
 * fresh one. The token's text never reaches a log line or an error message.
 *
 * Not thread-safe: one gauth per worker (the pool's workers are processes). */
#ifndef RT_GAUTH_H
#define RT_GAUTH_H

#include "fetch.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define GAUTH_REFRESH_MARGIN_S 225
#define GAUTH_DEFAULT_METADATA_HOST "metadata.google.internal"
#define GAUTH_PROBE_CONNECT_MS 500

typedef enum {
    GAUTH_OK,
    GAUTH_ERR_CONFIG,    /* bad key file or options (fatal at start) */
    GAUTH_ERR_NO_SOURCE, /* no key file, no metadata server, no static token */
    GAUTH_ERR_TRANSIENT, /* token endpoint unreachable, timed out, 5xx or 429, bad answer */
    GAUTH_ERR_DENIED,    /* the token endpoint refused us (other 4xx) */
    GAUTH_ERR_NOMEM,
} gauth_err;

const char *gauth_err_name(gauth_err e);

typedef enum {
    GAUTH_SOURCE_KEY_FILE,
    GAUTH_SOURCE_METADATA,
    GAUTH_SOURCE_STATIC,
} gauth_source;

const char *gauth_source_name(gauth_source s);

/* Seconds since the epoch, for the cache's expiry decisions; tests pass a fake clock. (The
 * assertion sent to the token endpoint is always stamped with the real time.) */
typedef time_t (*gauth_clock)(void *ctx);

typedef struct {
    const char *key_file;      /* path, or NULL */
    const char *metadata_host; /* "host[:port]", or NULL to skip the metadata server */
    bool probe_metadata;       /* check at open that METADATA_HOST answers; else fall through */
    const char *static_token;  /* or NULL */
    fetch_client *http;        /* borrowed, must outlive the gauth; NULL: gauth makes its own */
    gauth_clock now;           /* NULL: time() */
    void *now_ctx;
} gauth_options;

/* Fills OPT from the environment (GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST,
 * RETRAIN_ACCESS_TOKEN). The strings are borrowed from the environment. */
void gauth_options_from_env(gauth_options *opt);

typedef struct gauth gauth;

/* Opens the first source that OPT offers. On failure returns the error and writes a message
 * into ERR (naming a key file's bad field, never its value); *OUT is NULL then. */
gauth_err gauth_open(const gauth_options *opt, gauth **out, char *err, size_t errlen);

/* Frees everything, the private key included. NULL allowed. */
void gauth_close(gauth *g);

gauth_source gauth_get_source(const gauth *g);

/* A valid access token in *TOKEN (borrowed: valid until the next call on G), fetching one when
 * the cache is empty or within the margin of expiry, with TIMEOUT_MS for the fetch. On failure
 * ERR says why, without the token. */
gauth_err gauth_token(gauth *g, long timeout_ms, const char **token, char *err, size_t errlen);

/* Forgets the cached token (after a 401). A static token cannot be refreshed: invalidating it
 * makes the next gauth_token() return it again. */
void gauth_invalidate(gauth *g);

/* Token fetches performed so far (for tests and metrics). */
long gauth_fetches(const gauth *g);

/* The cache policy, exposed for tests: true when a token expiring at EXPIRY must be replaced at
 * NOW. */
bool gauth_needs_refresh(time_t expiry, time_t now);

/* Parses a token endpoint's answer ({"access_token","expires_in","token_type"}). On success
 * returns 0, *TOKEN is a sodium_malloc'd copy (free with sodium_free) and *EXPIRY is
 * NOW + expires_in. On failure returns -1 with ERR naming the bad field. */
int gauth_parse_token_response(const char *body, size_t len, time_t now, char **token,
                               time_t *expiry, char *err, size_t errlen);

#endif
