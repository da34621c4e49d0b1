/* retrain_queued — the follower submits a queued run (retrain_internal.h): one the request path
 * handed on because Google kept failing, or a follow-up that collected the events which arrived
 * while its rule's run was going.
 *
 * The body is built when the run is submitted, from the events it covers as the ledger stored
 * them: the first event's placeholders, and the batch's (${batch_size}, ${batch_first_name},
 * ${batch_last_name}, ${batch_prefix}, ${run_id}). It carries the first event's label, as the
 * request path's create would, so exactly once holds the same way: the job or pipeline with that
 * label is looked for first and adopted (an earlier attempt, here or on the request path, may
 * have made it and died before the record), and only when there is surely none is it created.
 *
 * A batch whose rule has a manifest gets it written first (gcs.h), one JSON line per event it
 * covers, at the gs:// URI ${batch_manifest_uri} names; the object is written again, whole, by
 * each attempt that creates, so a crash between the write and the create leaves no partial one.
 * A write that fails leaves the run queued.
 *
 * Memory: everything lives in one arena for the call (the manifest's text on the heap, freed by
 * an arena cleanup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena_json.h"
#include "gcs.h"
#include "log.h"
#include "retrain.h"
#include "retrain_body.h"
#include "retrain_internal.h"
#include "runs.h"

#define FAILED_PRECONDITION 9 /* google.rpc.Code, for a run the config can no longer make */
#define CANCELLED_CODE 1

typedef struct {
    retrain_state *st;
    ledger *l;
    const run_record *run;
    arena *a;
    const char *manifest_uri; /* where the batch's manifest goes; NULL: none */
    char *manifest;           /* its text (JSON lines) */
    size_t manifest_len;
} queued_call;

/* The manifest's line for one event: its object and its id. -1 when it cannot be made (out of
 * memory; the request path refused names and ids that are not UTF-8). */
static int manifest_line(FILE *f, const template_vars *v, const storage_object *obj)
{
    json_t *line = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "bucket", v->bucket, "name", v->name,
                             "generation", obj ? obj->generation : NULL, "size",
                             obj ? obj->size : NULL, "event_id", v->event_id);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    int rc = text && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    free(text);
    json_decref(line);
    return rc;
}

/* The run ends as STATE without reaching Google (WHY), its events failed with it. */
static queued_result end_here(const queued_call *q, run_state state, int code, const char *why)
{
    char text[640];
    snprintf(text, sizeof text, "run %s: %.512s", q->run->id, why);
    int64_t n = 0;
    ledger_status ls =
        state == RUN_FAILED ? runs_fail_events(q->l, q->run->id, text, &n) : LEDGER_OK;
    run_change ch = {.state = state, .error_code = code, .error_message = why};
    if (ls == LEDGER_OK)
        ls = runs_update(q->l, q->run->id, &ch);
    if (ls != LEDGER_OK && ls != LEDGER_ERR_STATE) {
        log_warning("follow: run %s: could not record its end: %s", q->run->id,
                    ledger_last_error(q->l));
        return QUEUED_LATER;
    }
    log_warning("run %s: queued -> %s (%s)", q->run->id, run_state_name(state), why);
    return QUEUED_MOVED;
}

/* The placeholders of the event recorded under KEY (which must outlive VARS) into VARS. -1 with
 * WHY when its record or stored event cannot be read; *LATER then tells a passing failure (the
 * ledger) from one no later attempt mends (the record is gone, or holds no readable event). */
static int read_event(const queued_call *q, const rule *r, const char *key, template_vars *vars,
                      FILE *manifest, char *why, size_t whylen, bool *later)
{
    ledger_record rec;
    ledger_status ls = ledger_get(q->l, key, &rec);
    if (ls != LEDGER_OK) {
        *later = ls != LEDGER_ERR_NOT_FOUND;
        snprintf(why, whylen, "event %s: %s", key, ledger_last_error(q->l));
        return -1;
    }
    int rc = -1;
    json_t *stored = rec.event_json ? json_loads(rec.event_json, 0, NULL) : NULL;
    cloudevent ev;
    storage_object obj;
    const storage_object *objp = NULL;
    char err[256] = "";
    if (!stored)
        snprintf(why, whylen, "event %s: the ledger holds no readable event", key);
    else if (ce_from_json(stored, q->a, &ev, err, sizeof err) != CE_OK ||
             storage_object_of_event(&ev, q->a, &obj, &objp, NULL, err, sizeof err) != 0)
        snprintf(why, whylen, "event %s: %s", key, err);
    else if (rules_vars_for_event(r, &ev, objp, key, q->a, vars) != 0)
        snprintf(why, whylen, "out of memory");
    else
        rc = 0;
    if (rc == 0 && manifest && manifest_line(manifest, vars, objp) != 0) {
        snprintf(why, whylen, "out of memory (its manifest)");
        *later = true;
        rc = -1;
    }
    json_decref(stored);
    ledger_record_clear(&rec);
    return rc;
}

/* The body of the run: its first event's values and its batch's. NULL with WHY (a problem of the
 * run's own, which no later attempt mends: LATER false) or a passing one (LATER true). */
static void free_text(void *p)
{
    free(*(char **)p);
}

static const json_t *body_of(queued_call *q, const rule *r, template_vars *vars,
                             char first_key[LEDGER_KEY_HEX + 1], char *why, size_t whylen,
                             bool *later)
{
    *later = false;
    size_t cap = q->run->events > 0 ? (size_t)q->run->events : 1, n = 0;
    char(*keys)[LEDGER_KEY_HEX + 1] = arena_alloc(q->a, cap * sizeof *keys);
    const char **names = arena_alloc(q->a, cap * sizeof *names);
    if (!keys || !names) {
        snprintf(why, whylen, "out of memory");
        *later = true;
        return NULL;
    }
    if (runs_events(q->l, q->run->id, keys, cap, &n) != LEDGER_OK) {
        snprintf(why, whylen, "%s", ledger_last_error(q->l));
        *later = true;
        return NULL;
    }
    if (n == 0) {
        snprintf(why, whylen, "it covers no event");
        return NULL;
    }
    size_t named = 0;
    FILE *manifest = NULL;
    char **text = NULL;
    q->manifest_uri = rules_batch_manifest_uri(r, q->run->id, q->a);
    if (q->manifest_uri) {
        text = arena_zalloc_owned(q->a, sizeof *text, free_text);
        manifest = text ? open_memstream(text, &q->manifest_len) : NULL;
        if (!manifest) {
            snprintf(why, whylen, "out of memory");
            *later = true;
            return NULL;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) { /* KEYS live in the arena: vars point into them */
        template_vars one = {0}, *v = i == 0 ? vars : &one;
        rc = read_event(q, r, keys[i], v, manifest, why, whylen, later);
        if (rc == 0 && v->name)
            names[named++] = v->name;
    }
    if (manifest && fclose(manifest) != 0 && rc == 0) {
        snprintf(why, whylen, "out of memory");
        *later = true;
        return NULL;
    }
    if (rc != 0)
        return NULL;
    if (text && !*text) {
        snprintf(why, whylen, "out of memory (its manifest)");
        *later = true;
        return NULL;
    }
    q->manifest = text ? *text : NULL;
    vars->batch_manifest_uri = q->manifest_uri;
    snprintf(first_key, LEDGER_KEY_HEX + 1, "%s", keys[0]);
    vars->run_id = q->run->id;
    if (rules_vars_batch(vars, names, named, n, q->a) != 0) {
        snprintf(why, whylen, "out of memory");
        *later = true;
        return NULL;
    }
    char err[512] = "";
    const json_t *body = arena_json(q->a, retrain_request_body(r, vars, q->a, err, sizeof err));
    if (!body)
        snprintf(why, whylen, "rule %s: %.400s", rules_name(r), err[0] ? err : "out of memory");
    return body;
}

/* WHAT failed with E: a refusal ends the run as failed (its events dead letters), anything else
 * leaves it queued for a later attempt. */
static queued_result failed_call(const queued_call *q, const char *what, vtx_err e,
                                 const vtx_result *res)
{
    if (e == VTX_ERR_PERMANENT || e == VTX_ERR_INVALID ||
        (e == VTX_ERR_NOT_FOUND && res->http_status == 404)) {
        char why[512];
        snprintf(why, sizeof why, "%s: %s%s%s (HTTP %ld)", what, res->status,
                 res->status[0] ? ": " : "", res->message, res->http_status);
        return end_here(q, RUN_FAILED, res->http_status >= 400 ? (int)res->http_status : 0, why);
    }
    log_warning("follow: run %s: %s: %s (%ld %s %s); still queued", q->run->id, what,
                vtx_err_name(e), res->http_status, res->status, res->message);
    return QUEUED_LATER;
}

/* The burst-controlled rule's slot names this run's work once no going run holds it, so the
 * events after it join its follow-up. */
static void take_slot(const queued_call *q, const rule *r, const char *first_key,
                      const char *resource)
{
    if (rules_min_interval_s(r) <= 0)
        return;
    ledger_slot_result res;
    ledger_status ls =
        ledger_rule_slot(q->l, rules_name(r), rules_min_interval_s(r), first_key, NULL, &res, NULL);
    if (ls == LEDGER_OK && res != LEDGER_SLOT_TAKEN && q->run->after_run[0]) {
        /* Held by the event of the run this one came after, which has ended: ours now. */
        ledger_slot *s = ledger_slot_in(q->a);
        ledger_record rec;
        if (s && ledger_rule_slot_get(q->l, rules_name(r), s) == LEDGER_OK &&
            ledger_get(q->l, s->event_key, &rec) == LEDGER_OK) {
            if (rec.run_id && strcmp(rec.run_id, q->run->after_run) == 0)
                ls = ledger_rule_slot(q->l, rules_name(r), rules_min_interval_s(r), first_key,
                                      s->event_key, &res, NULL);
            ledger_record_clear(&rec);
        }
    }
    if (ls == LEDGER_OK && res == LEDGER_SLOT_TAKEN)
        ledger_rule_slot_set_resource(q->l, rules_name(r), first_key, resource);
}

/* The outcome of an upload sent (or a version adopted) for the run: recorded as the request
 * path's upload is (the operation, which the follower follows; or the version found). */
static queued_result uploaded(const queued_call *q, const char *first_key, vtx_err e,
                              const vtx_result *res)
{
    const char *slot = q->st->upload_slot;
    if (e == VTX_OK && res->adopted) {
        char version[512];
        if (vtx_model_version_name(res->resource, version, sizeof version) != 0)
            return QUEUED_LATER;
        const char *at = strrchr(version, '@');
        ledger_rule_slot_set_resource(q->l, slot, first_key, version);
        run_change ch = {.state = RUN_SUCCEEDED,
                         .model_version = version,
                         .model_version_id = at ? at + 1 : NULL,
                         .decision = retrain_decision_due(q->st, q->run->rule)};
        if (runs_update(q->l, q->run->id, &ch) != LEDGER_OK)
            return QUEUED_LATER;
        log_info("run %s: queued -> succeeded (%s, adopted)", q->run->id, version);
        return QUEUED_MOVED;
    }
    const char *op = e == VTX_OK ? json_string_value(json_object_get(res->resource, "name")) : NULL;
    /* The next upload waits 2 s from now, when this one has surely reached Google. */
    ledger_rule_slot_set_resource(q->l, slot, first_key, op ? op : "(refused)");
    if (!op)
        return QUEUED_LATER; /* the caller tells a refusal from a passing failure */
    ledger_status ls =
        runs_update(q->l, q->run->id, &(run_change){.state = RUN_SUBMITTED, .resource = op});
    if (ls != LEDGER_OK && ls != LEDGER_ERR_STATE)
        return QUEUED_LATER; /* the next attempt finds the upload by its label */
    log_info("run %s: queued -> submitted (%s; %d events)", q->run->id, op, q->run->events);
    return QUEUED_MOVED;
}

/* models.upload of a register rule's run, spaced 2 s apart with every other upload of the
 * project and region (the request path's slot), after looking for a version or a running
 * upload with the run's label. */
static queued_result upload(const queued_call *q, const json_t *body, const char *first_key,
                            const char *label)
{
    ledger_slot_result taken;
    ledger_status ls = ledger_rule_slot(q->l, q->st->upload_slot, RETRAIN_UPLOAD_SPACING_S,
                                        first_key, NULL, &taken, NULL);
    if (ls != LEDGER_OK || taken != LEDGER_SLOT_TAKEN)
        return QUEUED_SOON; /* another upload went less than 2 s ago */
    vtx_client *v = q->st->vtx;
    vtx_result res = {0};
    vtx_err e = vtx_result_keep(&res, q->a,
                                vtx_upload_model(v, body, RETRAIN_LABEL_EVENT, label, true, &res));
    const json_t *as_version = NULL;
    if (e == VTX_ERR_PERMANENT && res.http_status == 409 &&
        (as_version = arena_json(q->a, retrain_body_as_version(body, vtx_client_location(v)))))
        e = vtx_result_keep(
            &res, q->a, vtx_upload_model(v, as_version, RETRAIN_LABEL_EVENT, label, true, &res));
    queued_result moved = uploaded(q, first_key, e, &res);
    return moved == QUEUED_MOVED || e == VTX_OK ? moved : failed_call(q, "models.upload", e, &res);
}

/* The batch's manifest, written whole before the create that names it. */
static bool manifest_written(const queued_call *q)
{
    if (!q->manifest_uri)
        return true;
    const storage_config *s = &q->st->conf.storage;
    char why[512];
    long status = 0;
    gcs_err e =
        gcs_upload(q->st->http, q->st->auth, s->endpoint, q->manifest_uri, "application/x-ndjson",
                   q->manifest, q->manifest_len, s->timeout_ms, &status, why, sizeof why);
    if (e != GCS_OK) {
        log_warning("follow: run %s: writing its manifest: %s (%s); still queued", q->run->id, why,
                    gcs_err_name(e));
        return false;
    }
    log_info("run %s: manifest written: %s (%d events, %zu bytes)", q->run->id, q->manifest_uri,
             q->run->events, q->manifest_len);
    return true;
}

static queued_result submit(queued_call *q, const rule *r)
{
    template_vars vars;
    char first_key[LEDGER_KEY_HEX + 1], why[512] = "";
    bool later;
    const json_t *body = body_of(q, r, &vars, first_key, why, sizeof why, &later);
    if (!body) {
        if (later) {
            log_warning("follow: run %s: %s; trying again later", q->run->id, why);
            return QUEUED_LATER;
        }
        return end_here(q, RUN_FAILED, FAILED_PRECONDITION, why);
    }
    char label[RETRAIN_EVENT_LABEL_LEN + 1];
    retrain_event_label(first_key, label);
    if (rules_action_of(r) == RULES_REGISTER)
        return manifest_written(q) ? upload(q, body, first_key, label) : QUEUED_LATER;
    bool pipeline = rules_action_of(r) == RULES_TRAIN_AND_REGISTER;
    const char *what = pipeline ? "trainingPipelines.create" : "customJobs.create";
    vtx_client *v = q->st->vtx;
    vtx_result res = {0};
    vtx_err e = pipeline ? vtx_find_training_pipeline(v, RETRAIN_LABEL_EVENT, label, &res)
                         : vtx_find_custom_job(v, RETRAIN_LABEL_EVENT, label, &res);
    e = vtx_result_keep(&res, q->a, e);
    bool adopted = e == VTX_OK;
    if (e == VTX_ERR_NOT_FOUND && !manifest_written(q))
        return QUEUED_LATER;
    if (e == VTX_ERR_NOT_FOUND) {
        e = pipeline ? vtx_create_training_pipeline(v, body, RETRAIN_LABEL_EVENT, label, &res)
                     : vtx_create_custom_job(v, body, RETRAIN_LABEL_EVENT, label, &res);
        e = vtx_result_keep(&res, q->a, e);
        const json_t *as_version = NULL;
        if (pipeline && e == VTX_ERR_PERMANENT && res.http_status == 409 &&
            (as_version = arena_json(q->a, retrain_body_as_version(body, vtx_client_location(v)))))
            e = vtx_result_keep(
                &res, q->a,
                vtx_create_training_pipeline(v, as_version, RETRAIN_LABEL_EVENT, label, &res));
        adopted = e == VTX_OK && res.adopted;
    }
    const char *name =
        e == VTX_OK ? json_string_value(json_object_get(res.resource, "name")) : NULL;
    if (name) {
        if (!adopted)
            retrain_crash_hook(r); /* the test hook: the follower dies before it records the run */
        take_slot(q, r, first_key, name);
        ledger_status ls =
            runs_update(q->l, q->run->id, &(run_change){.state = RUN_SUBMITTED, .resource = name});
        if (ls != LEDGER_OK && ls != LEDGER_ERR_STATE) {
            log_warning("follow: run %s: %s made %s, not recorded yet: %s", q->run->id, what, name,
                        ledger_last_error(q->l));
            return QUEUED_LATER; /* the next attempt adopts it by its label */
        }
        log_info("run %s: queued -> submitted (%s%s; %d events)", q->run->id, name,
                 adopted ? ", adopted" : "", q->run->events);
        return QUEUED_MOVED;
    }
    return failed_call(q, what, e, &res);
}

queued_result retrain_submit_queued(retrain_state *st, ledger *l, const run_record *run)
{
    arena *a = arena_new(16384);
    if (!a)
        return QUEUED_LATER;
    queued_call q = {.st = st, .l = l, .run = run, .a = a};
    const rule *r = rules_find(st->rules, run->rule);
    queued_result res;
    if (!r)
        res =
            end_here(&q, RUN_FAILED, FAILED_PRECONDITION, "its rule is not in the config any more");
    else if (run->events == 0)
        res = end_here(&q, RUN_CANCELLED, CANCELLED_CODE, "it covers no event");
    else
        res = submit(&q, r);
    arena_free(a);
    return res;
}
