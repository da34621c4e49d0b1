/* vx_evals — a model version's ModelEvaluations, and what evaluation a training run produces.
 *
 *   GET  .../models/ID[@VERSION|@ALIAS]/evaluations        models.evaluations.list (newest
 *                                                          first; pageSize, pageToken, readMask;
 *                                                          a filter is 400)
 *   GET  .../models/ID[@V]/evaluations/EID                 models.evaluations.get
 *   POST .../models/ID[@V]/evaluations:import              {"modelEvaluation":{...}} strictly
 *                                                          checked -> the ModelEvaluation
 *   POST /emulator/vertex/outcomes   {"display_name_contains","metrics","write"} queued
 *   GET  /emulator/vertex/outcomes   {"outcomes":[...]} still queued
 *
 * No @ names the default version. An evaluation is named
 * projects/P/locations/L/models/ID/evaluations/EID (numeric), as Google names them, and belongs
 * to the version the URL named. When a training pipeline succeeds and makes its version, the
 * first queued outcome whose display_name_contains is part of the pipeline's displayName (or
 * that has none) is taken: "evaluation" (the default) adds a ModelEvaluation with its metrics
 * to the version, as Google's pipeline evaluation components import one; "metrics_json" writes
 * the metrics as the Cloud Storage object ARTIFACT_URI/metrics.json (the version's artifactUri
 * without its trailing '/'), as a training job writing its own would; "none" adds nothing. */
#include "vx.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char model[256]; /* projects/P/locations/L/models/ID */
    char version[32];
    json_t *res; /* the ModelEvaluation as answered */
} vx_eval;

typedef struct {
    char *contains; /* NULL: any pipeline */
    json_t *metrics;
    char write[16];
} vx_outcome;

static vx_eval *evals;
static size_t n_evals, cap_evals;
static vx_outcome *outcomes;
static size_t n_outcomes, cap_outcomes;
static long imported, produced;

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, c * size);
    if (!na)
        return false;
    *arr = na;
    *cap = c;
    return true;
}

/* Adds EVAL (a ModelEvaluation's members, borrowed) to MODEL's VERSION: the resource, or NULL. */
static json_t *eval_add(const char *model, const char *version, const json_t *eval)
{
    if (!grow((void **)&evals, &cap_evals, n_evals, sizeof *evals))
        return NULL;
    json_t *res = json_deep_copy(eval);
    if (!res)
        return NULL;
    json_object_del(res, "name");
    json_object_del(res, "createTime");
    char id[64], name[400], stamp[40];
    vx_next_id(id, sizeof id);
    snprintf(name, sizeof name, "%s/evaluations/%s", model, id);
    emu_rfc3339(emu_now_ms(), stamp, sizeof stamp);
    json_object_set_new(res, "name", json_string(name));
    json_object_set_new(res, "createTime", json_string(stamp));
    vx_eval *e = &evals[n_evals++];
    snprintf(e->model, sizeof e->model, "%s", model);
    snprintf(e->version, sizeof e->version, "%s", version);
    e->res = res;
    return res;
}

static void import(const emu_request *req, emu_response *resp, const char *model,
                   const char *version)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    if (vx_validate(body, vs_import_model_evaluation_request, "import_model_evaluation_request",
                    resp)) {
        json_t *res = eval_add(model, version, json_object_get(body, "modelEvaluation"));
        if (res) {
            imported++;
            emu_respond_value(resp, 200, json_deep_copy(res));
        } else {
            emu_respond_error(resp, 500, "INTERNAL", "out of memory");
        }
    }
    json_decref(body);
}

static const vx_list_spec evals_spec = {"modelEvaluations", 0, NULL};

bool vx_evals_handle(const emu_request *req, emu_response *resp, const char *model,
                     const char *version, const char *tail)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (get && strcmp(tail, "/evaluations") == 0) {
        resp->route = "models.evaluations.list";
        const char *filter = req->query(req, "filter");
        if (filter && *filter) {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Unsupported filter: %.200s", filter);
            return true;
        }
        json_t *all = json_array();
        for (size_t i = 0; i < n_evals; i++)
            if (strcmp(evals[i].model, model) == 0 && strcmp(evals[i].version, version) == 0)
                json_array_append(all, evals[i].res);
        vx_list(req, resp, all, &evals_spec);
        return true;
    }
    if (get && strncmp(tail, "/evaluations/", 13) == 0 && tail[13] && !strchr(tail + 13, '/')) {
        resp->route = "models.evaluations.get";
        char name[400];
        snprintf(name, sizeof name, "%s%s", model, tail);
        for (size_t i = 0; i < n_evals; i++)
            if (strcmp(evals[i].version, version) == 0 &&
                strcmp(json_string_value(json_object_get(evals[i].res, "name")), name) == 0) {
                emu_respond_value(resp, 200, json_deep_copy(evals[i].res));
                return true;
            }
        emu_respond_error(resp, 404, "NOT_FOUND", "ModelEvaluation %.300s is not found.", name);
        return true;
    }
    if (post && strcmp(tail, "/evaluations:import") == 0) {
        resp->route = "models.evaluations.import";
        import(req, resp, model, version);
        return true;
    }
    return false;
}

/* ARTIFACT_URI/metrics.json := METRICS in the emulator's Cloud Storage. */
static void write_metrics(const char *artifact_uri, const json_t *metrics, const char *version)
{
    char bucket[256], object[1100];
    const char *path = artifact_uri && strncmp(artifact_uri, "gs://", 5) == 0
                           ? strchr(artifact_uri + 5, '/')
                           : NULL;
    size_t blen = path ? (size_t)(path - artifact_uri - 5) : 0;
    if (!path || !blen || blen >= sizeof bucket) {
        log_warning("outcome for %s: no gs:// artifactUri to write metrics.json under", version);
        return;
    }
    snprintf(bucket, sizeof bucket, "%.*s", (int)blen, artifact_uri + 5);
    size_t plen = strlen(path + 1);
    while (plen > 0 && path[plen] == '/')
        plen--;
    snprintf(object, sizeof object, "%.*s%smetrics.json", (int)plen, path + 1, plen ? "/" : "");
    char *text = json_dumps(metrics, JSON_COMPACT);
    if (!text || emu_storage_put(bucket, object, "application/json", text, strlen(text)) != 0)
        log_warning("outcome for %s: could not write gs://%s/%s", version, bucket, object);
    free(text);
}

void vx_evals_trained(const char *display_name, const char *model, const char *version,
                      const json_t *model_version)
{
    for (size_t i = 0; i < n_outcomes; i++) {
        vx_outcome *o = &outcomes[i];
        if (o->contains && (!display_name || !strstr(display_name, o->contains)))
            continue;
        char full[300];
        snprintf(full, sizeof full, "%s@%s", model, version);
        if (strcmp(o->write, "evaluation") == 0) {
            json_t *eval = json_pack("{s:s, s:O}", "displayName", "emulator evaluation", "metrics",
                                     o->metrics);
            if (!eval || !eval_add(model, version, eval))
                log_warning("outcome for %s: out of memory", full);
            json_decref(eval);
        } else if (strcmp(o->write, "metrics_json") == 0) {
            write_metrics(json_string_value(json_object_get(model_version, "artifactUri")),
                          o->metrics, full);
        }
        produced++;
        free(o->contains);
        json_decref(o->metrics);
        memmove(o, o + 1, (n_outcomes - i - 1) * sizeof *o);
        n_outcomes--;
        return;
    }
}

static json_t *outcome_json(const vx_outcome *o)
{
    return json_pack("{s:o, s:O, s:s}", "display_name_contains",
                     o->contains ? json_string(o->contains) : json_null(), "metrics", o->metrics,
                     "write", o->write);
}

void vx_evals_outcomes(const emu_request *req, emu_response *resp)
{
    if (strcmp(req->method, "GET") == 0) {
        json_t *all = json_array();
        for (size_t i = 0; i < n_outcomes; i++)
            json_array_append_new(all, outcome_json(&outcomes[i]));
        emu_respond_value(resp, 200, json_pack("{s:o}", "outcomes", all));
        return;
    }
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    const json_t *contains = json_object_get(body, "display_name_contains");
    const json_t *metrics = json_object_get(body, "metrics");
    const char *write = json_string_value(json_object_get(body, "write"));
    size_t known = !!contains + !!metrics + !!json_object_get(body, "write");
    if ((contains && !json_is_string(contains)) || (metrics && !json_is_object(metrics)) ||
        (json_object_get(body, "write") && !write) || known != json_object_size(body) ||
        (write && strcmp(write, "evaluation") != 0 && strcmp(write, "metrics_json") != 0 &&
         strcmp(write, "none") != 0)) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                          "expected {\"display_name_contains\": string, \"metrics\": object, "
                          "\"write\": \"evaluation\" | \"metrics_json\" | \"none\"}");
        json_decref(body);
        return;
    }
    if (!grow((void **)&outcomes, &cap_outcomes, n_outcomes, sizeof *outcomes)) {
        emu_respond_error(resp, 500, "INTERNAL", "out of memory");
        json_decref(body);
        return;
    }
    vx_outcome *o = &outcomes[n_outcomes++];
    o->contains = contains ? strdup(json_string_value(contains)) : NULL;
    o->metrics = metrics ? json_incref((json_t *)metrics) : json_object();
    snprintf(o->write, sizeof o->write, "%s", write ? write : "evaluation");
    emu_respond_value(resp, 200, outcome_json(o));
    json_decref(body);
}

void vx_evals_reset(void)
{
    for (size_t i = 0; i < n_evals; i++)
        json_decref(evals[i].res);
    for (size_t i = 0; i < n_outcomes; i++) {
        free(outcomes[i].contains);
        json_decref(outcomes[i].metrics);
    }
    free(evals);
    free(outcomes);
    evals = NULL;
    outcomes = NULL;
    n_evals = cap_evals = n_outcomes = cap_outcomes = 0;
    imported = produced = 0;
}

void vx_evals_stats(json_t *created)
{
    json_object_set_new(created, "evaluationsImported", json_integer(imported));
    json_object_set_new(created, "outcomesProduced", json_integer(produced));
}
