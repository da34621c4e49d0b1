/* retrain — the function, top to bottom: parse → match → body → submit. See retrain.h. */
#include "retrain.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena_json.h"
#include "clk.h"
#include "log.h"
#include "media_type.h"
#include "printable.h"
#include "retrain_body.h"
#include "retrain_internal.h"
#include "storage_object.h"

#define BUDGET_MIN_MS 1000

/* ---- init ---------------------------------------------------------------------------------- */

static void retrain_fini(void *state)
{
    retrain_state *st = state;
    if (!st)
        return;
    vtx_client_free(st->vtx);
    free(st->upload_slot);
    free(st->read_budget);
    free(st->create_budget);
    gauth_close(st->auth);
    fetch_free(st->http);
    rules_free(st->rules);
    retrain_config_free(&st->conf);
    free(st);
}

static int retrain_init(const config *cfg, void **state, char *err, size_t errlen)
{
    *state = NULL;
    retrain_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "retrain: out of memory");
        return -1;
    }
    char why[1024] = "";
    gauth_options opt;
    gauth_err ge;
    problems p = {.buf = why, .cap = sizeof why};
    if (retrain_config_read(cfg->sections, &st->conf, &p) != 0) {
        snprintf(err, errlen, "retrain: %s", why);
        goto fail;
    }
    if (rules_compile(st->conf.rules, &st->rules, why, sizeof why) != 0) {
        snprintf(err, errlen, "retrain: rules: %s", why);
        goto fail;
    }
    if (!(st->http = fetch_new())) {
        snprintf(err, errlen, "retrain: cannot make an HTTP client");
        goto fail;
    }
    gauth_options_from_env(&opt);
    opt.http = st->http;
    if ((ge = gauth_open(&opt, &st->auth, why, sizeof why)) != GAUTH_OK) {
        snprintf(err, errlen, "retrain: Google credentials (%s): %s", gauth_err_name(ge), why);
        goto fail;
    }
    if (!(st->vtx = vtx_client_new(&st->conf.vertex, st->auth, st->http, why, sizeof why))) {
        snprintf(err, errlen, "retrain: vertex: %s", why);
        goto fail;
    }
    if (asprintf(&st->upload_slot, "models.upload/%s/%s", st->conf.vertex.project,
                 st->conf.vertex.region) < 0)
        st->upload_slot = NULL; /* asprintf leaves it undefined */
    if (asprintf(&st->read_budget, "vertex.reads/%s/%s", st->conf.vertex.project,
                 st->conf.vertex.region) < 0)
        st->read_budget = NULL;
    if (asprintf(&st->create_budget, "vertex.creates/%s/%s", st->conf.vertex.project,
                 st->conf.vertex.region) < 0)
        st->create_budget = NULL;
    if (!st->upload_slot || !st->read_budget || !st->create_budget) {
        snprintf(err, errlen, "retrain: out of memory");
        goto fail;
    }
    *state = st;
    return 0;
fail:
    retrain_fini(st);
    return -1;
}

/* ---- one event ----------------------------------------------------------------------------- */

/* A dead letter. REDELIVERABLE: the cause is this delivery's data, which a later delivery of
 * the same event may carry readably (see function.h). */
static void failed(fn_result *out, const char *why, bool redeliverable)
{
    why = why ? why : "out of memory";
    *out = (fn_result){.status = FN_FAILED,
                       .error = why,
                       .outcome = json_pack("{s:s, s:s}", "status", "failed", "message", why),
                       .redeliverable = redeliverable};
}

static void retrain_handle(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    retrain_state *st = ctx->state;
    arena *a = ctx->arena;
    char err[512] = "";
    storage_object obj;
    const storage_object *objp;
    bool unread;
    if (storage_object_of_event(ev, a, &obj, &objp, &unread, err, sizeof err) != 0) {
        failed(out, arena_strdup(a, err), true);
        return;
    }

    const rule *r = rules_match_why(st->rules, ev, objp, err, sizeof err);
    if (!r && unread) { /* it might have matched by what the data names */
        char ct[PRT_ECHO_SIZE];
        failed(out,
               arena_printf(a,
                            "no rule matched, and the data was not read: its datacontenttype "
                            "\"%s\" is not JSON, as a Cloud Storage event's StorageObjectData is",
                            prt_str(ct, sizeof ct, ev->datacontenttype)),
               true);
        return;
    }
    if (!r) { /* a reason only when a rule refused an unsafe name: say which and why */
        *out = (fn_result){.status = FN_IGNORED,
                           .outcome =
                               err[0] ? json_pack("{s:s, s:s}", "status", "ignored", "reason", err)
                                      : json_pack("{s:s}", "status", "ignored")};
        return;
    }

    template_vars vars;
    const json_t *body = NULL;
    /* A batch's body is built when it is submitted, with its first event's values: built here
     * too, so that an event whose values cannot make one fails alone, not the batch it joins. */
    bool batched = rules_batch_of(r) != NULL;
    if (rules_vars_for_event(r, ev, objp, ctx->event_key, a, &vars) != 0 ||
        !(body = arena_json(a, retrain_request_body(r, &vars, a, err, sizeof err)))) {
        failed(out, arena_printf(a, "rule %s: %s", rules_name(r), err[0] ? err : "out of memory"),
               false);
        return;
    }

    long long budget = (long long)ctx->cfg->request_timeout_s * 1000 / 2;
    char run_id[RUN_ID_LEN + 1] = "";
    retrain_call call = {.st = st,
                         .r = r,
                         .ctx = ctx,
                         .deadline_ms =
                             clk_mono_ms() + (budget > BUDGET_MIN_MS ? budget : BUDGET_MIN_MS),
                         .run_id = run_id,
                         .vars = &vars};
    if (!ctx->ledger) { /* the slots that space and coalesce submissions live there */
        retrain_retry(&call, out, 0, "no ledger to coordinate submissions with");
        return;
    }
    if (batched)
        retrain_run_batch(&call, out);
    else if (rules_action_of(r) == RULES_REGISTER)
        retrain_submit_upload(&call, body, out);
    else
        retrain_submit_run(&call, body, out);
    if (run_id[0] && json_is_object(out->outcome))
        json_object_set_new(out->outcome, "run", json_string(run_id));
}

const fn_def retrain_function = {
    .name = "retrain",
    .summary = "starts Vertex AI training or registers a model when a matching object lands",
    .config_keys = retrain_config_keys,
    .check_config = retrain_config_check,
    .init = retrain_init,
    .fini = retrain_fini,
    .handle = retrain_handle,
    .follow = retrain_follow,
    .cancel = retrain_cancel,
};
