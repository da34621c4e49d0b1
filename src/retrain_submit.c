/* retrain_submit — submitting one event's work to Vertex AI exactly once, with burst control
 * and upload spacing through the ledger's rule slots. See retrain.h for the contract.
 *
 * Why the order: a reclaimed event looks for its own work first (a crash between Google's
 * create and the ledger's record must not start a second job); only then does it take its
 * rule's slot, so a holder coming back after a crash finds the slot still its own (slots are
 * re-entrant for their holder) or, if another event took it meanwhile, still adopts its job.
 *
 * Memory: everything here lives in the request's arena. What the Vertex client answers is
 * handed to it (vtx_result_keep), as are the ledger's slots (ledger_slot_in) and the bodies
 * built (arena_json): no path below releases anything by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena_json.h"
#include "budget.h"
#include "clk.h"
#include "lease.h"
#include "ledger.h"
#include "log.h"
#include "retrain.h"
#include "retrain_body.h"
#include "retrain_internal.h"
#include "test_hook.h"

#define HOLDER_WAIT_MS 5000 /* how long to wait for the slot's holder to name its job */
#define HOLDER_POLL_MS 25   /* how often to look meanwhile */
#define HOLDER_RETRY_S 2    /* then: Retry-After */
#define SLOT_ROUNDS 400     /* bound on the slot protocol (each round waits or decides) */
#define OPERATION_POLL_MS 200
#define OPERATION_POLL_MAX_MS 1000

/* The test hook (retrain.h): dies right after Google accepted a create or an upload. */
void retrain_crash_hook(const rule *r)
{
    test_hook_crash("RETRAIN_TEST_CRASH_AFTER_CREATE", rules_name(r));
}

static bool is_pipeline_name(const char *name)
{
    return name && strstr(name, "/trainingPipelines/") != NULL;
}

static const char *resource_name(const vtx_result *res, arena *a)
{
    const char *name = json_string_value(json_object_get(res->resource, "name"));
    return name ? arena_strdup(a, name) : NULL;
}

static vtx_err find_by_event(const retrain_call *c, bool pipeline, const char *event_key,
                             vtx_result *out)
{
    char label[RETRAIN_EVENT_LABEL_LEN + 1];
    retrain_event_label(event_key, label);
    vtx_err e = pipeline ? vtx_find_training_pipeline(c->st->vtx, RETRAIN_LABEL_EVENT, label, out)
                         : vtx_find_custom_job(c->st->vtx, RETRAIN_LABEL_EVENT, label, out);
    return vtx_result_keep(out, c->ctx->arena, e);
}

static void submitted(const retrain_call *c, const char *resource, bool adopted, fn_result *out)
{
    const char *action = rules_action_name(rules_action_of(c->r));
    *out = (fn_result){.status = FN_DONE,
                       .outcome =
                           retrain_outcome_submitted(rules_name(c->r), action, resource, adopted)};
    if (!out->outcome)
        retrain_retry(c, out, 0, "out of memory");
}

static void slot_set_resource(const retrain_call *c, const char *holder, const char *resource)
{
    ledger_status ls =
        ledger_rule_slot_set_resource(c->ctx->ledger, rules_name(c->r), holder, resource);
    /* Not fatal: the work exists and is recorded with the event; the next event of the rule
     * finds it by the holder's label. */
    if (ls != LEDGER_OK)
        log_warning("retrain: rule %s: could not name %s in the rule's slot: %s", rules_name(c->r),
                    resource, ledger_last_error(c->ctx->ledger));
}

/* A model_id rule's model exists already (an earlier event created it). */
static bool already_exists(vtx_err e, const vtx_result *res)
{
    return e == VTX_ERR_PERMANENT && res->http_status == 409;
}

/* A failed create that certainly created nothing: refused (4xx, 429 included), never sent. */
static bool surely_not_created(vtx_err e, const vtx_result *res)
{
    return e == VTX_ERR_PERMANENT || e == VTX_ERR_NOT_FOUND || e == VTX_ERR_INVALID ||
           e == VTX_ERR_AUTH || e == VTX_ERR_NOMEM ||
           (res->http_status >= 400 && res->http_status < 500);
}

/* ---- burst control ------------------------------------------------------------------------- */

typedef enum { BURST_SUBMIT, BURST_DECIDED } burst;

/* The resource the slot's holder HOLDER submitted, found by its label after it failed to name
 * it in time (it may have died between create and record). NULL with OUT decided when it cannot
 * be known now. */
static const char *holder_resource(const retrain_call *c, const char *holder, fn_result *out)
{
    bool pipeline = rules_action_of(c->r) == RULES_TRAIN_AND_REGISTER;
    vtx_result found;
    vtx_err e = find_by_event(c, pipeline, holder, &found);
    const char *name = e == VTX_OK ? resource_name(&found, c->ctx->arena) : NULL;
    if (name)
        slot_set_resource(c, holder, name);
    else if (e == VTX_OK || e == VTX_ERR_NOT_FOUND)
        retrain_retry(c, out, HOLDER_RETRY_S,
                      "rule %s: event %s is still submitting its job; retry later",
                      rules_name(c->r), holder);
    else
        retrain_vertex_failure(c, "looking up the rule's current job", e, &found, out);
    return name;
}

/* Whether RESOURCE is still running: 1 yes, 0 no (finished or gone), -1 unknown (OUT set). */
static int still_running(const retrain_call *c, const char *resource, fn_result *out)
{
    vtx_result got;
    vtx_err e = is_pipeline_name(resource) ? vtx_get_training_pipeline(c->st->vtx, resource, &got)
                                           : vtx_get_custom_job(c->st->vtx, resource, &got);
    e = vtx_result_keep(&got, c->ctx->arena, e);
    int running = -1;
    if (e == VTX_OK)
        running =
            !retrain_state_is_terminal(json_string_value(json_object_get(got.resource, "state")));
    else if (e == VTX_ERR_NOT_FOUND)
        running = 0;
    else
        retrain_vertex_failure(c, "reading the rule's current job", e, &got, out);
    return running;
}

/* The run of the slot's holder HOLDER, as the ledger has it: 1 open (RUN filled), 0 ended, -1
 * not known (no record of it, or one from before runs), -2 the ledger failed (OUT set). */
static int holder_run(const retrain_call *c, const char *holder, run_record *run, fn_result *out)
{
    ledger *l = c->ctx->ledger;
    ledger_record rec;
    ledger_status ls = ledger_get(l, holder, &rec);
    if (ls == LEDGER_OK && rec.run_id)
        ls = runs_get(l, rec.run_id, run);
    else if (ls == LEDGER_OK)
        ls = LEDGER_ERR_NOT_FOUND;
    ledger_record_clear(&rec);
    if (ls == LEDGER_ERR_NOT_FOUND)
        return -1;
    if (ls != LEDGER_OK) {
        retrain_retry(c, out, 0, "ledger: the rule's current run: %s", ledger_last_error(l));
        return -2;
    }
    if (!run_state_is_final(run->state))
        return 1;
    run_record_clear(run);
    return 0;
}

/* The event arrived while the holder's run RUN (RESOURCE, may be NULL) is going: it joins the
 * rule's follow-up, which the follower submits once RUN has ended. */
static void join_follow_up(const retrain_call *c, const char *holder, const run_record *run,
                           const char *resource, fn_result *out)
{
    if (retrain_run_follow_up(c, run->id, out) != 0)
        return;
    json_t *o = retrain_outcome_coalesced(rules_name(c->r), resource ? resource : "", holder);
    if (o && !resource)
        json_object_del(o, "resource"); /* the holder's create has not answered yet */
    if (o) {
        json_object_set_new(o, "after_run", json_string(run->id));
        json_object_set_new(o, "pending", json_true());
    }
    *out = (fn_result){.status = FN_COALESCED, .outcome = o};
    if (!o)
        retrain_retry(c, out, 0, "out of memory");
}

/* Takes the rule's slot (BURST_SUBMIT), or decides OUT: a follow-up of the holder's run while
 * it is going, or a retry. A holder whose run has ended is replaced, atomically: of many events
 * seeing the same ended run, one takes the slot and the others join the follow-up of its run.
 * The ledger says whether a run is going (the follower records its end), so deciding costs no
 * Vertex call; only a holder the ledger has no run of is looked up at Google. */
static burst burst_control(const retrain_call *c, fn_result *out)
{
    const char *rule = rules_name(c->r);
    char replace[LEDGER_KEY_HEX + 1] = "";
    long long wait_until = clk_mono_ms() + HOLDER_WAIT_MS;
    if (wait_until > c->deadline_ms)
        wait_until = c->deadline_ms;
    for (int round = 0; round < SLOT_ROUNDS; round++) {
        ledger_slot *s = ledger_slot_in(c->ctx->arena);
        if (!s) {
            retrain_retry(c, out, 0, "out of memory");
            return BURST_DECIDED;
        }
        ledger_slot_result res;
        ledger_status ls =
            ledger_rule_slot(c->ctx->ledger, rule, rules_min_interval_s(c->r), c->ctx->event_key,
                             replace[0] ? replace : NULL, &res, s);
        if (ls != LEDGER_OK) {
            retrain_retry(c, out, 0, "ledger: rule slot: %s", ledger_last_error(c->ctx->ledger));
            return BURST_DECIDED;
        }
        if (res == LEDGER_SLOT_TAKEN)
            return BURST_SUBMIT;
        const char *holder = s->event_key, *resource = s->resource;
        run_record run;
        int open = holder_run(c, holder, &run, out);
        if (open == -2)
            return BURST_DECIDED;
        if (open == 1) {
            /* Being created right now: its resource is a moment away. */
            bool in_flight = run.state == RUN_QUEUED && !run.next_check_ms && !run.after_run[0];
            if (in_flight && !resource && clk_mono_ms() < wait_until) {
                run_record_clear(&run);
                clk_sleep_ms(HOLDER_POLL_MS);
                continue;
            }
            join_follow_up(c, holder, &run, resource ? resource : run.resource, out);
            run_record_clear(&run);
            return BURST_DECIDED;
        }
        if (open == -1) { /* no run recorded: ask Google */
            if (!resource) {
                if (clk_mono_ms() < wait_until) {
                    clk_sleep_ms(HOLDER_POLL_MS);
                    continue;
                }
                if (!(resource = holder_resource(c, holder, out)))
                    return BURST_DECIDED;
            }
            int running = still_running(c, resource, out);
            if (running < 0)
                return BURST_DECIDED;
            if (running) {
                if (retrain_run_join(c, holder, out) != 0)
                    return BURST_DECIDED;
                *out = (fn_result){.status = FN_COALESCED,
                                   .outcome = retrain_outcome_coalesced(rule, resource, holder)};
                if (!out->outcome)
                    retrain_retry(c, out, 0, "out of memory");
                return BURST_DECIDED;
            }
        }
        snprintf(replace, sizeof replace, "%s", holder);
    }
    retrain_retry(c, out, HOLDER_RETRY_S, "rule %s: its slot did not settle; retry later", rule);
    return BURST_DECIDED;
}

/* Before a call that cannot be taken back (a create, an upload): this delivery's claim must
 * still stand and outlast the call, its retries and its look for what an ambiguous answer left
 * (all within the Vertex deadline). Otherwise a delivery that reclaimed the event when our lease
 * ran out (we waited for a slot, or Google was slow) could look, find nothing yet, and act
 * beside us. 0, or -1 with OUT set: we must not act. */
static int hold_over_call(const retrain_call *c, fn_result *out)
{
    const fn_context *x = c->ctx;
    ledger_status ls =
        lease_hold_for(x->ledger, x->hold, c->st->conf.vertex.deadline_ms, x->cfg->ledger.lease_s);
    if (ls == LEDGER_OK)
        return 0;
    if (ls == LEDGER_ERR_STATE)
        retrain_retry(c, out, HOLDER_RETRY_S,
                      "another delivery of this event took it over when this one's lease ran out; "
                      "not acting beside it");
    else
        retrain_retry(c, out, 0, "the ledger could not renew this delivery's lease");
    return -1;
}

static void hold_after_call(const retrain_call *c)
{
    lease_hold_done(c->ctx->ledger, c->ctx->hold, c->ctx->cfg->ledger.lease_s);
}

/* ---- train, train_and_register ------------------------------------------------------------ */

/* One create from the pool's budget (follow.creates_per_minute): 0, or -1 with OUT decided:
 * spent, the begun run waits queued for the follower (202); the ledger failing, a retry. */
static int create_budget(const retrain_call *c, const char *what, fn_result *out)
{
    bool granted = false;
    int per_minute = c->st->conf.follow.creates_per_minute;
    ledger_status ls = budget_take(c->ctx->ledger, c->st->create_budget, per_minute, &granted);
    if (ls != LEDGER_OK) {
        retrain_retry(c, out, 0, "ledger: create budget: %s", ledger_last_error(c->ctx->ledger));
        return -1;
    }
    if (granted)
        return 0;
    char why[96];
    snprintf(why, sizeof why, "the pool's %d creates a minute are spent", per_minute);
    if (retrain_run_queue(c, what, "budget", why, 1, out) != 0)
        retrain_retry(c, out, (budget_wait_ms(per_minute) + 999) / 1000, "%s: %s", what, why);
    return -1;
}

/* BODY built again now that the run has its id, when a template names ${run_id} (most do not:
 * then BODY is already the one). NULL on OOM. */
static const json_t *with_run_id(const retrain_call *c, const json_t *body)
{
    if (!rules_uses_run_id(c->r) || !c->vars || !c->run_id || !c->run_id[0])
        return body;
    c->vars->run_id = c->run_id;
    char err[256];
    return arena_json(c->ctx->arena,
                      retrain_request_body(c->r, c->vars, c->ctx->arena, err, sizeof err));
}

void retrain_submit_run(const retrain_call *c, const json_t *body, fn_result *out)
{
    bool pipeline = rules_action_of(c->r) == RULES_TRAIN_AND_REGISTER;
    const char *what = pipeline ? "trainingPipelines.create" : "customJobs.create";
    bool burst_controlled = rules_min_interval_s(c->r) > 0;
    arena *a = c->ctx->arena;

    if (c->ctx->reclaimed) {
        vtx_result found;
        vtx_err e = find_by_event(c, pipeline, c->ctx->event_key, &found);
        const char *name = e == VTX_OK ? resource_name(&found, a) : NULL;
        if (e != VTX_OK && e != VTX_ERR_NOT_FOUND) {
            /* Begun first, so that Google's trouble leaves the run to the follower. */
            if (retrain_run_begin(c, out) == 0)
                retrain_vertex_failure(c, "looking for this event's job", e, &found, out);
            return;
        }
        if (name) {
            log_info("retrain: event %s was reclaimed; adopted %s", c->ctx->event_key, name);
            if (burst_controlled)
                slot_set_resource(c, c->ctx->event_key, name);
            if (retrain_run_begin(c, out) == 0 && retrain_run_submitted(c, name, out) == 0)
                submitted(c, name, true, out);
            return;
        }
    }

    if (burst_controlled && burst_control(c, out) == BURST_DECIDED)
        return;

    if (retrain_run_begin(c, out) != 0 || create_budget(c, what, out) != 0 ||
        hold_over_call(c, out) != 0)
        return;
    if (!(body = with_run_id(c, body))) {
        retrain_retry(c, out, 0, "out of memory");
        return;
    }
    char label[RETRAIN_EVENT_LABEL_LEN + 1];
    retrain_event_label(c->ctx->event_key, label);
    vtx_result res;
    vtx_err e =
        pipeline ? vtx_create_training_pipeline(c->st->vtx, body, RETRAIN_LABEL_EVENT, label, &res)
                 : vtx_create_custom_job(c->st->vtx, body, RETRAIN_LABEL_EVENT, label, &res);
    e = vtx_result_keep(&res, a, e);
    const json_t *as_version = NULL;
    if (pipeline && already_exists(e, &res) &&
        (as_version =
             arena_json(a, retrain_body_as_version(body, vtx_client_location(c->st->vtx))))) {
        if (hold_over_call(c, out) != 0)
            return;
        e = vtx_create_training_pipeline(c->st->vtx, as_version, RETRAIN_LABEL_EVENT, label, &res);
        e = vtx_result_keep(&res, a, e);
    }
    hold_after_call(c);
    const char *name = e == VTX_OK ? resource_name(&res, a) : NULL;
    if (!name) {
        /* Nothing was started: the next event may submit at once. When the create may have
         * happened, the slot stays ours: our redelivery re-enters it and adopts the job. */
        if (burst_controlled && surely_not_created(e, &res))
            ledger_rule_slot_free(c->ctx->ledger, rules_name(c->r), c->ctx->event_key);
        if (e == VTX_OK) {
            res.err = VTX_ERR_TRANSIENT;
            snprintf(res.message, sizeof res.message, "the answer names no resource");
            e = VTX_ERR_TRANSIENT;
        }
        retrain_vertex_failure(c, what, e, &res, out);
        return;
    }
    retrain_crash_hook(c->r);
    if (burst_controlled)
        slot_set_resource(c, c->ctx->event_key, name);
    if (retrain_run_submitted(c, name, out) == 0)
        submitted(c, name, res.adopted, out);
}

/* ---- register ------------------------------------------------------------------------------ */

/* How much later than the quota's 2 s the next upload goes: the store's clock (a wall clock,
 * shared by every host) may step or drift against Google's, and a request takes a while to
 * arrive; 2 s on one clock can be 1.9 s on the other. */
#define UPLOAD_MARGIN_MS 250

/* How long the slot's holder still keeps the next upload back (<= 0: not at all). */
static long long upload_wait_ms(const retrain_call *c, const char *slot)
{
    ledger_slot *s = ledger_slot_in(c->ctx->arena);
    if (!s || ledger_rule_slot_get(c->ctx->ledger, slot, s) != LEDGER_OK)
        return 0; /* free, or unreadable: the take below decides */
    return strcmp(s->event_key, c->ctx->event_key) == 0
               ? 0
               : RETRAIN_UPLOAD_SPACING_S * 1000LL + UPLOAD_MARGIN_MS - s->age_ms;
}

/* Waits for the project's upload slot within the deadline: 0, or -1 with OUT decided. */
static int upload_slot(const retrain_call *c, fn_result *out)
{
    const char *slot = c->st->upload_slot;
    for (int round = 0; round < SLOT_ROUNDS; round++) {
        long long wait = upload_wait_ms(c, slot);
        if (wait <= 0) {
            ledger_slot_result res;
            ledger_status ls = ledger_rule_slot(c->ctx->ledger, slot, RETRAIN_UPLOAD_SPACING_S,
                                                c->ctx->event_key, NULL, &res, NULL);
            if (ls != LEDGER_OK) {
                retrain_retry(c, out, 0, "ledger: upload slot: %s",
                              ledger_last_error(c->ctx->ledger));
                return -1;
            }
            if (res == LEDGER_SLOT_TAKEN)
                return 0;
            continue; /* another upload went first: wait for it */
        }
        if (clk_mono_ms() + wait > c->deadline_ms) {
            /* Other uploads go first: the follower uploads this one in its turn. */
            if (retrain_run_queue(c, "models.upload", "spacing",
                                  "uploads are spaced 2 s apart and others go first",
                                  RETRAIN_UPLOAD_SPACING_S, out) != 0)
                retrain_retry(c, out, (int)(wait + 999) / 1000,
                              "models.upload is spaced %d s apart; retry later",
                              RETRAIN_UPLOAD_SPACING_S);
            return -1;
        }
        clk_sleep_ms((long)wait);
    }
    retrain_retry(c, out, RETRAIN_UPLOAD_SPACING_S, "the upload slot did not settle");
    return -1;
}

/* The version an upload operation's response names: "projects/.../models/M@V". */
static const char *uploaded_version(const json_t *op, arena *a)
{
    const json_t *resp = json_object_get(op, "response");
    const char *model = json_string_value(json_object_get(resp, "model"));
    const char *version = json_string_value(json_object_get(resp, "modelVersionId"));
    if (!model)
        return NULL;
    return version ? arena_printf(a, "%s@%s", model, version) : arena_strdup(a, model);
}

/* The upload was done before (an earlier attempt's version carries this event's label). */
static void adopt_version(const retrain_call *c, const vtx_result *res, fn_result *out)
{
    char name[512];
    const char *version = vtx_model_version_name(res->resource, name, sizeof name) == 0
                              ? arena_strdup(c->ctx->arena, name)
                              : NULL;
    /* An upload may have been sent just now (answered ambiguously): the next one waits. */
    ledger_rule_slot_set_resource(c->ctx->ledger, c->st->upload_slot, c->ctx->event_key,
                                  version ? version : "(adopted)");
    if (!version) {
        retrain_retry(c, out, 0, "models.upload: the version found by label names no model");
        return;
    }
    log_info("retrain: event %s: adopted model version %s found by its label", c->ctx->event_key,
             version);
    const char *at = strrchr(version, '@');
    const char *model =
        at ? arena_printf(c->ctx->arena, "%.*s", (int)(at - version), version) : NULL;
    if (retrain_run_registered(c, NULL, model, at ? at + 1 : NULL, out) == 0)
        submitted(c, version, true, out);
}

/* The upload OP was sent and is still going when the request's budget ends. */
static void pending(const retrain_call *c, const char *op, fn_result *out)
{
    if (retrain_run_submitted(c, op, out) != 0)
        return;
    *out = (fn_result){.status = FN_DONE, .outcome = retrain_outcome_pending(rules_name(c->r), op)};
}

void retrain_submit_upload(const retrain_call *c, const json_t *body, fn_result *out)
{
    arena *a = c->ctx->arena;
    if (retrain_run_begin(c, out) != 0 || upload_slot(c, out) != 0 || hold_over_call(c, out) != 0)
        return;
    if (!(body = with_run_id(c, body))) {
        retrain_retry(c, out, 0, "out of memory");
        return;
    }
    char label[RETRAIN_EVENT_LABEL_LEN + 1];
    retrain_event_label(c->ctx->event_key, label);
    /* The client looks for a version with this event's label first (waiting for a running
     * upload when this event was reclaimed) and after an ambiguous failure: never a second. */
    vtx_result res;
    vtx_err e =
        vtx_upload_model(c->st->vtx, body, RETRAIN_LABEL_EVENT, label, c->ctx->reclaimed, &res);
    e = vtx_result_keep(&res, a, e);
    const json_t *as_version = NULL;
    if (already_exists(e, &res) &&
        (as_version =
             arena_json(a, retrain_body_as_version(body, vtx_client_location(c->st->vtx))))) {
        /* A refused upload created nothing: the slot is still ours, send the version now. */
        if (hold_over_call(c, out) != 0)
            return;
        e = vtx_upload_model(c->st->vtx, as_version, RETRAIN_LABEL_EVENT, label, c->ctx->reclaimed,
                             &res);
        e = vtx_result_keep(&res, a, e);
    }
    hold_after_call(c);
    if (e == VTX_OK && res.adopted) {
        adopt_version(c, &res, out);
        return;
    }
    const char *op = e == VTX_OK ? resource_name(&res, a) : NULL;
    /* The next upload waits 2 s from now, when this one has surely reached Google. */
    ledger_rule_slot_set_resource(c->ctx->ledger, c->st->upload_slot, c->ctx->event_key,
                                  op ? op : "(refused)");
    if (!op) {
        if (e == VTX_OK) {
            e = res.err = VTX_ERR_TRANSIENT;
            snprintf(res.message, sizeof res.message, "the answer names no operation");
        }
        retrain_vertex_failure(c, "models.upload", e, &res, out);
        return;
    }
    retrain_crash_hook(c->r);

    /* Follow the operation while the request's budget lasts. */
    long poll = OPERATION_POLL_MS;
    while (!json_is_true(json_object_get(res.resource, "done"))) {
        if (clk_mono_ms() + poll > c->deadline_ms) {
            pending(c, op, out);
            return;
        }
        clk_sleep_ms(poll);
        poll = poll * 2 > OPERATION_POLL_MAX_MS ? OPERATION_POLL_MAX_MS : poll * 2;
        if (vtx_result_keep(&res, a, vtx_get_operation(c->st->vtx, op, &res)) != VTX_OK) {
            /* The upload happened: record it as pending rather than ask for a second one. */
            log_warning("retrain: operations.get %s: %s", op, res.message);
            pending(c, op, out);
            return;
        }
    }
    const json_t *error = json_object_get(res.resource, "error");
    if (error) {
        vtx_result why = {.err = VTX_ERR_PERMANENT, .http_status = 200};
        snprintf(why.status, sizeof why.status, "OPERATION_FAILED");
        snprintf(why.message, sizeof why.message, "%s",
                 json_string_value(json_object_get(error, "message"))
                     ? json_string_value(json_object_get(error, "message"))
                     : "the upload failed");
        /* The operation's error is a google.rpc.Status: its code is Google's canonical one. */
        if (retrain_run_submitted(c, op, out) != 0)
            return;
        retrain_run_failed(c, (int)json_integer_value(json_object_get(error, "code")), why.message);
        retrain_vertex_failure(c, "models.upload", VTX_ERR_PERMANENT, &why, out);
        return;
    }
    const json_t *resp = json_object_get(res.resource, "response");
    if (retrain_run_registered(c, op, json_string_value(json_object_get(resp, "model")),
                               json_string_value(json_object_get(resp, "modelVersionId")),
                               out) != 0)
        return;
    const char *version = uploaded_version(res.resource, a);
    submitted(c, version ? version : op, false, out);
    if (out->outcome)
        json_object_set_new(out->outcome, "operation", json_string(op));
}
