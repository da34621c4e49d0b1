/* emu — the local stand-in for Google: one HTTP server on loopback, several services.
 *
 * main.c owns the server (libmicrohttpd, a thread pool), the command line, fault injection and
 * the routing: it hands each request to the services in turn until one claims it. A service is a
 * handler that returns true when the request's path is its own. Handlers run on several threads
 * at once: each service guards its own state with its own mutex.
 *
 * Memory: the request's strings belong to main.c for the call; a handler puts a malloc'd body
 * into the response, which main.c frees after sending. */
#ifndef EMU_H
#define EMU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called once per request header, in the order received (emu_request.each_header). */
typedef void (*emu_header_fn)(void *ctx, const char *name, const char *value);

typedef struct emu_request {
    const char *method; /* "GET" */
    const char *path;   /* "/v1/projects/p/locations/l/customJobs", no query */
    const char *body;   /* NUL-terminated; "" when empty */
    size_t body_len;
    /* Header and query lookup (NULL when absent). */
    const char *(*header)(const struct emu_request *r, const char *name);
    const char *(*query)(const struct emu_request *r, const char *name);
    /* Every header, names as sent (NULL: the request has none to walk). */
    void (*each_header)(const struct emu_request *r, emu_header_fn fn, void *ctx);
    void *impl;
} emu_request;

#define EMU_MAX_HEADERS 4

typedef struct {
    int status;
    const char *content_type; /* static string; default application/json */
    char *content_type_owned; /* malloc'd, freed by main.c; wins over content_type (a stored
                                 object's Content-Type) */
    char *body;               /* malloc'd, freed by main.c; NULL for empty */
    size_t body_len;          /* 0: strlen(body) */
    struct {
        const char *name;
        char value[128];
    } headers[EMU_MAX_HEADERS];
    int n_headers;
    const char *route; /* static name counted in /emulator/stats ("customJobs.create") */
    bool drop;         /* close the connection without an answer */
} emu_response;

/* A service: answers the requests whose path it owns. */
typedef bool (*emu_handler)(const emu_request *req, emu_response *resp);

/* The command line, read once at start; services keep a pointer to it. */
typedef struct {
    int port;
    const char *bind;            /* "127.0.0.1" */
    const char *state_dir;       /* where sa-key.json goes; a temporary dir when not given */
    long job_clock_ms;           /* one Vertex state step; 0 = jobs succeed at once */
    long jwks_max_age;           /* seconds, for the JWKS Cache-Control */
    const char *audience;        /* default aud of minted ID tokens */
    const char *service_account; /* default email of minted ID tokens */
    const char *project;         /* metadata project-id and the key file's project */
} emu_options;

/* A service's hooks. Every hook but handle may be NULL. */
typedef struct {
    const char *name;
    int (*init)(const emu_options *opt); /* 0 or -1; runs once the port is known */
    emu_handler handle;
    void (*reset)(void); /* POST /emulator/reset: back to the state after init */
    /* POST /emulator/config: applies the members it knows; NULL-terminated names in keys. */
    void (*configure)(const json_t *cfg);
    const char *const *config_keys;
    void (*stats)(json_t *out); /* adds its counters to the /emulator/stats object */
    void (*shutdown)(void);
} emu_service;

extern const emu_service emu_issuer_service;  /* issuer.c: OIDC test issuer + JWKS */
extern const emu_service emu_gauth_service;   /* emu_gauth.c: metadata server + OAuth /token */
extern const emu_service emu_vertex_service;  /* vx.c: Vertex AI v1 */
extern const emu_service emu_sink_service;    /* sink.c: a webhook taking CloudEvents */
extern const emu_service emu_storage_service; /* storage.c: Cloud Storage JSON API v1 objects */
/* Stores LEN bytes of DATA as gs://BUCKET/NAME (a new generation), as a training job writing
 * its output would (vx_evals.c's metrics.json): 0, or -1 for a bad name, a full store or OOM. */
int emu_storage_put(const char *bucket, const char *name, const char *content_type,
                    const void *data, size_t len);

/* The largest object body storage.c takes (a simple upload's request body); main.c reads
 * bodies up to this size on the upload path, EMU_BODY_MAX (1 MiB) elsewhere. */
#define EMU_STORAGE_OBJECT_MAX (32L * 1024 * 1024)

/* Sets a JSON body (takes ownership of TEXT, from json_dumps). */
void emu_respond_json(emu_response *resp, int status, char *text);
/* Sets a JSON body from VALUE (stolen). */
void emu_respond_value(emu_response *resp, int status, json_t *value);
/* A google.rpc.Status error body: {"error":{"code":..,"message":..,"status":..}}. */
void emu_respond_error(emu_response *resp, int status, const char *status_name, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
void emu_add_header(emu_response *resp, const char *name, const char *value);
/* A Cloud Storage JSON API error, which is not google.rpc.Status:
 *   {"error":{"code":N,"message":M,"errors":[{"message":M,"domain":DOMAIN,"reason":REASON,
 *    "locationType":LT,"location":LOC}]}}
 * DOMAIN NULL = "global"; LOCATION_TYPE and LOCATION may be NULL (the members are left out). */
void emu_respond_gcs_error(emu_response *resp, int status, const char *domain, const char *reason,
                           const char *location_type, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Parses the request body as a JSON object. On failure answers 400 and returns NULL.
 * Returns a new reference. */
json_t *emu_body_object(const emu_request *req, emu_response *resp);

/* The base URL the emulator serves on ("http://127.0.0.1:PORT"), for links in answers. */
const char *emu_base_url(void);

/* Milliseconds: wall clock (for RFC 3339 stamps) and monotonic (for the state clocks). */
int64_t emu_now_ms(void);
int64_t emu_mono_ms(void);
/* "2026-11-26T07:00:00.123Z" into OUT (at least 32 bytes). */
void emu_rfc3339(int64_t wall_ms, char *out, size_t n);

/* base64url without padding; returns a malloc'd string or NULL. */
char *emu_b64url(const unsigned char *data, size_t len);
/* Decodes base64url (padding optional) into a malloc'd buffer; NULL on bad input. */
unsigned char *emu_b64url_decode(const char *text, size_t len, size_t *out_len);

/* `gcp-emulator mint ...` (mint.c): asks a running emulator for a token, prints it. Returns the
 * process exit status. */
int emu_mint_cli(int argc, char **argv);

/* Cross-service calls. */
/* true when the Authorization header carries a live token this emulator issued (emu_gauth.c). */
bool emu_gauth_bearer_ok(const emu_request *req);
/* A valid Google ID token for AUD signed by the issuer (issuer.c); malloc'd or NULL. */
char *emu_issuer_id_token(const char *aud);

/* S percent-encoded but for RFC 3986's unreserved characters (a path segment or a query
 * value), malloc'd; NULL on OOM. */
char *emu_url_encode(const char *s);

#endif
