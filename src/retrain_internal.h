/* retrain_internal — what retrain.c, retrain_submit.c and retrain_outcome.c share; not a public
 * API. The calls go one way: retrain.c → retrain_submit.c, and both → retrain_outcome.c. */
#ifndef RT_RETRAIN_INTERNAL_H
#define RT_RETRAIN_INTERNAL_H

#include <jansson.h>

#include "fetch.h"
#include "function.h"
#include "gauth.h"
#include "retrain_config.h"
#include "rules.h"
#include "vertex.h"

/* One worker's state, made by init after fork. */
typedef struct {
    retrain_config conf; /* the function's part of the config */
    rules *rules;
    fetch_client *http;
    gauth *auth;
    vtx_client *vtx;
    char *upload_slot; /* the pseudo-rule whose slot spaces uploads: "models.upload/P/L" */
} retrain_state;

/* One event being submitted. */
typedef struct {
    retrain_state *st;
    const rule *r;
    fn_context *ctx;
    long long deadline_ms; /* monotonic: no waiting (slots, operations) past this */
} retrain_call;

/* FN_RETRY with WHY (copied into the arena) and RETRY_AFTER_S (0: the default). */
void retrain_retry(const retrain_call *c, fn_result *out, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps a failed Vertex call: permanent (400/403/404, invalid) → FN_FAILED with Google's status
 * and message; transient, auth → FN_RETRY. WHAT names the call. */
void retrain_vertex_failure(const retrain_call *c, const char *what, vtx_err e,
                            const vtx_result *res, fn_result *out);

/* The test hook (see retrain.h; in retrain_submit.c). */
void retrain_crash_hook(const rule *r);

/* train, train_and_register: adopt, burst control, create. Takes nothing; BODY is borrowed. */
void retrain_submit_run(const retrain_call *c, const json_t *body, fn_result *out);
/* register: upload spacing, upload, follow the operation. */
void retrain_submit_upload(const retrain_call *c, const json_t *body, fn_result *out);

#endif
