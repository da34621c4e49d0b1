/* vertex — a client for Vertex AI REST v1, as one worker uses it.
 *
 * Base URL https://{region}-aiplatform.googleapis.com/v1, or vertex_config.endpoint (for the
 * emulator, http://127.0.0.1:N/v1). Resources live under projects/{project}/locations/{region}.
 *
 * Every call has one deadline (vertex_config.deadline_ms, retries and token fetches included).
 * Inside it, 429, 500, 502, 503, 504, connection failures and unreadable answers are retried
 * with exponential backoff and full jitter; other 4xx answers are final; a 401 drops the cached
 * access token and retries once with a fresh one.
 *
 * Creates are not idempotent and Vertex takes no request id, so a create is never re-sent
 * blindly: everything created carries the caller's label, and when a create fails after its
 * body may have reached Google (a timeout, a dropped connection, a 5xx, an unreadable 2xx), the
 * client lists the resources carrying that label and returns the one it finds
 * (result.adopted), re-sending only when there is surely none. For models.upload that means
 * the model's versions (listVersions filtered by the label), read after the model's operations:
 * an upload's version is listed only once its operation is done, so while an upload to the same
 * model is still running the client waits for it, and past the deadline says it cannot tell
 * (transient) rather than upload a second version.
 *
 * Errors are values: vtx_err plus a vtx_result with the HTTP status, google.rpc.Status name and
 * a truncated message. No token or key ever appears in a result or a log line.
 *
 * Ownership: a vtx_client borrows its gauth and fetch_client (they must outlive it); a result's
 * `resource` is a new reference owned by the result. On the request path, vtx_result_keep()
 * hands it to the request's arena right after the call, and nothing is cleared by hand; the CLI
 * and benchmarks release it with vtx_result_clear(), or take it (set the field to NULL) and
 * json_decref it themselves. A call fills its result whole: a kept result may be passed to the
 * next call as it is. */
#ifndef RT_VERTEX_H
#define RT_VERTEX_H

#include "arena.h"
#include "fetch.h"
#include "gauth.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define VTX_BACKOFF_BASE_MS 100
#define VTX_BACKOFF_MAX_MS 4000
#define VTX_MESSAGE_MAX 256
#define VTX_DEFAULT_DEADLINE_MS 20000

/* Where and how long: read from the config's "vertex" section by the function that uses the
 * client (retrain_config.h). */
typedef struct {
    char *endpoint;  /* base URL; default https://{region}-aiplatform.googleapis.com/v1 */
    char *project;   /* GOOGLE_CLOUD_PROJECT */
    char *region;    /* default us-central1 */
    int deadline_ms; /* per call, retries included */
} vertex_config;

typedef enum {
    VTX_OK,
    VTX_ERR_TRANSIENT, /* try again later: 429, 5xx, network, deadline, unreadable answer */
    VTX_ERR_PERMANENT, /* Google refused the request for good (400, 403, 409, ...) */
    VTX_ERR_NOT_FOUND, /* 404, or no resource carries the label (find) */
    VTX_ERR_AUTH,      /* no usable access token, or 401 even with a fresh one */
    VTX_ERR_INVALID,   /* bad arguments: never sent */
    VTX_ERR_NOMEM,
} vtx_err;

const char *vtx_err_name(vtx_err e);

typedef struct {
    vtx_err err;
    long http_status;              /* the last answer's status; 0 when none arrived */
    char status[32];               /* google.rpc.Status name ("INVALID_ARGUMENT"), or "" */
    char message[VTX_MESSAGE_MAX]; /* Google's or ours, printable (printable.h), cut with "..." */
    json_t *resource;              /* on VTX_OK: the answer (resource, list or operation) */
    bool adopted;                  /* a create found its resource by label instead */
    int attempts;                  /* HTTP requests sent to Vertex */
    long retry_after_s;            /* Google's Retry-After on the last answer, -1 when none */
    bool kept;                     /* the resource is an arena's (vtx_result_keep) */
} vtx_result;

/* Releases RESULT's resource (unless an arena keeps it) and zeroes it. */
void vtx_result_clear(vtx_result *r);

/* Hands R's resource to A: it stays valid until A is reset, then is released. Returns E, the
 * call's own error, so a call reads `e = vtx_result_keep(&res, a, vtx_get_...(..., &res))`; or
 * VTX_ERR_NOMEM when A could not take it (the resource is then released, R says so). */
vtx_err vtx_result_keep(vtx_result *r, arena *a, vtx_err e);

/* Fills R from one answer: the status class, and on 2xx the parsed JSON object as resource;
 * otherwise google.rpc.Status's code, status and message. A body that is not JSON, or truncated,
 * is a transient error with a message saying so. Exposed for tests. */
void vtx_result_from_answer(vtx_result *r, long http_status, const char *body, size_t len);

/* Full-jitter backoff before retry number ATTEMPT (0-based): uniform in
 * [0, min(VTX_BACKOFF_MAX_MS, VTX_BACKOFF_BASE_MS * 2^ATTEMPT)] milliseconds. */
long vtx_backoff_ms(int attempt);

/* The ceiling vtx_backoff_ms draws under for ATTEMPT. */
long vtx_backoff_cap_ms(int attempt);

typedef struct vtx_client vtx_client;

/* A client for CFG's project and region (both copied). Returns NULL with ERR when the project is
 * missing, the region or endpoint malformed, or memory runs out. */
vtx_client *vtx_client_new(const vertex_config *cfg, gauth *auth, fetch_client *http, char *err,
                           size_t errlen);
void vtx_client_free(vtx_client *c);

/* The base URL in use ("https://us-central1-aiplatform.googleapis.com/v1"); borrowed. */
const char *vtx_client_base_url(const vtx_client *c);
/* The location the client works in ("projects/P/locations/L"); borrowed. */
const char *vtx_client_location(const vtx_client *c);

/* customJobs.create: JOB (borrowed) is sent with labels[LABEL_KEY] = LABEL_VALUE added, the
 * label an ambiguous failure is resolved by. */
vtx_err vtx_create_custom_job(vtx_client *c, const json_t *job, const char *label_key,
                              const char *label_value, vtx_result *out);
/* NAME: a full resource name, or the job's id in the client's project and region. */
vtx_err vtx_get_custom_job(vtx_client *c, const char *name, vtx_result *out);
/* customJobs.list with FILTER (may be NULL), first page: {"customJobs":[...],...}. */
vtx_err vtx_list_custom_jobs(vtx_client *c, const char *filter, vtx_result *out);
/* The job labelled LABEL_KEY=LABEL_VALUE (the first one listed), or VTX_ERR_NOT_FOUND. */
vtx_err vtx_find_custom_job(vtx_client *c, const char *label_key, const char *label_value,
                            vtx_result *out);

/* The same for trainingPipelines. */
vtx_err vtx_create_training_pipeline(vtx_client *c, const json_t *pipeline, const char *label_key,
                                     const char *label_value, vtx_result *out);
vtx_err vtx_get_training_pipeline(vtx_client *c, const char *name, vtx_result *out);
vtx_err vtx_list_training_pipelines(vtx_client *c, const char *filter, vtx_result *out);
vtx_err vtx_find_training_pipeline(vtx_client *c, const char *label_key, const char *label_value,
                                   vtx_result *out);

/* models.upload (BODY from vtx_upload_body, borrowed) of a version labelled
 * LABEL_KEY=LABEL_VALUE (added to body.model.labels). The resource is the long-running
 * Operation, or, with result.adopted, the Model version that already carries the label (found
 * before uploading, or after an ambiguous failure): then nothing new was uploaded. With
 * RETRYING (an earlier attempt for this label may have been accepted), a running upload to the
 * same model is waited for before the look; a version Vertex names itself (no parentModel, no
 * modelId) is looked for with models.list, and an ambiguous failure of it is never re-sent. */
vtx_err vtx_upload_model(vtx_client *c, const json_t *body, const char *label_key,
                         const char *label_value, bool retrying, vtx_result *out);
/* The version of MODEL ("projects/.../models/ID"; NULL: any model of the location, by
 * models.list) labelled LABEL_KEY=LABEL_VALUE, the newest listed; VTX_ERR_NOT_FOUND when none
 * (or no such model). The resource is the Model version. */
vtx_err vtx_find_model_version(vtx_client *c, const char *model, const char *label_key,
                               const char *label_value, vtx_result *out);
/* "projects/.../models/ID@VERSION" of a Model version JSON (its name, with or without a
 * version, and its versionId) into BUF: 0, or -1 when it names none or BUF is short. */
int vtx_model_version_name(const json_t *model, char *buf, size_t buflen);
/* operations.get: NAME is the operation's full name ("projects/.../operations/ID"). */
vtx_err vtx_get_operation(vtx_client *c, const char *name, vtx_result *out);
/* customJobs.cancel or trainingPipelines.cancel of NAME (a full resource name): Google starts
 * cancelling, and the resource says CANCELLED once it has (FAILED_PRECONDITION, a permanent
 * error, when it has ended already). The resource is the (empty) answer. */
vtx_err vtx_cancel(vtx_client *c, const char *name, vtx_result *out);
/* models.mergeVersionAliases on MODEL (full name, "@version" allowed); ALIASES NULL-terminated,
 * "-alias" removes one. The resource is the updated Model. */
vtx_err vtx_merge_version_aliases(vtx_client *c, const char *model, const char *const *aliases,
                                  vtx_result *out);

/* models.get of NAME: "projects/.../models/ID" (its default version), "...@VERSION" or
 * "...@ALIAS". The resource is the Model version (404: no such model, version or alias). */
vtx_err vtx_get_model(vtx_client *c, const char *name, vtx_result *out);
/* models.listVersions of MODEL ("projects/.../models/ID"), every page: {"models":[...]}. */
vtx_err vtx_list_model_versions(vtx_client *c, const char *model, vtx_result *out);
/* models.evaluations.list of VERSION ("projects/.../models/ID@VERSION"), every page:
 * {"modelEvaluations":[...]}. */
vtx_err vtx_list_model_evaluations(vtx_client *c, const char *version, vtx_result *out);
/* models.evaluations.import of EVALUATION (a ModelEvaluation, borrowed) into VERSION; the
 * resource is the ModelEvaluation made. Not re-sent after an ambiguous failure. */
vtx_err vtx_import_model_evaluation(vtx_client *c, const char *version, const json_t *evaluation,
                                    vtx_result *out);

/* The label filter Vertex's list calls take: labels.KEY="VALUE", into BUF. -1 when the key or
 * value is not a valid label. */
int vtx_label_filter(char *buf, size_t buflen, const char *key, const char *value);

#endif
