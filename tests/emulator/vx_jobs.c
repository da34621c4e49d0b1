/* vx_jobs — customJobs and trainingPipelines.
 *
 *   POST .../customJobs                    create (strictly validated); 200 with the CustomJob
 *   GET  .../customJobs[/ID]               list (filter, pageSize, pageToken) / get
 *   POST .../customJobs/ID:cancel          {} ; FAILED_PRECONDITION once finished
 *   the same four for .../trainingPipelines
 *
 * A run is PENDING at creation, RUNNING one clock step later and finished after two: FAILED when
 * its displayName contains "fail" or it has the label emulator-fail=true, else SUCCEEDED. A
 * succeeded pipeline with a modelToUpload makes a model version (vx_models.c): a new
 * version of parentModel, or a new model (modelId, or a numeric id). */
#include "vx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_t *res;
    bool pipeline, fail, finished;
    int64_t t0_mono, t0_wall;
} vx_run;

static vx_run *runs;
static size_t n_runs, cap_runs;
static long created_jobs, created_pipelines;

static bool str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static const char *state_name(bool pipeline, const char *state)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s_STATE_%s", pipeline ? "PIPELINE" : "JOB", state);
    return buf;
}

static void set_time(json_t *res, const char *key, int64_t wall_ms)
{
    char stamp[40];
    emu_rfc3339(wall_ms, stamp, sizeof stamp);
    json_object_set_new(res, key, json_string(stamp));
}

/* The pipeline's product: a model version, named back into modelToUpload. */
static void pipeline_upload(vx_run *r)
{
    json_t *model = json_object_get(r->res, "modelToUpload");
    if (!model)
        return;
    const char *name = json_string_value(json_object_get(r->res, "name"));
    vx_parent parent = {0};
    /* "projects/P/locations/L/trainingPipelines/ID" */
    if (sscanf(name, "projects/%63[^/]/locations/%63[^/]/", parent.project, parent.location) != 2)
        return;
    snprintf(parent.name, sizeof parent.name, "projects/%s/locations/%s", parent.project,
             parent.location);
    char model_name[256], version[32];
    if (vx_models_add_version(&parent, model,
                              json_string_value(json_object_get(r->res, "parentModel")),
                              json_string_value(json_object_get(r->res, "modelId")), model_name,
                              sizeof model_name, version, sizeof version) != 0)
        return;
    char full[300];
    snprintf(full, sizeof full, "%s@%s", model_name, version);
    json_object_set_new(model, "name", json_string(full));
    json_object_set_new(model, "versionId", json_string(version));
}

static void run_advance(vx_run *r, int64_t now)
{
    int64_t clock = vx_clock_ms();
    int64_t step = clock > 0 ? (now - r->t0_mono) / clock : 2;
    if (step >= 1 && !json_object_get(r->res, "startTime")) {
        json_object_set_new(r->res, "state", json_string(state_name(r->pipeline, "RUNNING")));
        set_time(r->res, "startTime", r->t0_wall + (clock > 0 ? clock : 0));
        set_time(r->res, "updateTime", r->t0_wall + (clock > 0 ? clock : 0));
    }
    if (step < 2)
        return;
    int64_t end = r->t0_wall + 2 * (clock > 0 ? clock : 0);
    r->finished = true;
    set_time(r->res, "endTime", end);
    set_time(r->res, "updateTime", end);
    if (r->fail) {
        json_object_set_new(r->res, "state", json_string(state_name(r->pipeline, "FAILED")));
        json_object_set_new(r->res, "error",
                            json_pack("{s:i, s:s}", "code", 13, "message",
                                      "The replica workerpool0-0 exited with a non-zero status "
                                      "of 1 (emulated failure)."));
    } else {
        json_object_set_new(r->res, "state", json_string(state_name(r->pipeline, "SUCCEEDED")));
        if (r->pipeline)
            pipeline_upload(r);
    }
}

void vx_jobs_tick(int64_t now_mono)
{
    for (size_t i = 0; i < n_runs; i++)
        if (!runs[i].finished)
            run_advance(&runs[i], now_mono);
}

void vx_jobs_reset(void)
{
    for (size_t i = 0; i < n_runs; i++)
        json_decref(runs[i].res);
    free(runs);
    runs = NULL;
    n_runs = cap_runs = 0;
    created_jobs = created_pipelines = 0;
}

void vx_jobs_stats(json_t *created)
{
    json_object_set_new(created, "customJobs", json_integer(created_jobs));
    json_object_set_new(created, "trainingPipelines", json_integer(created_pipelines));
}

static bool wants_failure(const json_t *body)
{
    const char *dn = json_string_value(json_object_get(body, "displayName"));
    const json_t *flag = json_object_get(json_object_get(body, "labels"), "emulator-fail");
    return (dn && strstr(dn, "fail")) || str_is(flag, "true");
}

/* Google's checks beyond the schema: each worker pool runs a container or a Python package. */
static bool job_semantics_ok(const json_t *body, emu_response *resp)
{
    const json_t *pools = json_object_get(json_object_get(body, "jobSpec"), "workerPoolSpecs");
    size_t i;
    const json_t *pool;
    char field[128];
    json_array_foreach(pools, i, pool)
    {
        bool c = json_object_get(pool, "containerSpec") != NULL;
        bool p = json_object_get(pool, "pythonPackageSpec") != NULL;
        if (c == p) {
            snprintf(field, sizeof field, "custom_job.job_spec.worker_pool_specs[%zu]", i);
            char msg[256];
            snprintf(msg, sizeof msg,
                     "List of found errors:\t1.Field: %s; Message: exactly one of container_spec "
                     "or python_package_spec must be set.\t",
                     field);
            vx_field_error(resp, field, msg);
            return false;
        }
    }
    /* The emulator runs no persistent resources: any one named does not exist. */
    const char *pr = json_string_value(
        json_object_get(json_object_get(body, "jobSpec"), "persistentResourceId"));
    if (pr && *pr) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "List of found errors:\t1.Field: custom_job.job_spec.persistent_resource_id; "
                 "Message: Persistent resource %.200s does not exist.\t",
                 pr);
        vx_field_error(resp, "custom_job.job_spec.persistent_resource_id", msg);
        return false;
    }
    return true;
}

static void run_create(const emu_request *req, emu_response *resp, const vx_parent *parent,
                       bool pipeline)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    if (!vx_validate(body, pipeline ? vs_training_pipeline : vs_custom_job,
                     pipeline ? "training_pipeline" : "custom_job", resp) ||
        (!pipeline && !job_semantics_ok(body, resp))) {
        json_decref(body);
        return;
    }
    if (pipeline && !vx_model_target_ok(parent, "training_pipeline", "model_to_upload",
                                        json_string_value(json_object_get(body, "parentModel")),
                                        json_string_value(json_object_get(body, "modelId")),
                                        json_object_get(body, "modelToUpload"), resp)) {
        json_decref(body);
        return;
    }
    if (n_runs == cap_runs) {
        size_t cap = cap_runs ? cap_runs * 2 : 64;
        vx_run *nr = realloc(runs, cap * sizeof *runs);
        if (!nr) {
            json_decref(body);
            emu_respond_error(resp, 500, "INTERNAL", "out of memory");
            return;
        }
        runs = nr;
        cap_runs = cap;
    }
    vs_drop_output_only(body, pipeline ? vs_training_pipeline : vs_custom_job);
    char id[32], name[256];
    vx_next_id(id, sizeof id);
    snprintf(name, sizeof name, "%s/%s/%s", parent->name,
             pipeline ? "trainingPipelines" : "customJobs", id);
    vx_run *r = &runs[n_runs++];
    *r = (vx_run){.res = body,
                  .pipeline = pipeline,
                  .fail = wants_failure(body),
                  .t0_mono = emu_mono_ms(),
                  .t0_wall = emu_now_ms()};
    json_object_set_new(body, "name", json_string(name));
    json_object_set_new(body, "state", json_string(state_name(pipeline, "PENDING")));
    set_time(body, "createTime", r->t0_wall);
    set_time(body, "updateTime", r->t0_wall);
    if (pipeline)
        created_pipelines++;
    else
        created_jobs++;
    run_advance(r, r->t0_mono);
    emu_respond_value(resp, 200, json_deep_copy(body));
}

static vx_run *run_find(const vx_parent *parent, const char *collection, const char *id)
{
    char name[300];
    snprintf(name, sizeof name, "%s/%s/%s", parent->name, collection, id);
    for (size_t i = 0; i < n_runs; i++)
        if (str_is(json_object_get(runs[i].res, "name"), name))
            return &runs[i];
    return NULL;
}

static void run_cancel(vx_run *r, emu_response *resp)
{
    if (r->finished) {
        emu_respond_error(resp, 400, "FAILED_PRECONDITION", "Cannot cancel %s in state %s.",
                          json_string_value(json_object_get(r->res, "name")),
                          json_string_value(json_object_get(r->res, "state")));
        return;
    }
    int64_t now = emu_now_ms();
    r->finished = true;
    json_object_set_new(r->res, "state", json_string(state_name(r->pipeline, "CANCELLED")));
    set_time(r->res, "endTime", now);
    set_time(r->res, "updateTime", now);
    json_object_set_new(r->res, "error", json_pack("{s:i, s:s}", "code", 1, "message", "CANCELED"));
    emu_respond_value(resp, 200, json_object());
}

bool vx_jobs_handle(const emu_request *req, emu_response *resp, const vx_parent *parent,
                    const char *rest)
{
    bool pipeline;
    const char *collection;
    if (strncmp(rest, "customJobs", 10) == 0 && (rest[10] == '\0' || rest[10] == '/')) {
        pipeline = false;
        collection = "customJobs";
    } else if (strncmp(rest, "trainingPipelines", 17) == 0 &&
               (rest[17] == '\0' || rest[17] == '/')) {
        pipeline = true;
        collection = "trainingPipelines";
    } else {
        return false;
    }
    const char *tail = rest + strlen(collection);
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (!*tail) {
        if (post) {
            resp->route = pipeline ? "trainingPipelines.create" : "customJobs.create";
            run_create(req, resp, parent, pipeline);
        } else if (get) {
            resp->route = pipeline ? "trainingPipelines.list" : "customJobs.list";
            json_t *all = json_array();
            for (size_t i = 0; i < n_runs; i++) {
                const char *name = json_string_value(json_object_get(runs[i].res, "name"));
                if (runs[i].pipeline == pipeline &&
                    strncmp(name, parent->name, strlen(parent->name)) == 0 &&
                    name[strlen(parent->name)] == '/')
                    json_array_append(all, runs[i].res);
            }
            vx_list_spec spec = {.member = collection, .filter_keys = VF_KEYS_JOBS};
            vx_list(req, resp, all, &spec); /* both lists take no orderBy */
        } else {
            return false;
        }
        return true;
    }
    char id[64];
    const char *idp = tail + 1;
    size_t idlen = strcspn(idp, ":/");
    if (!idlen || idlen >= sizeof id)
        return false;
    memcpy(id, idp, idlen);
    id[idlen] = '\0';
    const char *verb = idp + idlen;
    bool cancel = strcmp(verb, ":cancel") == 0;
    if (!((get && !*verb) || (post && cancel)))
        return false;
    resp->route = cancel ? (pipeline ? "trainingPipelines.cancel" : "customJobs.cancel")
                         : (pipeline ? "trainingPipelines.get" : "customJobs.get");
    vx_run *r = run_find(parent, collection, id);
    if (!r)
        emu_respond_error(resp, 404, "NOT_FOUND", "%s %s/%s/%s is not found.",
                          pipeline ? "TrainingPipeline" : "CustomJob", parent->name, collection,
                          id);
    else if (cancel)
        run_cancel(r, resp);
    else
        emu_respond_value(resp, 200, json_deep_copy(r->res));
    return true;
}
