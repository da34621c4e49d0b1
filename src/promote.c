/* promote — see promote.h. */
#include "promote.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias_moves.h"
#include "gcs.h"
#include "clk.h"
#include "json_time.h"
#include "log.h"
#include "template.h"
#include "test_hook.h"

#define METRICS_MAX_BYTES (1024 * 1024) /* a metrics.json larger than this is no metrics file */
#define VERSION_MAX 64
#define MODEL_MAX 512

/* What the gate knows of one version's metric. */
typedef struct {
    bool has;
    double value;
    const char *source; /* "evaluation", "metrics_json" */
    char why[512];      /* without a value: why there is none */
} metric_read;

/* Appends ", and " and FMT to M's why. */
static void why_add(metric_read *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(metric_read *m, const char *fmt, ...)
{
    size_t used = strlen(m->why);
    if (used + 6 >= sizeof m->why)
        return;
    memcpy(m->why + used, ", and ", 7);
    used += 6;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why + used, sizeof m->why - used, fmt, ap);
    va_end(ap);
}

bool promote_metric_of(const json_t *list, const char *metric, double *value)
{
    const json_t *evals = json_object_get(list, "modelEvaluations");
    int64_t best_at = -1;
    bool found = false;
    size_t i;
    const json_t *e;
    json_array_foreach(evals, i, e)
    {
        const json_t *v = json_object_get(json_object_get(e, "metrics"), metric);
        if (!json_is_number(v))
            continue;
        const char *created = json_string_value(json_object_get(e, "createTime"));
        int64_t at = created ? time_parse_rfc3339(created) : 0;
        if (!found || at > best_at) {
            best_at = at;
            *value = json_number_value(v);
            found = true;
        }
    }
    return found;
}

/* MODEL@VERSION split: the model into MODEL (MODEL_MAX), the id into ID (VERSION_MAX). */
static int split_version(const char *name, char *model, char *id)
{
    const char *at = name ? strrchr(name, '@') : NULL;
    if (!at || at == name || !at[1] || (size_t)(at - name) >= MODEL_MAX ||
        strlen(at + 1) >= VERSION_MAX)
        return -1;
    snprintf(model, MODEL_MAX, "%.*s", (int)(at - name), name);
    snprintf(id, VERSION_MAX, "%s", at + 1);
    return 0;
}

/* The ledger key that holds the model's lock for HOLDER (follower/run, or a random string). */
static void holder_key(const char *holder, char out[LEDGER_KEY_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)holder, strlen(holder), NULL, 0);
    sodium_bin2hex(out, LEDGER_KEY_HEX + 1, h, sizeof h);
}

static void lock_name(const char *model, const char *alias, char *out, size_t outlen)
{
    if ((size_t)snprintf(out, outlen, "promote/%s/%s", model, alias) < outlen)
        return;
    char key[LEDGER_KEY_HEX + 1]; /* too long for a slot's name: its hash stands for it */
    char both[MODEL_MAX + 160];
    snprintf(both, sizeof both, "%s/%s", model, alias);
    holder_key(both, key);
    snprintf(out, outlen, "promote/%s", key);
}

/* Takes the lock of MODEL's ALIAS for HOLDER: 0 taken, 1 held by another, 2 the ledger failed. */
static int lock(const promote_env *env, const char *model, const char *alias, const char *holder)
{
    char name[LEDGER_SLOT_RULE_MAX + 1], key[LEDGER_KEY_HEX + 1];
    lock_name(model, alias, name, sizeof name);
    holder_key(holder, key);
    ledger_slot_result res = LEDGER_SLOT_HELD;
    ledger_status ls = ledger_rule_slot(env->l, name, env->lock_s, key, NULL, &res, NULL);
    if (ls != LEDGER_OK) {
        log_warning("promote: %s: lock: %s", model, ledger_last_error(env->l));
        return 2;
    }
    return res == LEDGER_SLOT_TAKEN ? 0 : 1;
}

static void unlock(const promote_env *env, const char *model, const char *alias, const char *holder)
{
    char name[LEDGER_SLOT_RULE_MAX + 1], key[LEDGER_KEY_HEX + 1];
    lock_name(model, alias, name, sizeof name);
    holder_key(holder, key);
    if (ledger_rule_slot_free(env->l, name, key) != LEDGER_OK)
        log_warning("promote: %s: unlock: %s", model, ledger_last_error(env->l));
}

static bool transient(vtx_err e)
{
    return e == VTX_ERR_TRANSIENT || e == VTX_ERR_AUTH || e == VTX_ERR_NOMEM;
}

/* The metric of VERSION (MODEL@ID) from its ModelEvaluations. -1: Google failed (WHY). */
static int metric_from_evaluations(const promote_env *env, const char *version, const char *metric,
                                   metric_read *m, char *why, size_t whylen)
{
    vtx_result res = {0};
    vtx_err e = vtx_list_model_evaluations(env->vtx, version, &res);
    int rc = 0;
    if (e == VTX_OK && promote_metric_of(res.resource, metric, &m->value)) {
        m->has = true;
        m->source = "evaluation";
    } else if (e == VTX_OK || e == VTX_ERR_NOT_FOUND || e == VTX_ERR_PERMANENT) {
        snprintf(m->why, sizeof m->why, "no ModelEvaluation of %s has a number %s%s%s", version,
                 metric, e == VTX_OK ? "" : ": ", e == VTX_OK ? "" : res.message);
    } else {
        snprintf(why, whylen, "models.evaluations.list of %s: %s (%ld %s)", version,
                 vtx_err_name(e), res.http_status, res.message);
        rc = -1;
    }
    vtx_result_clear(&res);
    return rc;
}

/* The version's artifactUri without a trailing '/' into OUT ("" when none). -1: Google failed. */
static int artifact_uri(const promote_env *env, const char *version, char *out, size_t outlen,
                        char *why, size_t whylen)
{
    vtx_result res = {0};
    vtx_err e = vtx_get_model(env->vtx, version, &res);
    out[0] = '\0';
    if (e == VTX_OK) {
        const char *uri = json_string_value(json_object_get(res.resource, "artifactUri"));
        size_t n = uri ? strlen(uri) : 0;
        while (n > 0 && uri[n - 1] == '/')
            n--;
        if (n < outlen)
            snprintf(out, outlen, "%.*s", (int)n, uri ? uri : "");
    } else if (transient(e)) {
        snprintf(why, whylen, "models.get of %s: %s (%ld %s)", version, vtx_err_name(e),
                 res.http_status, res.message);
        vtx_result_clear(&res);
        return -1;
    }
    vtx_result_clear(&res);
    return 0;
}

/* Imports OBJ (the metrics the training wrote at URI) as a ModelEvaluation of VERSION. -1:
 * Google failed for now (WHY); a refusal is logged and the value still counts. */
static int import(const promote_env *env, const char *version, const char *uri, json_t *obj,
                  const char *run_id, char *why, size_t whylen)
{
    char name[128];
    snprintf(name, sizeof name, "retrain run %s (metrics.json)", run_id);
    json_t *eval = json_pack("{s:s, s:O, s:{s:s, s:s}}", "displayName", name, "metrics", obj,
                             "metadata", "source", uri, "run", run_id);
    if (!eval) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    vtx_result res = {0};
    vtx_err e = vtx_import_model_evaluation(env->vtx, version, eval, &res);
    json_decref(eval);
    int rc = 0;
    if (e == VTX_OK) {
        log_info("promote: %s: imported %s as %s", version, uri,
                 json_string_value(json_object_get(res.resource, "name")));
    } else if (transient(e)) {
        snprintf(why, whylen, "models.evaluations.import into %s: %s (%ld %s)", version,
                 vtx_err_name(e), res.http_status, res.message);
        rc = -1;
    } else {
        log_warning("promote: %s: Vertex refused to import %s (%ld %s %s); deciding on it anyway",
                    version, uri, res.http_status, res.status, res.message);
    }
    vtx_result_clear(&res);
    return rc;
}

/* The metric of the run's version from the JSON object at the rule's metrics_uri, imported. */
static int metric_from_file(const promote_env *env, const rules_promote *pr, const char *rule,
                            const run_record *run, const char *model, const char *id,
                            metric_read *m, char *why, size_t whylen)
{
    char art[2048];
    if (artifact_uri(env, run->model_version, art, sizeof art, why, whylen) != 0)
        return -1;
    if (!art[0] && template_names(pr->metrics_uri, "artifact_uri")) {
        why_add(m, "the version has no artifactUri for %s", pr->metrics_uri);
        return 0;
    }
    template_vars vars = {
        .rule = rule, .run_id = run->id, .artifact_uri = art, .model = model, .version_id = id};
    arena *a = arena_new(4096);
    char *uri = a ? template_expand_string(pr->metrics_uri, &vars, a) : NULL;
    if (!uri) {
        arena_free(a);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    char *data = NULL, gwhy[512];
    size_t len = 0;
    long status = 0;
    gcs_err ge = gcs_read(env->http, env->auth, env->storage_endpoint, uri, METRICS_MAX_BYTES,
                          env->storage_timeout_ms, &data, &len, &status, gwhy, sizeof gwhy);
    int rc = 0;
    if (ge == GCS_ERR_TRANSIENT) {
        snprintf(why, whylen, "reading %s", gwhy);
        rc = -1;
    } else if (ge != GCS_OK) {
        why_add(m, "%s %s", uri, status == 404 ? "does not exist" : "cannot be read");
        log_info("promote: %s: %s", run->model_version, gwhy);
    } else {
        json_error_t jerr;
        json_t *obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        const json_t *v = json_object_get(obj, pr->metric);
        if (!json_is_object(obj))
            why_add(m, "%s is not a JSON object", uri);
        else if (!json_is_number(v))
            why_add(m, "%s has no number %s", uri, pr->metric);
        else if ((rc = import(env, run->model_version, uri, obj, run->id, why, whylen)) == 0) {
            m->has = true;
            m->value = json_number_value(v);
            m->source = "metrics_json";
        }
        json_decref(obj);
    }
    free(data);
    arena_free(a);
    return rc;
}

/* The version that holds ALIAS of MODEL into HOLDER ("" when none). -1: Google failed. */
static int holder_of(const promote_env *env, const char *model, const char *alias, char *holder,
                     char *why, size_t whylen)
{
    char name[MODEL_MAX + 160];
    snprintf(name, sizeof name, "%s@%s", model, alias);
    vtx_result res = {0};
    vtx_err e = vtx_get_model(env->vtx, name, &res);
    holder[0] = '\0';
    int rc = 0;
    if (e == VTX_OK) {
        snprintf(holder, VERSION_MAX, "%s",
                 json_string_value(json_object_get(res.resource, "versionId"))
                     ? json_string_value(json_object_get(res.resource, "versionId"))
                     : "");
    } else if (e != VTX_ERR_NOT_FOUND) {
        snprintf(why, whylen, "models.get of %s: %s (%ld %s)", name, vtx_err_name(e),
                 res.http_status, res.message);
        rc = -1;
    }
    vtx_result_clear(&res);
    return rc;
}

/* Moves ALIAS of MODEL to version ID. -1 Google failed for now, 1 refused (WHY). */
static int merge(const promote_env *env, const char *model, const char *alias, const char *id,
                 char *why, size_t whylen)
{
    char name[MODEL_MAX + VERSION_MAX + 2];
    snprintf(name, sizeof name, "%s@%s", model, id);
    const char *aliases[] = {alias, NULL};
    vtx_result res = {0};
    vtx_err e = vtx_merge_version_aliases(env->vtx, name, aliases, &res);
    int rc = e == VTX_OK ? 0 : transient(e) ? -1 : 1;
    if (rc)
        snprintf(why, whylen, "mergeVersionAliases of %s onto %s: %s (%ld %s %s)", alias, name,
                 vtx_err_name(e), res.http_status, res.status, res.message);
    vtx_result_clear(&res);
    return rc;
}

/* Adds M to the audit unless the last move of its alias is this one already (a pass that died
 * after adding it). */
static ledger_status audit(const promote_env *env, const alias_move *m)
{
    alias_move last = {0};
    size_t n = 0;
    alias_move_query q = {.model = m->model, .alias = m->alias, .latest = true, .limit = 1};
    ledger_status ls = alias_moves_list(env->l, &q, &last, 1, &n);
    bool there = ls == LEDGER_OK && n == 1 && strcmp(last.to_version, m->to_version) == 0 &&
                 (m->run_id ? last.run_id && strcmp(last.run_id, m->run_id) == 0 : !last.run_id);
    if (n == 1)
        alias_move_clear(&last);
    if (ls != LEDGER_OK || there)
        return ls;
    return alias_moves_add(env->l, m);
}

static void fmt_value(char *buf, size_t len, const metric_read *m)
{
    if (m->has)
        snprintf(buf, len, "%.6g", m->value);
    else
        snprintf(buf, len, "none");
}

/* The decision's details as JSON text (malloc'd; NULL on OOM). */
static char *details(const rules_promote *pr, const char *decision, const char *reason,
                     const char *id, const metric_read *cand, const char *champ_id,
                     const metric_read *champ)
{
    json_t *c = json_pack("{s:s, s:o, s:o}", "version", id, "value",
                          cand->has ? json_real(cand->value) : json_null(), "source",
                          cand->source ? json_string(cand->source) : json_null());
    json_t *h = champ_id[0] ? json_pack("{s:s, s:o}", "version", champ_id, "value",
                                        champ->has ? json_real(champ->value) : json_null())
                            : json_null();
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:s, s:f, s:o, s:o, s:s, s:o}", "decision", decision, "alias",
                  pr->alias, "metric", pr->metric, "goal", pr->minimize ? "minimize" : "maximize",
                  "min_delta", pr->min_delta, "candidate", c, "champion", h, "reason", reason,
                  "decided", json_time_ms(clk_wall_ms()));
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    return text;
}

/* The champion a promoting run recorded it would replace ("" when none) and the reason it gave,
 * from its details (REASON untouched when none is recorded). */
static void recorded_intent(const run_record *run, char *champion, char *reason, size_t len)
{
    champion[0] = '\0';
    json_t *d = run->decision_json ? json_loads(run->decision_json, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(json_object_get(d, "champion"), "version"));
    const char *why = json_string_value(json_object_get(d, "reason"));
    if (v)
        snprintf(champion, VERSION_MAX, "%s", v);
    if (why)
        snprintf(reason, len, "%s", why);
    json_decref(d);
}

/* What the gate decides, with its reason; sets *PROMOTE. */
static void judge(const rules_promote *pr, const char *id, const metric_read *cand,
                  const char *champ_id, const metric_read *champ, bool *promote, char *reason,
                  size_t len)
{
    char cv[32], hv[32];
    fmt_value(cv, sizeof cv, cand);
    fmt_value(hv, sizeof hv, champ);
    if (champ_id[0] && strcmp(champ_id, id) == 0) {
        *promote = true;
        snprintf(reason, len, "version %s holds %s already", id, pr->alias);
    } else if (!cand->has) {
        *promote = !pr->require_evaluation;
        snprintf(reason, len, "%s; %s", cand->why,
                 pr->require_evaluation ? "held: require_evaluation is true"
                                        : "promoted: require_evaluation is false");
    } else if (!champ_id[0]) {
        *promote = true;
        snprintf(reason, len, "no version holds %s yet: version %s (%s %s) is the first", pr->alias,
                 id, pr->metric, cv);
    } else if (!champ->has) {
        *promote = true;
        snprintf(reason, len, "%s of version %s: %s; the serving version %s has none to compare",
                 pr->metric, id, cv, champ_id);
    } else {
        *promote = rules_promote_wins(pr, cand->value, champ->value);
        snprintf(reason, len, "%s %s of version %s %s %s of version %s by more than %.6g (%s)",
                 pr->metric, cv, id, *promote ? "beats" : "does not beat", hv, champ_id,
                 pr->min_delta, pr->minimize ? "minimize" : "maximize");
    }
}

/* Records DECISION on RUN where it is pending or promoting. */
static promote_result record(const promote_env *env, const run_record *run, const char *decision,
                             const char *text, const char *from, char *why, size_t whylen)
{
    ledger_status ls = runs_decide(env->l, run->id, decision, text, from);
    if (ls == LEDGER_OK || ls == LEDGER_ERR_STATE)
        return PROMOTE_DECIDED; /* STATE: another pass recorded it first */
    snprintf(why, whylen, "recording the decision: %s", ledger_last_error(env->l));
    return PROMOTE_LATER;
}

static promote_result decide_locked(const promote_env *env, const rules_promote *pr,
                                    const char *rule, const run_record *run, const char *model,
                                    const char *id, char *why, size_t whylen)
{
    metric_read cand = {0}, champ = {0};
    char champ_id[VERSION_MAX];
    if (metric_from_evaluations(env, run->model_version, pr->metric, &cand, why, whylen) != 0 ||
        (!cand.has && metric_from_file(env, pr, rule, run, model, id, &cand, why, whylen) != 0) ||
        holder_of(env, model, pr->alias, champ_id, why, whylen) != 0)
        return PROMOTE_LATER;
    if (champ_id[0] && strcmp(champ_id, id) != 0) {
        char champ_name[MODEL_MAX + VERSION_MAX + 2];
        snprintf(champ_name, sizeof champ_name, "%s@%s", model, champ_id);
        if (metric_from_evaluations(env, champ_name, pr->metric, &champ, why, whylen) != 0)
            return PROMOTE_LATER;
    }
    bool promote = false;
    char reason[1024];
    judge(pr, id, &cand, champ_id, &champ, &promote, reason, sizeof reason);
    bool already = champ_id[0] && strcmp(champ_id, id) == 0;
    char replaced[VERSION_MAX];
    snprintf(replaced, sizeof replaced, "%s", champ_id);
    bool resumed = strcmp(run->decision, RUN_DECISION_PROMOTING) == 0;
    if (already && resumed) /* a pass died after the move: its intent says what it replaced */
        recorded_intent(run, replaced, reason, sizeof reason);
    snprintf(why, whylen, "%s", reason);
    char *text = details(pr, promote ? RUN_DECISION_PROMOTED : RUN_DECISION_HELD, reason, id, &cand,
                         already ? replaced : champ_id, &champ);
    if (!text) {
        snprintf(why, whylen, "out of memory");
        return PROMOTE_LATER;
    }
    promote_result out = PROMOTE_DECIDED;
    if (!promote) {
        out = record(env, run, RUN_DECISION_HELD, text, ",pending,promoting,", why, whylen);
        free(text);
        return out;
    }
    if (!already) {
        /* The intent first: a pass after a crash knows which champion this move replaces. */
        if (runs_decide(env->l, run->id, RUN_DECISION_PROMOTING, text, ",pending,promoting,") !=
            LEDGER_OK) {
            snprintf(why, whylen, "recording the intent: %s", ledger_last_error(env->l));
            free(text);
            return PROMOTE_LATER;
        }
        /* The test hook: the follower dies between the decision and the move. */
        if (strcmp(run->decision, RUN_DECISION_PENDING) == 0)
            test_hook_crash("RETRAIN_TEST_CRASH_AFTER_DECISION", rule);
        int m = merge(env, model, pr->alias, id, why, whylen);
        if (m != 0) {
            free(text);
            if (m < 0)
                return PROMOTE_LATER;
            /* Vertex refused the move for good: the version is held, and says why. */
            char refused[1200];
            snprintf(refused, sizeof refused, "%s; but %s", reason, why);
            text = details(pr, RUN_DECISION_HELD, refused, id, &cand, champ_id, &champ);
            out = text ? record(env, run, RUN_DECISION_HELD, text, ",promoting,", why, whylen)
                       : PROMOTE_LATER;
            free(text);
            return out;
        }
    }
    if (!already || resumed) {
        alias_move mv = {.model = (char *)model,
                         .alias = (char *)pr->alias,
                         .from_version = replaced[0] ? replaced : NULL,
                         .to_version = (char *)id,
                         .metric = (char *)pr->metric,
                         .has_value = cand.has,
                         .value = cand.value,
                         .run_id = (char *)run->id,
                         .by = ALIAS_BY_GATE,
                         .why = reason};
        if (audit(env, &mv) != LEDGER_OK) {
            snprintf(why, whylen, "auditing the move: %s", ledger_last_error(env->l));
            free(text);
            return PROMOTE_LATER; /* promoting still: the next pass audits it */
        }
    }
    out = record(env, run, RUN_DECISION_PROMOTED, text, ",pending,promoting,", why, whylen);
    free(text);
    return out;
}

promote_result promote_decide(const promote_env *env, const rules_promote *pr,
                              const char *rule_name, const run_record *run, char *why,
                              size_t whylen)
{
    char model[MODEL_MAX], id[VERSION_MAX], ignored[8];
    why = why ? why : ignored;
    whylen = why == ignored ? sizeof ignored : whylen;
    why[0] = '\0';
    if (split_version(run->model_version, model, id) != 0) {
        /* Nothing to decide on: recorded as held, so it is never looked at again. */
        snprintf(why, whylen, "the run names no model version");
        metric_read none = {0};
        char *text = details(pr, RUN_DECISION_HELD, why, "", &none, "", &none);
        promote_result r =
            text ? record(env, run, RUN_DECISION_HELD, text, ",pending,promoting,", why, whylen)
                 : PROMOTE_LATER;
        free(text);
        return r;
    }
    char holder[256];
    snprintf(holder, sizeof holder, "%s/%s", env->owner ? env->owner : "", run->id);
    int locked = lock(env, model, pr->alias, holder);
    if (locked != 0) {
        snprintf(why, whylen,
                 locked == 1 ? "another decision on %s holds its lock"
                             : "the ledger failed taking the lock of %s",
                 model);
        return locked == 1 ? PROMOTE_BUSY : PROMOTE_LATER;
    }
    promote_result r = decide_locked(env, pr, rule_name, run, model, id, why, whylen);
    unlock(env, model, pr->alias, holder);
    return r;
}

/* The version that held ALIAS before TO took it (the last move to TO): into FROM. 0, 1 none. */
static int previous_holder(const promote_env *env, const char *model, const char *alias,
                           const char *to, char *from, char *metric, char *why, size_t whylen)
{
    alias_move moves[50];
    size_t n = 0;
    alias_move_query q = {.model = model, .alias = alias, .limit = 50};
    if (alias_moves_list(env->l, &q, moves, 50, &n) != LEDGER_OK) {
        snprintf(why, whylen, "%s", ledger_last_error(env->l));
        return 2;
    }
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++) /* newest first */
        if (strcmp(moves[i].to_version, to) == 0 && moves[i].from_version) {
            snprintf(from, VERSION_MAX, "%s", moves[i].from_version);
            if (moves[i].metric)
                snprintf(metric, 160, "%s", moves[i].metric);
            rc = 0;
        }
    for (size_t i = 0; i < n; i++)
        alias_move_clear(&moves[i]);
    if (rc == 1)
        snprintf(why, whylen,
                 "no earlier holder of %s is recorded for version %s: nothing to roll back to",
                 alias, to);
    return rc;
}

/* The metric name the gate last moved ALIAS by, into METRIC ("" when none). */
static void last_metric(const promote_env *env, const char *model, const char *alias, char *metric)
{
    alias_move last = {0};
    size_t n = 0;
    alias_move_query q = {.model = model, .alias = alias, .latest = true, .limit = 1};
    if (alias_moves_list(env->l, &q, &last, 1, &n) == LEDGER_OK && n == 1 && last.metric)
        snprintf(metric, 160, "%s", last.metric);
    if (n == 1)
        alias_move_clear(&last);
}

static int move_locked(const promote_env *env, const char *model, const char *alias, const char *to,
                       const char *by, const char *why, char *from_out, size_t fromlen,
                       char *why_out, size_t whylen)
{
    char holder[VERSION_MAX], target[VERSION_MAX], metric[160] = "";
    if (holder_of(env, model, alias, holder, why_out, whylen) != 0)
        return 2;
    if (from_out)
        snprintf(from_out, fromlen, "%s", holder);
    if (!to) {
        if (!holder[0]) {
            snprintf(why_out, whylen, "no version of %s holds %s: nothing to roll back", model,
                     alias);
            return 1;
        }
        int rc = previous_holder(env, model, alias, holder, target, metric, why_out, whylen);
        if (rc != 0)
            return rc;
    } else {
        snprintf(target, sizeof target, "%s", to);
        last_metric(env, model, alias, metric);
    }
    if (strcmp(target, holder) == 0) {
        snprintf(why_out, whylen, "version %s holds %s already", target, alias);
        return 1;
    }
    int m = merge(env, model, alias, target, why_out, whylen);
    if (m != 0)
        return m < 0 ? 2 : 1;
    metric_read mr = {0};
    char name[MODEL_MAX + VERSION_MAX + 2], ignored[256];
    snprintf(name, sizeof name, "%s@%s", model, target);
    if (metric[0])
        metric_from_evaluations(env, name, metric, &mr, ignored, sizeof ignored);
    alias_move mv = {.model = (char *)model,
                     .alias = (char *)alias,
                     .from_version = holder[0] ? holder : NULL,
                     .to_version = target,
                     .metric = metric[0] ? metric : NULL,
                     .has_value = mr.has,
                     .value = mr.value,
                     .by = (char *)by,
                     .why = (char *)why};
    if (alias_moves_add(env->l, &mv) != LEDGER_OK) {
        snprintf(why_out, whylen, "%s moved to version %s, but the audit failed: %s", alias, target,
                 ledger_last_error(env->l));
        return 2;
    }
    snprintf(why_out, whylen, "%s moved from version %s to version %s", alias,
             holder[0] ? holder : "(none)", target);
    if (from_out && !to)
        snprintf(from_out, fromlen, "%s", holder);
    return 0;
}

int promote_move(const promote_env *env, const char *model, const char *alias, const char *to,
                 const char *by, const char *why, char *from, size_t fromlen, char *why_out,
                 size_t whylen)
{
    if (!model || strchr(model, '@') || strlen(model) >= MODEL_MAX || !alias || !by || !why ||
        (to && (!*to || strlen(to) >= VERSION_MAX))) {
        snprintf(why_out, whylen, "expected projects/.../models/ID, an alias and a version id");
        return 1;
    }
    /* A random holder: a hand that dies leaves the lock to expire, as a follower's does. */
    char holder[40];
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(holder, sizeof holder, r, sizeof r);
    int locked = lock(env, model, alias, holder);
    if (locked != 0) {
        snprintf(why_out, whylen,
                 locked == 1 ? "a promotion decision on %s holds its lock: try again in a moment"
                             : "the ledger failed taking the lock of %s",
                 model);
        return 2;
    }
    int rc = move_locked(env, model, alias, to, by, why, from, fromlen, why_out, whylen);
    unlock(env, model, alias, holder);
    return rc;
}
