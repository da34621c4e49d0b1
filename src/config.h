/* config — one JSON config file, then environment overrides, validated with clear errors.
 *
 * Precedence, lowest first: built-in defaults, the file (RETRAIN_CONFIG or --config), the
 * environment (RETRAIN_*), then command-line options (applied by the caller). Every problem
 * found is reported with the JSON path of the offending value ("auth.clock_skew_s: must be an
 * integer from 0 to 600"), all of them at once, never with a secret's value.
 *
 * Ownership: a config owns every string and array it holds; config_free() releases them.
 * `rules` is a new reference to the file's "rules" array (the rules module validates it). */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char **items;
    size_t n;
} config_list;

typedef struct {
    config_list audiences;        /* accepted `aud` values */
    config_list service_accounts; /* accepted `email` values */
    char *jwks_url;               /* default https://www.googleapis.com/oauth2/v3/certs */
    char *jwks_cache;             /* file the pool's workers share the fetched set through */
    int clock_skew_s;             /* default 60 */
    int token_cache_size;         /* verified-token cache entries per worker; 0 disables */
    bool disabled;                /* development only: refused unless the listener is loopback */
} auth_config;

typedef struct {
    char *url;             /* sqlite:///path or postgres://... */
    int lease_s;           /* how long a claim holds before another worker may reclaim it */
    int retention_s;       /* finished records are kept this long (default 7 days) */
    int gc_interval_s;     /* how often the pool collects; 0 disables */
    int answer_cache_size; /* per worker: answers to finished events kept in memory; 0: off */
} ledger_config;

typedef struct {
    char *endpoint;  /* base URL; default https://{region}-aiplatform.googleapis.com/v1 */
    char *project;   /* GOOGLE_CLOUD_PROJECT */
    char *region;    /* default us-central1 */
    int deadline_ms; /* per call, retries included */
} vertex_config;

typedef struct config {
    char *listen;       /* "unix:/path" or "host:port" */
    char *socket_group; /* group owning the unix socket (nginx's); NULL keeps ours */
    int socket_mode;    /* default 0660 */
    int backlog;
    int workers; /* 0: 2 x cores */
    int max_requests;
    int request_timeout_s;
    int shutdown_timeout_s;
    char *function; /* registered function name: "echo", "retrain" */
    char *log_level;
    char *project; /* for log traces; GOOGLE_CLOUD_PROJECT */
    auth_config auth;
    ledger_config ledger;
    vertex_config vertex;
    json_t *rules; /* array, possibly empty */
    char *path;    /* the file it came from, or NULL */
} config;

#define CONFIG_ERR_MAX 4096

/* Fills CFG with the defaults. */
void config_defaults(config *cfg);

/* Loads PATH (NULL: defaults only) over the defaults, then the environment. On failure returns
 * -1 and writes every problem, one per line, into ERR; CFG is then freed and zeroed. */
int config_load(const char *path, config *cfg, char err[CONFIG_ERR_MAX]);

/* Checks cross-field rules (auth.disabled needs a loopback listener, ...). 0 or -1 with ERR. */
int config_validate(const config *cfg, char err[CONFIG_ERR_MAX]);

/* Replaces *DST with a copy of SRC (NULL allowed). Returns 0 or -1 on OOM. */
int config_set_string(char **dst, const char *src);

/* True when the listener is a unix socket or a loopback address. */
bool config_listen_is_loopback(const char *listen);

/* The worker count after resolving 0 to 2 x online cores. */
int config_worker_count(const config *cfg);

void config_free(config *cfg);

#endif
