/* vx_jobs — customJobs and trainingPipelines.
 *
 *   POST .../customJobs                    create (strictly validated); 200 with the CustomJob
 *   GET  .../customJobs[/ID]               list (filter, pageSize, pageToken) / get
 *   POST .../customJobs/ID:cancel          {} ; FAILED_PRECONDITION once finished
 *   the same four for .../trainingPipelines
 *
 * A run is PENDING at creation, RUNNING one clock step later and finished after two: FAILED when
 * its displayName contains "fail" or it has the label emulator-fail=true (Google's error message
 * then quotes the displayName, so a test can put what it likes in it); else CANCELLED when
 * its displayName contains "cancel" or it has the label emulator-cancel=true (as if someone
 * cancelled it at Google); else SUCCEEDED. A succeeded pipeline with a modelToUpload makes a
 * model version (vx_models.c): a new version of parentModel, or a new model (modelId, or a
 * numeric id).
 *
 * :cancel, as Google's, is asynchronous: the run is CANCELLING at once and CANCELLED one clock
 * step later, with error {"code":1,"message":"CANCELED"} (google.rpc.Code CANCELLED), and stops
 * advancing otherwise; a cancelled pipeline uploads nothing. A second :cancel while it is
 * CANCELLING changes nothing and answers {}. */
#include "vx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a run ends on its own clock, when no :cancel comes first. */
typedef enum { RUN_ENDS_SUCCEEDED, RUN_ENDS_FAILED, RUN_ENDS_CANCELLED } run_end;

typedef struct {
    json_t *res;
    bool pipeline, finished;
    run_end end;
    int64_t t0_mono, t0_wall;
    bool cancelling; /* :cancel was asked at cancel_mono / cancel_wall */
    int64_t cancel_mono, cancel_wall;
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
    vx_evals_trained(json_string_value(json_object_get(r->res, "displayName")), model_name, version,
                     model);
}

static void run_set_state(vx_run *r, const char *state)
{
    json_object_set_new(r->res, "state", json_string(state_name(r->pipeline, state)));
}

/* A failed run's google.rpc.Status. Its message quotes the run's displayName, as Google's own
 * messages often quote what they were given. */
static json_t *failure_error(const vx_run *r)
{
    const char *dn = json_string_value(json_object_get(r->res, "displayName"));
    return json_pack("{s:i, s:o}", "code", 13, "message",
                     json_sprintf("The replica workerpool0-0 exited with a non-zero status of 1 "
                                  "(emulated failure of %s).",
                                  dn ? dn : ""));
}

/* The run's last step, at wall time END. */
static void run_finish(vx_run *r, run_end how, int64_t end)
{
    r->finished = true;
    set_time(r->res, "endTime", end);
    set_time(r->res, "updateTime", end);
    switch (how) {
    case RUN_ENDS_FAILED:
        run_set_state(r, "FAILED");
        json_object_set_new(r->res, "error", failure_error(r));
        break;
    case RUN_ENDS_CANCELLED:
        run_set_state(r, "CANCELLED");
        json_object_set_new(r->res, "error",
                            json_pack("{s:i, s:s}", "code", 1, "message", "CANCELED"));
        break;
    case RUN_ENDS_SUCCEEDED:
        run_set_state(r, "SUCCEEDED");
        if (r->pipeline)
            pipeline_upload(r);
        break;
    }
}

/* CANCELLING since :cancel; CANCELLED one clock step later. */
static void cancel_advance(vx_run *r, int64_t now, int64_t clock)
{
    if (clock > 0 && now - r->cancel_mono < clock)
        return;
    run_finish(r, RUN_ENDS_CANCELLED, r->cancel_wall + clock);
}

static void run_advance(vx_run *r, int64_t now)
{
    int64_t clock = vx_clock_ms();
    if (r->cancelling) {
        cancel_advance(r, now, clock);
        return;
    }
    int64_t step = clock > 0 ? (now - r->t0_mono) / clock : 2;
    if (step >= 1 && !json_object_get(r->res, "startTime")) {
        run_set_state(r, "RUNNING");
        set_time(r->res, "startTime", r->t0_wall + clock);
        set_time(r->res, "updateTime", r->t0_wall + clock);
    }
    if (step >= 2)
        run_finish(r, r->end, r->t0_wall + 2 * clock);
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

/* "fail" / emulator-fail=true: FAILED; else "cancel" / emulator-cancel=true: CANCELLED. */
static run_end wanted_end(const json_t *body)
{
    const char *dn = json_string_value(json_object_get(body, "displayName"));
    const json_t *labels = json_object_get(body, "labels");
    if ((dn && strstr(dn, "fail")) || str_is(json_object_get(labels, "emulator-fail"), "true"))
        return RUN_ENDS_FAILED;
    if ((dn && strstr(dn, "cancel")) || str_is(json_object_get(labels, "emulator-cancel"), "true"))
        return RUN_ENDS_CANCELLED;
    return RUN_ENDS_SUCCEEDED;
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
                  .end = wanted_end(body),
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
    if (!r->cancelling) {
        r->cancelling = true;
        r->cancel_mono = emu_mono_ms();
        r->cancel_wall = emu_now_ms();
        run_set_state(r, "CANCELLING");
        set_time(r->res, "updateTime", r->cancel_wall);
    }
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
