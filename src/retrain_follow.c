/* retrain_follow — the follower's part of the function (retrain_internal.h): every open run is
 * looked at, by one follower at a time, until it ends.
 *
 * A look leases the run that is due the longest (runs_lease), takes one read from the budget
 * of the project and region (budget.h), reads the run's resource from Vertex (customJobs.get,
 * trainingPipelines.get or operations.get, by the resource's name) and records what changed:
 * its state, Google's google.rpc.Status when it failed, and the model version a pipeline or an
 * upload made. Then the next look is set: follow.first_s after a change, else twice the last
 * wait, at most follow.max_s. A read that fails (Google unavailable, a 429) changes nothing
 * but the wait; a resource Google no longer knows (404) ends the run as failed. A queued run
 * that is due (handed on by the request path, or a follow-up whose run before it ended) is
 * submitted instead (retrain_queued.c), and tried again on the same backoff while Google
 * fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "budget.h"
#include "clk.h"
#include "json_time.h"
#include "log.h"
#include "notice.h"
#include "retrain.h"
#include "retrain_internal.h"
#include "runs.h"

#define LOOKS_PER_CALL 32 /* then the follower checks for a stop and sleeps */
#define IDLE_MS 1000      /* nothing due: look again in this */
#define NOT_FOUND_CODE 5  /* google.rpc.Code NOT_FOUND */
#define EXPIRED_CODE 4    /* DEADLINE_EXCEEDED, for a job that expired without an error */

typedef enum { KIND_JOB, KIND_PIPELINE, KIND_OPERATION, KIND_UNKNOWN } resource_kind;

static resource_kind kind_of(const char *resource)
{
    if (strstr(resource, "/operations/"))
        return KIND_OPERATION; /* an upload's; it may name a model before it */
    if (strstr(resource, "/customJobs/"))
        return KIND_JOB;
    if (strstr(resource, "/trainingPipelines/"))
        return KIND_PIPELINE;
    return KIND_UNKNOWN;
}

/* What a job's or pipeline's state ("JOB_STATE_RUNNING", "PIPELINE_STATE_FAILED") means for
 * the run; -1: nothing new (queued or pending at Google, or a state this build does not know). */
static int state_of(const char *state)
{
    const char *s = state ? strstr(state, "_STATE_") : NULL;
    if (!s)
        return -1;
    s += strlen("_STATE_");
    if (strcmp(s, "SUCCEEDED") == 0 || strcmp(s, "PARTIALLY_SUCCEEDED") == 0)
        return RUN_SUCCEEDED;
    if (strcmp(s, "FAILED") == 0 || strcmp(s, "EXPIRED") == 0)
        return RUN_FAILED;
    if (strcmp(s, "CANCELLED") == 0)
        return RUN_CANCELLED;
    if (strcmp(s, "RUNNING") == 0 || strcmp(s, "CANCELLING") == 0 || strcmp(s, "PAUSED") == 0 ||
        strcmp(s, "UPDATING") == 0)
        return RUN_RUNNING;
    return -1;
}

/* Google's google.rpc.Status in ERR (may be NULL) into CH. */
static void error_of(const json_t *err, run_change *ch)
{
    json_int_t code = json_integer_value(json_object_get(err, "code"));
    ch->error_code = code > 0 && code < 100 ? (int)code : ch->error_code;
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (msg && *msg)
        ch->error_message = msg;
}

/* What RES (the resource as Vertex answered, of KIND) says of RUN, into CH (its strings point
 * into RES or BUF). */
static void read_state(resource_kind kind, const json_t *res, char *buf, size_t buflen,
                       run_change *ch)
{
    if (kind == KIND_OPERATION) {
        if (!json_is_true(json_object_get(res, "done")))
            return;
        const json_t *err = json_object_get(res, "error");
        if (err) {
            ch->state = RUN_FAILED;
            error_of(err, ch);
            return;
        }
        ch->state = RUN_SUCCEEDED;
        const json_t *r = json_object_get(res, "response"); /* UploadModelResponse */
        const char *model = json_string_value(json_object_get(r, "model"));
        const char *version = json_string_value(json_object_get(r, "modelVersionId"));
        if (model && version && (size_t)snprintf(buf, buflen, "%s@%s", model, version) < buflen) {
            ch->model_version = buf;
            ch->model_version_id = version;
        }
        return;
    }
    int st = state_of(json_string_value(json_object_get(res, "state")));
    if (st < 0)
        return;
    ch->state = (run_state)st;
    /* Google's own times: a run first seen ended still gets when it started. */
    const char *started = json_string_value(json_object_get(res, "startTime"));
    const char *ended = json_string_value(json_object_get(res, "endTime"));
    int64_t t;
    if (started && (t = time_parse_rfc3339(started)) > 0)
        ch->started_ms = t;
    if (ended && run_state_is_final(ch->state) && (t = time_parse_rfc3339(ended)) > 0)
        ch->ended_ms = t;
    if (st == RUN_FAILED) {
        ch->error_code = EXPIRED_CODE;
        error_of(json_object_get(res, "error"), ch);
    }
    /* A pipeline that uploaded its model names it in modelToUpload once it succeeded. */
    const json_t *m = json_object_get(res, "modelToUpload");
    if (kind == KIND_PIPELINE && st == RUN_SUCCEEDED && m &&
        vtx_model_version_name(m, buf, buflen) == 0) {
        ch->model_version = buf;
        ch->model_version_id = json_string_value(json_object_get(m, "versionId"));
    }
}

static vtx_err get(vtx_client *c, resource_kind kind, const char *name, vtx_result *res)
{
    switch (kind) {
    case KIND_JOB:
        return vtx_get_custom_job(c, name, res);
    case KIND_PIPELINE:
        return vtx_get_training_pipeline(c, name, res);
    case KIND_OPERATION:
        return vtx_get_operation(c, name, res);
    case KIND_UNKNOWN:
        break;
    }
    *res = (vtx_result){.err = VTX_ERR_INVALID, .retry_after_s = -1};
    snprintf(res->message, sizeof res->message,
             "the run's resource is no job, pipeline or "
             "operation");
    return VTX_ERR_INVALID;
}

/* FIRST_S doubled N times, at most MAX_S. */
static int doubled(int first_s, int max_s, int n)
{
    long s = first_s;
    for (int i = 0; i < n && s < max_s; i++)
        s *= 2;
    return s < max_s ? (int)s : max_s;
}

static int backoff_s(const follow_config *f, int checks)
{
    return doubled(f->first_s, f->max_s, checks);
}

/* RUN failed as CH says: its done and coalesced events become replayable dead letters. */
static ledger_status fail_events(ledger *l, const run_record *run, const run_change *ch)
{
    char why[512];
    snprintf(why, sizeof why, "run %s failed at Google: %d %s", run->id, ch->error_code,
             ch->error_message ? ch->error_message : "");
    int64_t n = 0;
    ledger_status ls = runs_fail_events(l, run->id, why, &n);
    if (ls == LEDGER_OK && n > 0)
        log_info("run %s: %lld events it covers are failed now (replayable)", run->id,
                 (long long)n);
    return ls;
}

/* One look at RUN (leased): reads it and records what changed. Returns whether it changed. */
static bool look(retrain_state *st, ledger *l, const run_record *run)
{
    resource_kind kind = kind_of(run->resource);
    vtx_result res = {0};
    vtx_err e = get(st->vtx, kind, run->resource, &res);
    char version[1024];
    run_change ch = {.state = run->state};
    if (e == VTX_OK) {
        read_state(kind, res.resource, version, sizeof version, &ch);
    } else if (e == VTX_ERR_NOT_FOUND || e == VTX_ERR_INVALID) {
        ch = (run_change){.state = RUN_FAILED,
                          .error_code = NOT_FOUND_CODE,
                          .error_message = res.message[0] ? res.message : "not found at Google"};
        log_warning("run %s: %s is gone at Google (%ld %s): the run failed", run->id, run->resource,
                    res.http_status, res.message);
    } else {
        log_warning("run %s: reading %s: %s (%ld %s %s); looking again later", run->id,
                    run->resource, vtx_err_name(e), res.http_status, res.status, res.message);
    }
    bool moved = ch.state != run->state;
    bool version_new = ch.model_version && !run->model_version;
    if (ch.state == RUN_SUCCEEDED && (ch.model_version || run->model_version))
        ch.decision = retrain_decision_due(st, run->rule);
    if (moved || version_new) {
        /* Its events first: a run recorded as failed is never looked at again. */
        ledger_status ls = ch.state == RUN_FAILED ? fail_events(l, run, &ch) : LEDGER_OK;
        if (ls == LEDGER_OK)
            ls = runs_update(l, run->id, &ch);
        if (ls == LEDGER_OK && moved)
            log_info("run %s: %s -> %s (%s%s%s)", run->id, run_state_name(run->state),
                     run_state_name(ch.state), run->resource, ch.error_message ? ": " : "",
                     ch.error_message ? ch.error_message : "");
        else if (ls != LEDGER_OK && ls != LEDGER_ERR_STATE)
            log_warning("run %s: could not record %s: %s", run->id, run_state_name(ch.state),
                        ledger_last_error(l));
        if (ls != LEDGER_OK)
            moved = false; /* looked at again soon */
    }
    vtx_result_clear(&res);
    return moved;
}

/* ---- notices ------------------------------------------------------------------------------ */

#define NOTICES_PER_CALL 16
#define NOTICE_FIRST_S 5
#define NOTICE_MAX_S 600
#define NOTICE_MAX_AGE_MS (7LL * 86400 * 1000) /* older ends are not announced any more */

/* Sends the notices that are due (notify.url), each leased like a look at a run. */
/* Work on RUN goes on in the trace of the delivery that began it: the follower's log lines and
 * its calls to Google for the run name it (trace.h), until log_clear_trace. */
static void in_trace(const retrain_state *st, const run_record *run)
{
    log_set_trace(run->trace, NULL, st->conf.vertex.project);
}

static void notices(retrain_state *st, ledger *l, int lease_s, bool (*stop)(void))
{
    const notify_config *n = &st->conf.notify;
    if (!n->url)
        return;
    notice_target t = {
        .url = n->url, .location = vtx_client_location(st->vtx), .timeout_ms = n->timeout_ms};
    for (int i = 0; i < NOTICES_PER_CALL && !stop(); i++) {
        run_record run;
        ledger_status ls =
            runs_notice_lease(l, st->owner, lease_s, clk_wall_ms() - NOTICE_MAX_AGE_MS, &run);
        if (ls != LEDGER_OK) {
            if (ls != LEDGER_ERR_NOT_FOUND)
                log_warning("follow: notices: %s", ledger_last_error(l));
            return;
        }
        long status;
        char why[160];
        in_trace(st, &run); /* the notice carries the run's traceparent */
        bool sent = notice_send(st->http, &t, &run, &status, why, sizeof why) == 0;
        int tries = sent ? run.notify_tries : run.notify_tries + 1;
        int delay = doubled(NOTICE_FIRST_S, NOTICE_MAX_S, tries - 1);
        if (sent)
            log_info("run %s: notice sent (%s, HTTP %ld)", run.id, run_state_name(run.state),
                     status);
        else
            log_warning("run %s: notice not taken (%s); sending again in %d s (try %d)", run.id,
                        why, delay, tries);
        if (runs_noticed(l, run.id, st->owner, sent, tries, sent ? 0 : delay) != LEDGER_OK)
            log_warning("follow: run %s: %s", run.id, ledger_last_error(l));
        log_clear_trace();
        run_record_clear(&run);
    }
}

static void name_owner(retrain_state *st)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(st->owner, sizeof st->owner, "%s/%d/%08x", host, (int)getpid(),
             (unsigned)randombytes_random());
}

/* Takes one call from budget NAME; false (and *UNTIL, monotonic ms, when to ask again) when it
 * is spent or the ledger failed. */
static bool take(ledger *l, const char *name, int per_minute, long long *until)
{
    bool granted = false;
    ledger_status ls = budget_take(l, name, per_minute, &granted);
    if (ls != LEDGER_OK)
        log_warning("follow: %s", ledger_last_error(l));
    if (!granted)
        *until = clk_mono_ms() + budget_wait_ms(per_minute);
    return granted;
}

/* Submits queued RUN (leased) and sets when it is due again if it stays queued. */
static void submit(retrain_state *st, ledger *l, run_record *run)
{
    const follow_config *f = &st->conf.follow;
    queued_result q = QUEUED_LATER;
    if (!run->batch_key || retrain_batch_close(st, l, run, &q))
        q = retrain_submit_queued(st, l, run);
    bool moved = q == QUEUED_MOVED;
    /* Still queued: Google is failing (wait longer each time, as for a look), or its turn comes
     * in a moment. */
    int checks = moved || q == QUEUED_SOON ? run->checks : run->checks + 1;
    int delay = moved              ? f->first_s
                : q == QUEUED_SOON ? RETRAIN_UPLOAD_SPACING_S
                                   : backoff_s(f, checks - 1);
    if (runs_checked(l, run->id, st->owner, delay, checks) != LEDGER_OK)
        log_warning("follow: run %s: %s", run->id, ledger_last_error(l));
}

/* A pass of the promotion gate over RUN (leased) and when it is due again. */
static void decide(retrain_state *st, ledger *l, run_record *run)
{
    const follow_config *f = &st->conf.follow;
    int delay = retrain_promote(st, l, run);
    int checks = delay < 0 ? run->checks + 1 : 0;
    if (delay < 0)
        delay = backoff_s(f, checks - 1);
    if (runs_checked(l, run->id, st->owner, delay, checks) != LEDGER_OK)
        log_warning("follow: run %s: %s", run->id, ledger_last_error(l));
}

/* A look saw RUN succeed: when its promotion is due, the gate decides under the same lease,
 * without waiting for the next look. */
static void decide_now(retrain_state *st, ledger *l, run_record *run)
{
    run_record now;
    if (runs_get(l, run->id, &now) != LEDGER_OK)
        return;
    if (now.state == RUN_SUCCEEDED && strcmp(now.decision, RUN_DECISION_PENDING) == 0)
        retrain_promote(st, l, &now); /* if it cannot finish, the decide lease comes back */
    run_record_clear(&now);
}

int retrain_follow(void *state, ledger *l, bool (*stop)(void))
{
    retrain_state *st = state;
    const follow_config *f = &st->conf.follow;
    if (!st->owner[0])
        name_owner(st);
    /* Long enough for one read with its retries and the records after it. */
    int lease_s = st->conf.vertex.deadline_ms / 1000 * 2 + 10;
    notices(st, l, st->conf.notify.timeout_ms / 1000 + 10, stop);
    for (int i = 0; i < LOOKS_PER_CALL && !stop(); i++) {
        /* A spent budget holds back only the work that needs it: looks need reads; queued runs
         * need a read (their label is looked for first) and a create. Spent creates leave the
         * looks going. */
        long long now = clk_mono_ms();
        if (now < st->reads_at)
            return st->reads_at - now > 10 ? (int)(st->reads_at - now) : 10;
        int kinds =
            RUNS_LEASE_LOOKS | RUNS_LEASE_DECIDE | (now >= st->creates_at ? RUNS_LEASE_QUEUED : 0);
        run_record run;
        ledger_status ls = runs_lease(l, st->owner, lease_s, f->first_s, kinds, &run);
        if (ls == LEDGER_ERR_NOT_FOUND)
            return IDLE_MS;
        if (ls != LEDGER_OK) {
            log_warning("follow: %s", ledger_last_error(l));
            return IDLE_MS;
        }
        in_trace(st, &run);
        bool queued = run.state == RUN_QUEUED;
        /* A submission reads too: it looks for the run's label before it creates. */
        bool go = take(l, st->read_budget, f->reads_per_minute, &st->reads_at) &&
                  (!queued || take(l, st->create_budget, f->creates_per_minute, &st->creates_at));
        if (!go) {
            runs_checked(l, run.id, st->owner, 1, run.checks); /* handed back, due again */
        } else if (queued) {
            submit(st, l, &run);
        } else if (run.state == RUN_SUCCEEDED) {
            decide(st, l, &run); /* its promotion, pending or half done */
        } else {
            bool moved = look(st, l, &run);
            if (moved)
                decide_now(st, l, &run);
            int checks = moved ? 0 : run.checks + 1;
            if (runs_checked(l, run.id, st->owner, backoff_s(f, moved ? 0 : checks), checks) !=
                LEDGER_OK)
                log_warning("follow: run %s: %s", run.id, ledger_last_error(l));
        }
        log_clear_trace();
        run_record_clear(&run);
    }
    return 0;
}

int retrain_cancel(void *state, ledger *l, const char *id, char *why, size_t whylen)
{
    retrain_state *st = state;
    run_record run;
    ledger_status ls = runs_get(l, id, &run);
    if (ls != LEDGER_OK) {
        snprintf(why, whylen, "%s", ledger_last_error(l));
        return ls == LEDGER_ERR_UNAVAILABLE ? 2 : 1;
    }
    int rc = 0;
    if (run_state_is_final(run.state)) {
        snprintf(why, whylen, "run %s has ended already: %s", id, run_state_name(run.state));
        rc = 1;
    } else if (!run.resource) { /* nothing at Google yet */
        ls = runs_update(l, id, &(run_change){.state = RUN_CANCELLED});
        if (ls != LEDGER_OK) {
            snprintf(why, whylen, "%s", ledger_last_error(l));
            rc = ls == LEDGER_ERR_UNAVAILABLE ? 2 : 1;
        } else {
            log_info("run %s: %s -> cancelled (by hand, before it reached Google)", id,
                     run_state_name(run.state));
        }
    } else if (kind_of(run.resource) == KIND_OPERATION) {
        snprintf(why, whylen, "run %s is a model upload (%s): Vertex AI cannot cancel one", id,
                 run.resource);
        rc = 1;
    } else {
        vtx_result res = {0};
        vtx_err e = vtx_cancel(st->vtx, run.resource, &res);
        /* FAILED_PRECONDITION: it ended meanwhile; the look records how. */
        if (e == VTX_OK || strcmp(res.status, "FAILED_PRECONDITION") == 0) {
            log_info("run %s: cancel asked of %s", id, run.resource);
            look(st, l, &run);
        } else {
            snprintf(why, whylen, "cancelling %s: %s (%ld %s %s)", run.resource, vtx_err_name(e),
                     res.http_status, res.status, res.message);
            rc = 2;
        }
        vtx_result_clear(&res);
    }
    run_record_clear(&run);
    return rc;
}
