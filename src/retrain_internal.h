/* retrain_internal — what retrain.c, retrain_submit.c and retrain_outcome.c share; not a public
 * API. The calls go one way: retrain.c → retrain_submit.c, and both → retrain_outcome.c. */
#ifndef RT_RETRAIN_INTERNAL_H
#define RT_RETRAIN_INTERNAL_H

#include <jansson.h>

#include "fetch.h"
#include "function.h"
#include "gauth.h"
#include "promote.h"
#include "retrain_config.h"
#include "rules.h"
#include "runs.h"
#include "storage_object.h"
#include "vertex.h"

/* One worker's state, made by init after fork. */
typedef struct {
    retrain_config conf; /* the function's part of the config */
    rules *rules;
    fetch_client *http;
    gauth *auth;
    vtx_client *vtx;
    char *upload_slot;   /* the pseudo-rule whose slot spaces uploads: "models.upload/P/L" */
    char *read_budget;   /* the budget the follower's reads share: "vertex.reads/P/L" */
    char *create_budget; /* the one creates share: "vertex.creates/P/L" */
    char owner[128];     /* the follower's name in the runs it leases; "" until it first follows */
    long long creates_at, reads_at; /* the follower: monotonic ms its budgets have tokens again */
} retrain_state;

/* One event being submitted. */
typedef struct {
    retrain_state *st;
    const rule *r;
    fn_context *ctx;
    long long deadline_ms; /* monotonic: no waiting (slots, operations) past this */
    char *run_id; /* RUN_ID_LEN + 1 bytes: the event's run once begun or joined, else ""; NULL: no
                     runs */
    template_vars *vars; /* the event's placeholders (run_id set once the run is begun) */
} retrain_call;

/* FN_RETRY with WHY (copied into the arena) and RETRY_AFTER_S (0: the default). */
void retrain_retry(const retrain_call *c, fn_result *out, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps a failed Vertex call (retrain_run.c): permanent (400/403/404, invalid) → FN_FAILED with
 * Google's status and message, the run failed; transient, auth → the begun run is queued for the
 * follower (retrain_run_queue), else FN_RETRY. WHAT names the call. */
void retrain_vertex_failure(const retrain_call *c, const char *what, vtx_err e,
                            const vtx_result *res, fn_result *out);

/* The event's run (retrain_run.c). Each returns 0, or -1 with OUT set to a retry (the ledger
 * could not record it; begin: or FN_QUEUED, the run is the follower's already). begin: before the
 * call that makes work (finds the run an earlier attempt began); join: the event is coalesced into
 * HOLDER's run; submitted: Google accepted the create of RESOURCE; registered: an upload's
 * OPERATION made MODEL's version VERSION_ID (both may be NULL); failed: Google refused for good
 * with google.rpc.Status CODE (0: none) and MESSAGE (recorded as well as the ledger can). */
int retrain_run_begin(const retrain_call *c, fn_result *out);
int retrain_run_join(const retrain_call *c, const char *holder, fn_result *out);
/* The event joins its rule's follow-up of run AFTER (runs_follow_up), and names it. */
int retrain_run_follow_up(const retrain_call *c, const char *after, fn_result *out);
/* A batched rule's event joins its batch (runs_batch_join) and OUT becomes FN_QUEUED (202,
 * "batched"); the follower submits the batch once it closes. */
int retrain_run_batch(const retrain_call *c, fn_result *out);
int retrain_run_submitted(const retrain_call *c, const char *resource, fn_result *out);
int retrain_run_registered(const retrain_call *c, const char *operation, const char *model,
                           const char *version_id, fn_result *out);
void retrain_run_failed(const retrain_call *c, int code, const char *message);
/* Google kept failing (WHAT: ERR: MESSAGE) until the deadline, or a budget or the upload spacing
 * keeps the call back: the call's begun run is handed to the follower and OUT becomes FN_QUEUED
 * (202), due for the follower in DELAY_S (< 0: follow.first_s). -1 when there is no such run or the
 * ledger could not hand it on (OUT untouched: retry instead). */
int retrain_run_queue(const retrain_call *c, const char *what, const char *err, const char *message,
                      int delay_s, fn_result *out);

/* The follower's work (retrain_follow.c; fn_def.follow): looks at the open runs that are due,
 * within the read budget, and records what Google says of them. */
int retrain_follow(void *state, ledger *l, bool (*stop)(void));
/* fn_def.cancel: customJobs.cancel or trainingPipelines.cancel of the run's resource, then one
 * look at it; a run with nothing at Google yet is recorded as cancelled at once. */
int retrain_cancel(void *state, ledger *l, const char *id, char *why, size_t whylen);

/* The follower submits queued run RUN (leased; retrain_queued.c): a job, a pipeline or an upload.
 * MOVED when its record changed (submitted, or ended because it can never be), LATER or SOON
 * when it stays queued. */
typedef enum {
    QUEUED_MOVED, /* its record changed */
    QUEUED_LATER, /* Google or the ledger failed: try again on the backoff */
    QUEUED_SOON,  /* its turn has not come (the upload spacing): try again in a moment */
} queued_result;
queued_result retrain_submit_queued(retrain_state *st, ledger *l, const run_record *run);

/* Before a leased batch RUN is submitted (retrain_batch.c): records what closed it (on RUN too).
 * True: submit it now. False with *RES: it expired (MOVED: its events are `expired`, nothing
 * submitted), or the ledger failed (LATER). */
bool retrain_batch_close(retrain_state *st, ledger *l, run_record *run, queued_result *res);

/* The promotion gate (retrain_promote.c). The decision a run of rule RULE_NAME that succeeds
 * with a version begins with: RUN_DECISION_PENDING when the rule promotes, else NULL (for
 * run_change.decision). */
const char *retrain_decision_due(const retrain_state *st, const char *rule_name);
/* What the gate works with. */
promote_env retrain_promote_env(retrain_state *st, ledger *l);
/* One pass of the gate over succeeded RUN (leased; decision pending or promoting). Returns when
 * to look again in seconds, or -1: on the follower's backoff (Google or the ledger failed). */
int retrain_promote(retrain_state *st, ledger *l, const run_record *run);

/* The test hook (see retrain.h; in retrain_submit.c). */
void retrain_crash_hook(const rule *r);

/* train, train_and_register: adopt, burst control, create. Takes nothing; BODY is borrowed. */
void retrain_submit_run(const retrain_call *c, const json_t *body, fn_result *out);
/* register: upload spacing, upload, follow the operation. */
void retrain_submit_upload(const retrain_call *c, const json_t *body, fn_result *out);

#endif
