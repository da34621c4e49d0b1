/* retrain_run — the run of the event being submitted, kept in the ledger as the submission goes
 * (runs.h): begun right before the call that makes work, folded into the work already going
 * when the event is coalesced, and moved on when Google answers. See retrain_internal.h.
 *
 * A run's record must not fall behind what Google did: when the ledger cannot record that a
 * create was accepted, the event is retried (its redelivery finds the job by its label and
 * records it), never acknowledged with a run still `queued`. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "retrain.h"
#include "retrain_internal.h"
#include "runs.h"
#include "template.h"

/* OUT: the event is acknowledged (202); its run waits queued for the follower, for WHY. */
static void queued(const retrain_call *c, const char *why, fn_result *out)
{
    json_decref(out->outcome);
    *out = (fn_result){.status = FN_QUEUED,
                       .outcome = retrain_outcome_queued(
                           rules_name(c->r), rules_action_name(rules_action_of(c->r)), why)};
}

int retrain_run_begin(const retrain_call *c, fn_result *out)
{
    if (!c->run_id)
        return 0;
    run_record run;
    bool existed;
    ledger_status st = runs_begin(c->ctx->ledger, c->ctx->hold, rules_name(c->r),
                                  rules_action_name(rules_action_of(c->r)), &run, &existed);
    if (st != LEDGER_OK) {
        retrain_retry(c, out, 0, "ledger: %s", ledger_last_error(c->ctx->ledger));
        return -1;
    }
    snprintf(c->run_id, RUN_ID_LEN + 1, "%s", run.id);
    if (existed && run.state == RUN_QUEUED && run.next_check_ms) {
        /* Handed to the follower already (an earlier attempt queued it): its to submit. */
        run_record_clear(&run);
        queued(c, "an earlier delivery queued its run for the follower", out);
        return -1;
    }
    if (existed)
        log_info("retrain: event %s goes on with run %s (%s)", c->ctx->event_key, run.id,
                 run_state_name(run.state));
    run_record_clear(&run);
    return 0;
}

/* Applies CH to the call's run; a run moved on already (by another look at the same job) is
 * fine. 0, or -1 with OUT set to a retry. */
static int change(const retrain_call *c, const run_change *ch, fn_result *out)
{
    if (!c->run_id || !c->run_id[0])
        return 0;
    ledger_status st = runs_update(c->ctx->ledger, c->run_id, ch);
    if (st == LEDGER_OK || st == LEDGER_ERR_STATE)
        return 0;
    retrain_retry(c, out, 0, "ledger: recording run %s: %s", c->run_id,
                  ledger_last_error(c->ctx->ledger));
    return -1;
}

int retrain_run_submitted(const retrain_call *c, const char *resource, fn_result *out)
{
    return change(c, &(run_change){.state = RUN_SUBMITTED, .resource = resource}, out);
}

int retrain_run_registered(const retrain_call *c, const char *operation, const char *model,
                           const char *version_id, fn_result *out)
{
    char name[1024];
    const char *version = NULL;
    if (model && version_id &&
        (size_t)snprintf(name, sizeof name, "%s@%s", model, version_id) < sizeof name)
        version = name;
    return change(c, &(run_change){.state = RUN_SUBMITTED, .resource = operation}, out) ||
           change(c,
                  &(run_change){.state = RUN_SUCCEEDED,
                                .model_version = version,
                                .model_version_id = version ? version_id : NULL,
                                .decision = version && rules_promote_of(c->r) ? RUN_DECISION_PENDING
                                                                              : NULL},
                  out);
}

void retrain_run_failed(const retrain_call *c, int code, const char *message)
{
    if (!c->run_id || !c->run_id[0])
        return;
    run_change ch = {.state = RUN_FAILED, .error_code = code, .error_message = message};
    if (runs_update(c->ctx->ledger, c->run_id, &ch) != LEDGER_OK)
        log_warning("retrain: run %s: could not record its failure: %s", c->run_id,
                    ledger_last_error(c->ctx->ledger));
}

int retrain_run_join(const retrain_call *c, const char *holder, fn_result *out)
{
    if (!c->run_id)
        return 0;
    ledger *l = c->ctx->ledger;
    ledger_record rec;
    ledger_status st = ledger_get(l, holder, &rec);
    if (st == LEDGER_ERR_NOT_FOUND)
        return 0; /* collected: the event's outcome still names the holder and its job */
    bool joined = false;
    if (st == LEDGER_OK && rec.run_id &&
        (st = runs_join(l, c->ctx->hold, rec.run_id, &joined)) == LEDGER_OK && joined)
        snprintf(c->run_id, RUN_ID_LEN + 1, "%s", rec.run_id);
    ledger_record_clear(&rec);
    if (st == LEDGER_OK || st == LEDGER_ERR_NOT_FOUND)
        return 0;
    retrain_retry(c, out, 0, "ledger: folding the event into its rule's run: %s",
                  ledger_last_error(l));
    return -1;
}

int retrain_run_queue(const retrain_call *c, const char *what, const char *err, const char *message,
                      int delay_s, fn_result *out)
{
    if (!c->run_id || !c->run_id[0])
        return -1;
    if (delay_s < 0)
        delay_s = c->st->conf.follow.first_s;
    const char *why = arena_printf(c->ctx->arena, "%s: %s: %s", what, err, message);
    if (runs_queue(c->ctx->ledger, c->run_id, delay_s) != LEDGER_OK) {
        log_warning("retrain: run %s: could not hand it to the follower: %s", c->run_id,
                    ledger_last_error(c->ctx->ledger));
        return -1;
    }
    log_info("retrain: run %s is queued for the follower (%s)", c->run_id, why ? why : what);
    queued(c, why ? why : what, out);
    return 0;
}

int retrain_run_follow_up(const retrain_call *c, const char *after, fn_result *out)
{
    if (!c->run_id)
        return 0;
    char id[RUN_ID_LEN + 1];
    bool joined = false;
    ledger_status st = runs_follow_up(c->ctx->ledger, c->ctx->hold, rules_name(c->r),
                                      rules_action_name(rules_action_of(c->r)), after, id, &joined);
    if (st != LEDGER_OK) {
        retrain_retry(c, out, 0, "ledger: the rule's follow-up run: %s",
                      ledger_last_error(c->ctx->ledger));
        return -1;
    }
    if (joined)
        snprintf(c->run_id, RUN_ID_LEN + 1, "%s", id);
    return 0;
}

int retrain_run_batch(const retrain_call *c, fn_result *out)
{
    const rules_batch *b = rules_batch_of(c->r);
    ledger *l = c->ctx->ledger;
    json_t *line = b->manifest ? json_pack("{s:s?, s:s?, s:s?}", "bucket", c->vars->bucket, "name",
                                           c->vars->name, "event_id", c->vars->event_id)
                               : NULL;
    json_decref(line);
    if (b->manifest && !line) { /* jansson takes UTF-8 only */
        json_decref(out->outcome);
        const char *why = "the event's bucket, object name or id is not UTF-8: no line of its "
                          "batch's manifest (JSON) can hold it";
        *out = (fn_result){.status = FN_FAILED,
                           .error = why,
                           .outcome = json_pack("{s:s, s:s}", "status", "failed", "message", why)};
        return -1;
    }
    char *key = template_expand_string(b->key, c->vars, c->ctx->arena);
    if (!key) {
        retrain_retry(c, out, 0, "out of memory");
        return -1;
    }
    runs_batch_terms t = {.rule = rules_name(c->r),
                          .action = rules_action_name(rules_action_of(c->r)),
                          .key = key,
                          .quiet_period_s = b->quiet_period_s,
                          .max_wait_s = b->max_wait_s,
                          .min_events = b->min_events,
                          .closes = rules_batch_marks(c->r, c->vars->name)};
    int size = 0;
    bool closed = false;
    ledger_status st = runs_batch_join(l, c->ctx->hold, &t, c->run_id, &size, &closed);
    if (st != LEDGER_OK) {
        retrain_retry(c, out, 0, "ledger: the event's batch: %s", ledger_last_error(l));
        return -1;
    }
    if (closed && (t.closes || size == b->min_events))
        log_info("retrain: batch %s of rule %s closed by its %s (run %s, %d events)", key, t.rule,
                 t.closes ? "marker" : "min_events", c->run_id, size);
    json_decref(out->outcome);
    *out = (fn_result){.status = FN_QUEUED,
                       .outcome = retrain_outcome_batched(t.rule, t.action, key, size, closed)};
    return 0;
}

/* A Vertex failure of the run's call WHAT: a dead letter (the run failed) when Google refused it
 * for good, else the run waits queued for the follower, else the event is retried. */
void retrain_vertex_failure(const retrain_call *c, const char *what, vtx_err e,
                            const vtx_result *res, fn_result *out)
{
    if (e == VTX_ERR_PERMANENT || e == VTX_ERR_NOT_FOUND || e == VTX_ERR_INVALID) {
        json_decref(out->outcome);
        const char *action = rules_action_name(rules_action_of(c->r));
        char *why = arena_printf(c->ctx->arena, "%s: %s%s%s (HTTP %ld)", what, res->status,
                                 res->status[0] ? ": " : "", res->message, res->http_status);
        *out = (fn_result){.status = FN_FAILED,
                           .error = why ? why : "Vertex AI refused the request",
                           .outcome = retrain_outcome_failed(rules_name(c->r), action, res)};
        /* Google's error.code on an HTTP error is the HTTP status it answered with. */
        retrain_run_failed(c, res->http_status >= 400 ? (int)res->http_status : 0,
                           res->message[0] ? res->message : res->status);
        return;
    }
    /* Google kept failing until our deadline: a run begun is left to the follower, which
     * submits it when Google answers again (finding by label what this call may have made). */
    if (retrain_run_queue(c, what, vtx_err_name(e), res->message, -1, out) == 0)
        return;
    int after = res->retry_after_s > 0 && res->retry_after_s < 3600 ? (int)res->retry_after_s : 0;
    retrain_retry(c, out, after, "%s: %s: %s", what, vtx_err_name(e), res->message);
}
