/* config — one JSON config file, then environment overrides, validated with clear errors.
 *
 * Precedence, lowest first: built-in defaults, the file (RETRAIN_CONFIG or --config), the
 * environment (RETRAIN_*), then command-line options (applied by the caller). Every problem
 * found is reported with the JSON path of the offending value ("auth.clock_skew_s: must be an
 * integer from 0 to 600"), all of them at once, never with a secret's value.
 *
 * The framework reads its own keys. A top-level key a function claims (config_claim_keys, called
 * by fn_register with the function's config_keys) is kept as it is in `sections` for that
 * function to read and check (the retrain function's "vertex" and "rules"); any other key is an
 * unknown key. So a second function brings its keys without editing this file.
 *
 * Ownership: a config owns every string and array it holds; config_free() releases them.
 * `sections` is a new reference to an object of the claimed keys found in the file. */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "problems.h"

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
    json_t *sections; /* object: the claimed top-level keys of the file, for their functions */
    char *path;       /* the file it came from, or NULL */
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

/* ---- for the functions' own sections ----------------------------------------------------- */

/* Claims the top-level keys KEYS (NULL-terminated; the strings must outlive the program) for a
 * function: config_load keeps them in `sections` rather than refuse them. 0, or -1 when the
 * table is full. */
int config_claim_keys(const char *const *keys);

typedef enum {
    CONFIG_STRING, /* char **: a non-empty string */
    CONFIG_INT,    /* int *: an integer from min to max */
    CONFIG_BOOL,   /* bool * */
    CONFIG_LIST,   /* config_list *: an array of non-empty strings */
    CONFIG_MODE,   /* int *: an octal file mode, "0660" or 432 */
    CONFIG_OBJECT, /* a section read by another table (dst unused) */
    CONFIG_ARRAY,  /* json_t **: an array, a new reference */
} config_kind;

typedef struct {
    const char *name;
    config_kind kind;
    void *dst;
    int min, max;
} config_field;

/* Reads the object OBJ at PATH ("vertex"; "" for the top level) through FIELDS: each known key
 * into its destination, each problem (an unknown key, a wrong type or range) into P. */
void config_read_fields(problems *p, const char *path, const json_t *obj,
                        const config_field *fields, size_t n_fields);

/* A function's share of the top level TOP (config.h's sections, or a whole file): the keys
 * FIELDS names, read as config_read_fields reads them; other keys are not this reader's. */
void config_read_share(problems *p, const json_t *top, const config_field *fields, size_t n_fields);

/* The environment variable NAME, when set and non-empty, into *DST (a problem on OOM). */
void config_read_env_string(problems *p, const char *name, char **dst);

#endif
