/* retrain_body — see retrain_body.h. Pure: no network, no ledger, so every body the function
 * sends is unit-tested from a rule and an event alone. */
#include "retrain_body.h"

#include <stdio.h>
#include <string.h>

#include "labels.h"
#include "vertex_body.h"

void retrain_event_label(const char *event_key, char out[RETRAIN_EVENT_LABEL_LEN + 1])
{
    snprintf(out, RETRAIN_EVENT_LABEL_LEN + 1, "%s", event_key ? event_key : "");
}

static int merge_into(json_t *dst, const json_t *src, const char *what, char *err, size_t errlen)
{
    if (!src)
        return 0;
    if (!json_is_object(src)) {
        snprintf(err, errlen, "%s: labels must be an object of strings", what);
        return -1;
    }
    if (json_object_update(dst, (json_t *)src) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

json_t *retrain_labels(const json_t *rule_labels, const json_t *own, const char *rule_name,
                       const char *event_key, char *err, size_t errlen)
{
    char event_label[RETRAIN_EVENT_LABEL_LEN + 1];
    retrain_event_label(event_key, event_label);
    json_t *labels = json_object();
    if (!labels) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (merge_into(labels, rule_labels, "rule", err, errlen) != 0 ||
        merge_into(labels, own, "template", err, errlen) != 0)
        goto fail;
    json_object_set_new(labels, RETRAIN_LABEL_EVENT, json_string(event_label));
    json_object_set_new(labels, RETRAIN_LABEL_RULE, json_string(rule_name ? rule_name : ""));
    if (labels_validate(labels, err, errlen) != 0)
        goto fail;
    return labels;
fail:
    json_decref(labels);
    return NULL;
}

/* Replaces OBJ's "labels" with the merged set. */
static int label(json_t *obj, const rule *r, const json_t *own, const char *event_key, char *err,
                 size_t errlen)
{
    json_t *labels = retrain_labels(rules_labels(r), own, rules_name(r), event_key, err, errlen);
    if (!labels)
        return -1;
    json_object_set_new(obj, "labels", labels);
    return 0;
}

static json_t *expanded_job(const rule *r, const template_vars *vars, char *err, size_t errlen)
{
    const json_t *tmpl = rules_job(r);
    if (!json_is_object(tmpl)) {
        snprintf(err, errlen, "no job template");
        return NULL;
    }
    json_t *job = template_expand(tmpl, vars);
    if (!job)
        snprintf(err, errlen, "the job template does not expand to valid UTF-8");
    return job;
}

static json_t *train_body(const rule *r, const template_vars *vars, char *err, size_t errlen)
{
    json_t *job = expanded_job(r, vars, err, errlen);
    if (job && label(job, r, json_object_get(job, "labels"), vars->event_key, err, errlen) != 0) {
        json_decref(job);
        return NULL;
    }
    return job;
}

/* The rule's model as vtx_model_spec, strings expanded into A; labels (new reference) in
 * *LABELS. */
static int model_spec(const rule *r, const template_vars *vars, arena *a, vtx_model_spec *spec,
                      json_t **labels, char *err, size_t errlen)
{
    const rules_model *m = rules_model_of(r);
    memset(spec, 0, sizeof *spec);
    *labels = NULL;
    if (!m) {
        snprintf(err, errlen, "no model settings");
        return -1;
    }
    /* Behind a promotion gate a new version carries the candidate alias only: the gate moves
     * the serving alias once the version has won. */
    const rules_promote *gate = rules_promote_of(r);
    size_t n_aliases = gate ? 1 : m->n_aliases;
    const char **aliases = arena_zalloc(a, (n_aliases + 1) * sizeof *aliases);
    spec->display_name =
        m->display_name ? template_expand_string(m->display_name, vars, a) : rules_name(r);
    spec->description = m->description ? template_expand_string(m->description, vars, a) : NULL;
    if (!aliases || !spec->display_name || (m->description && !spec->description)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n_aliases; i++)
        aliases[i] = gate ? gate->candidate_alias : m->aliases[i];
    spec->version_aliases = aliases;
    spec->image_uri = m->container_image;
    if (!(*labels = retrain_labels(rules_labels(r), m->labels, rules_name(r), vars->event_key, err,
                                   errlen)))
        return -1;
    spec->labels = *labels;
    return 0;
}

static json_t *pipeline_body(const rule *r, const template_vars *vars, arena *a, char *err,
                             size_t errlen)
{
    json_t *job = expanded_job(r, vars, err, errlen);
    if (!job)
        return NULL;
    json_t *over = rules_pipeline(r) ? template_expand(rules_pipeline(r), vars) : json_object();
    json_t *model_labels = NULL, *labels = NULL, *body = NULL;
    vtx_model_spec spec;
    if (!over) {
        snprintf(err, errlen, "the pipeline template does not expand to valid UTF-8");
        goto out;
    }
    const rules_model *m = rules_model_of(r);
    if (model_spec(r, vars, a, &spec, &model_labels, err, errlen) != 0)
        goto out;
    if (m->artifact_uri && !(spec.artifact_uri = rules_artifact_uri(r, vars, a))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* The pipeline's own labels over the job template's: both describe this run. */
    json_t *own = json_object();
    if (!own || merge_into(own, json_object_get(job, "labels"), "job", err, errlen) != 0 ||
        merge_into(own, json_object_get(over, "labels"), "pipeline", err, errlen) != 0) {
        if (!own)
            snprintf(err, errlen, "out of memory");
        json_decref(own);
        goto out;
    }
    labels = retrain_labels(rules_labels(r), own, rules_name(r), vars->event_key, err, errlen);
    json_decref(own);
    if (!labels)
        goto out;
    const char *name = json_string_value(json_object_get(over, "displayName"));
    if (!name)
        name = json_string_value(json_object_get(job, "displayName"));
    body = vtx_pipeline_json(name, json_object_get(job, "jobSpec"), &spec, m->parent, m->model_id,
                             labels, err, errlen);
out:
    json_decref(job);
    json_decref(over);
    json_decref(model_labels);
    json_decref(labels);
    return body;
}

static json_t *upload_body(const rule *r, const template_vars *vars, arena *a, char *err,
                           size_t errlen)
{
    vtx_model_spec spec;
    json_t *labels = NULL;
    if (model_spec(r, vars, a, &spec, &labels, err, errlen) != 0) {
        json_decref(labels);
        return NULL;
    }
    json_t *body = NULL;
    spec.artifact_uri = rules_artifact_uri(r, vars, a);
    if (!spec.artifact_uri)
        snprintf(err, errlen, "out of memory");
    else if (!*spec.artifact_uri)
        snprintf(err, errlen, "the event names no object to register");
    else
        body = vtx_upload_body(&spec, rules_model_of(r)->parent, rules_model_of(r)->model_id, err,
                               errlen);
    json_decref(labels);
    return body;
}

json_t *retrain_request_body(const rule *r, const template_vars *vars, arena *a, char *err,
                             size_t errlen)
{
    if (!vars->event_key || !*vars->event_key) {
        snprintf(err, errlen, "no event key to label the work with");
        return NULL;
    }
    switch (rules_action_of(r)) {
    case RULES_TRAIN:
        return train_body(r, vars, err, errlen);
    case RULES_TRAIN_AND_REGISTER:
        return pipeline_body(r, vars, a, err, errlen);
    case RULES_REGISTER:
        return upload_body(r, vars, a, err, errlen);
    }
    snprintf(err, errlen, "unknown action");
    return NULL;
}

json_t *retrain_body_as_version(const json_t *body, const char *vertex_parent)
{
    const char *id = json_string_value(json_object_get(body, "modelId"));
    if (!id || !vertex_parent)
        return NULL;
    char parent[512];
    if (snprintf(parent, sizeof parent, "%s/models/%s", vertex_parent, id) >= (int)sizeof parent)
        return NULL;
    json_t *copy = json_deep_copy(body);
    if (!copy || json_object_del(copy, "modelId") != 0 ||
        json_object_set_new(copy, "parentModel", json_string(parent)) != 0) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}
