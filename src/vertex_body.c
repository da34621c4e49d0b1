/* vertex_body — see vertex_body.h.
 *
 * Each builder makes its object with json_pack ("s*" leaves out a NULL string) and then adds the
 * optional members, so that a NULL argument never appears as a JSON null: Vertex's parser
 * rejects nulls for most message fields. */
#include "vertex_body.h"

#include "labels.h"

#include <stdio.h>
#include <string.h>

#define ALIAS_MAX 128

char *vtx_duration(char buf[24], long long seconds)
{
    snprintf(buf, 24, "%llds", seconds);
    return buf;
}

static bool alias_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool vtx_version_alias_valid(const char *alias, bool allow_removal)
{
    if (allow_removal && alias[0] == '-')
        alias++;
    size_t n = strlen(alias);
    if (n < 2 || n > ALIAS_MAX || !(alias[0] >= 'a' && alias[0] <= 'z'))
        return false;
    char last = alias[n - 1];
    if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alias_char(alias[i]))
            return false;
    return true;
}

static bool nonempty(const char *s)
{
    return s && *s;
}

/* Checks LABELS and stores a copy under "labels" in OBJ; LABELS may be NULL. */
static int set_labels(json_t *obj, const json_t *labels, char *err, size_t errlen)
{
    if (!labels)
        return 0;
    if (labels_validate(labels, err, errlen) != 0)
        return -1;
    if (json_object_set_new(obj, "labels", json_deep_copy(labels)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static json_t *fail(json_t *obj, char *err, size_t errlen, const char *msg)
{
    if (msg)
        snprintf(err, errlen, "%s", msg);
    json_decref(obj);
    return NULL;
}

json_t *vtx_job_spec_json(const vtx_worker_pool *p, char *err, size_t errlen)
{
    if (!nonempty(p->machine_type))
        return fail(NULL, err, errlen, "machine_type: required");
    if (!nonempty(p->image_uri))
        return fail(NULL, err, errlen, "image_uri: required");
    if (p->replica_count < 1)
        return fail(NULL, err, errlen, "replica_count: must be at least 1");
    if (p->timeout_s < 0)
        return fail(NULL, err, errlen, "timeout_s: must not be negative");
    char count[24];
    snprintf(count, sizeof count, "%lld", p->replica_count); /* int64: a JSON string */
    json_t *machine = json_pack("{s:s}", "machineType", p->machine_type);
    if (machine && nonempty(p->accelerator_type)) {
        json_object_set_new(machine, "acceleratorType", json_string(p->accelerator_type));
        json_object_set_new(machine, "acceleratorCount", json_integer(p->accelerator_count));
    }
    json_t *args = json_array();
    for (const char *const *a = p->args; a && *a && args; a++)
        json_array_append_new(args, json_string(*a));
    json_t *container = json_pack("{s:s}", "imageUri", p->image_uri);
    if (container && args && json_array_size(args))
        json_object_set(container, "args", args);
    json_decref(args);
    json_t *spec = json_pack("{s:[{s:o, s:s, s:o}]}", "workerPoolSpecs", "machineSpec", machine,
                             "replicaCount", count, "containerSpec", container);
    if (!spec)
        return fail(NULL, err, errlen, "out of memory");
    if (p->timeout_s > 0) {
        char d[24];
        json_object_set_new(spec, "scheduling",
                            json_pack("{s:s}", "timeout", vtx_duration(d, p->timeout_s)));
    }
    if (nonempty(p->base_output_uri))
        json_object_set_new(spec, "baseOutputDirectory",
                            json_pack("{s:s}", "outputUriPrefix", p->base_output_uri));
    return spec;
}

json_t *vtx_custom_job_json(const char *display_name, const json_t *job_spec, const json_t *labels,
                            char *err, size_t errlen)
{
    if (!nonempty(display_name))
        return fail(NULL, err, errlen, "display_name: required");
    if (!json_is_object(job_spec))
        return fail(NULL, err, errlen, "job_spec: must be a JSON object");
    json_t *job =
        json_pack("{s:s, s:o}", "displayName", display_name, "jobSpec", json_deep_copy(job_spec));
    if (!job)
        return fail(NULL, err, errlen, "out of memory");
    if (set_labels(job, labels, err, errlen) != 0)
        return fail(job, err, errlen, NULL);
    return job;
}

static json_t *aliases_array(const char *const *aliases, bool allow_removal, char *err,
                             size_t errlen)
{
    json_t *arr = json_array();
    for (const char *const *a = aliases; arr && a && *a; a++) {
        if (!vtx_version_alias_valid(*a, allow_removal)) {
            snprintf(err, errlen,
                     "version alias \"%.128s\": must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]", *a);
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, json_string(*a));
    }
    if (!arr)
        snprintf(err, errlen, "out of memory");
    return arr;
}

json_t *vtx_model_json(const vtx_model_spec *m, char *err, size_t errlen)
{
    if (!nonempty(m->display_name))
        return fail(NULL, err, errlen, "display_name: required");
    if (!nonempty(m->image_uri))
        return fail(NULL, err, errlen, "image_uri: required");
    if (m->port < 0 || m->port > 65535)
        return fail(NULL, err, errlen, "port: must be 1-65535");
    json_t *container = json_pack("{s:s, s:s*, s:s*}", "imageUri", m->image_uri, "predictRoute",
                                  m->predict_route, "healthRoute", m->health_route);
    if (container && m->port > 0) /* int32: a JSON number */
        json_object_set_new(container, "ports", json_pack("[{s:i}]", "containerPort", m->port));
    json_t *model =
        json_pack("{s:s, s:s*, s:s*, s:o}", "displayName", m->display_name, "description",
                  m->description, "artifactUri", m->artifact_uri, "containerSpec", container);
    if (!model)
        return fail(NULL, err, errlen, "out of memory");
    if (m->version_aliases && m->version_aliases[0]) {
        json_t *aliases = aliases_array(m->version_aliases, false, err, errlen);
        if (!aliases)
            return fail(model, err, errlen, NULL);
        json_object_set_new(model, "versionAliases", aliases);
    }
    if (set_labels(model, m->labels, err, errlen) != 0)
        return fail(model, err, errlen, NULL);
    return model;
}

/* Adds parentModel and modelId when given. */
static int set_parent(json_t *obj, const char *parent_model, const char *model_id, char *err,
                      size_t errlen)
{
    if (parent_model && strncmp(parent_model, "projects/", 9) != 0) {
        snprintf(err, errlen, "parent_model: must be a full resource name projects/.../models/ID");
        return -1;
    }
    if (parent_model && model_id) {
        snprintf(err, errlen, "model_id: not allowed together with parent_model");
        return -1;
    }
    if (parent_model)
        json_object_set_new(obj, "parentModel", json_string(parent_model));
    if (model_id)
        json_object_set_new(obj, "modelId", json_string(model_id));
    return 0;
}

json_t *vtx_upload_body(const vtx_model_spec *m, const char *parent_model, const char *model_id,
                        char *err, size_t errlen)
{
    json_t *model = vtx_model_json(m, err, errlen);
    if (!model)
        return NULL;
    json_t *body = json_pack("{s:o}", "model", model);
    if (!body)
        return fail(NULL, err, errlen, "out of memory");
    if (set_parent(body, parent_model, model_id, err, errlen) != 0)
        return fail(body, err, errlen, NULL);
    return body;
}

json_t *vtx_pipeline_json(const char *display_name, const json_t *job_spec,
                          const vtx_model_spec *model, const char *parent_model,
                          const char *model_id, const json_t *labels, char *err, size_t errlen)
{
    if (!nonempty(display_name))
        return fail(NULL, err, errlen, "display_name: required");
    if (!json_is_object(job_spec))
        return fail(NULL, err, errlen, "job_spec: must be a JSON object");
    json_t *m = vtx_model_json(model, err, errlen);
    if (!m)
        return NULL;
    json_t *p = json_pack("{s:s, s:s, s:o, s:o}", "displayName", display_name,
                          "trainingTaskDefinition", VTX_CUSTOM_TASK_DEFINITION,
                          "trainingTaskInputs", json_deep_copy(job_spec), "modelToUpload", m);
    if (!p)
        return fail(NULL, err, errlen, "out of memory");
    if (set_parent(p, parent_model, model_id, err, errlen) != 0 ||
        set_labels(p, labels, err, errlen) != 0)
        return fail(p, err, errlen, NULL);
    return p;
}

json_t *vtx_merge_aliases_body(const char *const *aliases, char *err, size_t errlen)
{
    if (!aliases || !aliases[0])
        return fail(NULL, err, errlen, "version_aliases: at least one is required");
    json_t *arr = aliases_array(aliases, true, err, errlen);
    return arr ? json_pack("{s:o}", "versionAliases", arr) : NULL;
}

json_t *vtx_with_label(const json_t *resource, const char *key, const char *value, char *err,
                       size_t errlen)
{
    if (!json_is_object(resource))
        return fail(NULL, err, errlen, "resource: must be a JSON object");
    if (!labels_key_valid(key) || !labels_value_valid(value)) {
        snprintf(err, errlen, "label \"%.63s\": not a valid Google label key and value", key);
        return NULL;
    }
    json_t *copy = json_deep_copy(resource);
    if (!copy)
        return fail(NULL, err, errlen, "out of memory");
    json_t *labels = json_object_get(copy, "labels");
    if (!labels) {
        labels = json_object();
        json_object_set_new(copy, "labels", labels);
    }
    if (!json_is_object(labels))
        return fail(copy, err, errlen, "labels must be an object of strings");
    json_object_set_new(labels, key, json_string(value));
    if (labels_validate(labels, err, errlen) != 0)
        return fail(copy, err, errlen, NULL);
    return copy;
}
