/* vx_models — models, their versions and aliases, uploads and their operations.
 *
 *   POST .../models:upload                     {parent, model, parentModel, modelId} -> Operation
 *   GET  .../models/ID/operations/N            operations.get (done after one clock step)
 *   GET  .../models/ID/operations              operations.list: {"operations":[...]} (paging)
 *   GET  .../models                            list (default versions; filter, orderBy, paging)
 *   GET  .../models/ID[@VERSION|@ALIAS]        get (no suffix: the "default" version)
 *   GET  .../models/ID:listVersions            {"models":[every version, named ID@VERSION]}
 *                                              (filter by labels, orderBy, paging)
 *   POST .../models/ID@V:mergeVersionAliases   {"versionAliases":["a","-b"]} -> the Model
 *   .../models/ID[@V]/evaluations...            ModelEvaluations (vx_evals.c)
 *   POST /emulator/vertex/models               seed {"project","location","modelId","model"}
 *
 * A parentModel must exist (404 otherwise: no auto-creation; tests seed models). The first
 * version of a model carries the alias "default". A version's aliases move: giving a new version
 * an alias takes it from the version that had it. Uploads for one project closer together than
 * upload_min_interval_ms (default 2000, as Google asks) get 429 RESOURCE_EXHAUSTED.
 *
 * A version carries the labels of the Model it was uploaded with (models.upload, or a
 * pipeline's modelToUpload), so it can be found by them. An upload's version appears when its
 * operation is done; until then only the operation (listed under the model it names, even a
 * model the upload is about to create) tells that it is coming. */
#include "vx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VX_UPLOAD_INTERVAL_DEFAULT 2000
#define VX_MAX_PROJECTS 64

typedef struct {
    char name[256];   /* projects/p/locations/l/models/ID */
    json_t *versions; /* Model JSON, oldest first */
    int next_version;
} vx_model;

typedef struct {
    char name[320];
    char model_name[256];
    vx_parent parent;
    json_t *model;  /* the Model to add when done; NULL once done */
    bool to_parent; /* add to an existing model */
    int64_t done_mono;
    json_t *res; /* the Operation as answered */
} vx_op;

static vx_model *models;
static size_t n_models, cap_models;
static vx_op *ops;
static size_t n_ops, cap_ops;
static long created_models, created_versions, uploads, upload_refused;
static long upload_interval_ms = VX_UPLOAD_INTERVAL_DEFAULT;
static struct {
    char project[64];
    int64_t last_mono;
} last_upload[VX_MAX_PROJECTS];
static int n_last_upload;

static bool str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static void set_time(json_t *res, const char *key, int64_t wall_ms)
{
    char stamp[40];
    emu_rfc3339(wall_ms, stamp, sizeof stamp);
    json_object_set_new(res, key, json_string(stamp));
}

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 32;
    void *na = realloc(*arr, c * size);
    if (!na)
        return false;
    *arr = na;
    *cap = c;
    return true;
}

static vx_model *model_find(const char *name)
{
    for (size_t i = 0; i < n_models; i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

/* [a-z][a-zA-Z0-9-]{0,126}[a-z0-9] */
static bool alias_valid(const char *a)
{
    size_t n = strlen(a);
    if (n < 2 || n > 128 || !islower((unsigned char)a[0]) ||
        !(islower((unsigned char)a[n - 1]) || isdigit((unsigned char)a[n - 1])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)a[i]) && a[i] != '-')
            return false;
    return true;
}

/* Google's rule for a user-chosen model id: up to 63 of [a-z0-9_-], not starting with a digit
 * or a hyphen. */
static bool model_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > 63 || !(islower((unsigned char)id[0]) || id[0] == '_'))
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* An existing model's id: a user-chosen one, or the numeric id Vertex assigns. */
static bool model_ref_valid(const char *id)
{
    size_t n = strlen(id);
    return model_id_valid(id) || (n > 0 && n <= 63 && strspn(id, "0123456789") == n);
}

static void alias_remove(json_t *version, const char *alias)
{
    json_t *list = json_object_get(version, "versionAliases");
    for (size_t i = json_array_size(list); i-- > 0;)
        if (str_is(json_array_get(list, i), alias))
            json_array_remove(list, i);
    if (list && !json_array_size(list)) /* Google leaves empty lists out */
        json_object_del(version, "versionAliases");
}

/* Gives ALIAS to VERSION, taking it from any other version of M. */
static void alias_move(vx_model *m, json_t *version, const char *alias)
{
    size_t i;
    json_t *v;
    json_array_foreach(m->versions, i, v)
    {
        alias_remove(v, alias);
    }
    json_t *list = json_object_get(version, "versionAliases");
    if (!list) {
        list = json_array();
        json_object_set_new(version, "versionAliases", list);
    }
    json_array_append_new(list, json_string(alias));
}

static int model_check_parent(const vx_parent *parent, const char *model_name)
{
    size_t n = strlen(parent->name);
    if (strncmp(model_name, parent->name, n) != 0 || strncmp(model_name + n, "/models/", 8) != 0 ||
        !model_ref_valid(model_name + n + 8))
        return -1;
    vx_model *m = model_find(model_name);
    return m && json_array_size(m->versions) ? 0 : -2;
}

static int model_check_new_id(const vx_parent *parent, const char *model_id)
{
    if (!model_id_valid(model_id))
        return -1;
    char name[256];
    snprintf(name, sizeof name, "%s/models/%s", parent->name, model_id);
    return model_find(name) ? -2 : 0;
}

bool vx_model_target_ok(const vx_parent *parent, const char *root, const char *model_field,
                        const char *parent_model, const char *model_id, const json_t *model,
                        emu_response *resp)
{
    char field[160], msg[300];
    int rc;
    if (parent_model && model_id) {
        snprintf(field, sizeof field, "%s.model_id", root);
        vx_field_error(resp, field, "parent_model and model_id cannot both be set.");
        return false;
    }
    if (parent_model && (rc = model_check_parent(parent, parent_model)) != 0) {
        if (rc == -2) {
            emu_respond_error(resp, 404, "NOT_FOUND", "Model %.200s is not found.", parent_model);
        } else {
            snprintf(field, sizeof field, "%s.parent_model", root);
            vx_field_error(resp, field, "Invalid parent model: not a model of this location.");
        }
        return false;
    }
    if (model_id && (rc = model_check_new_id(parent, model_id)) != 0) {
        if (rc == -2) {
            emu_respond_error(resp, 409, "ALREADY_EXISTS", "Model %.100s already exists.",
                              model_id);
        } else {
            snprintf(field, sizeof field, "%s.model_id", root);
            vx_field_error(
                resp, field,
                "Invalid model id: up to 63 of [a-z0-9_-], not starting with a digit or a hyphen.");
        }
        return false;
    }
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(model, "versionAliases"), i, a)
    {
        if (!alias_valid(json_string_value(a))) {
            snprintf(field, sizeof field, "%s.%s.version_aliases[%zu]", root, model_field, i);
            snprintf(msg, sizeof msg,
                     "Invalid version alias \"%.130s\": aliases match "
                     "[a-z][a-zA-Z0-9-]{0,126}[a-z0-9].",
                     json_string_value(a));
            vx_field_error(resp, field, msg);
            return false;
        }
    }
    return true;
}

/* The model named NAME, created empty when absent. */
static vx_model *model_make(const char *name)
{
    vx_model *m = model_find(name);
    if (m)
        return m;
    if (!grow((void **)&models, &cap_models, n_models, sizeof *models))
        return NULL;
    m = &models[n_models++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->versions = json_array();
    m->next_version = 1;
    created_models++;
    return m;
}

int vx_models_add_version(const vx_parent *parent, const json_t *model, const char *parent_model,
                          const char *model_id, char *name, size_t namelen, char *version,
                          size_t versionlen)
{
    char id[64], mname[256];
    if (parent_model) {
        snprintf(mname, sizeof mname, "%s", parent_model);
    } else {
        if (!model_id) {
            vx_next_id(id, sizeof id);
            model_id = id;
        }
        snprintf(mname, sizeof mname, "%s/models/%s", parent->name, model_id);
    }
    vx_model *m = model_make(mname);
    if (!m)
        return -1;
    json_t *v = json_deep_copy(model);
    static const char *const out_only[] = {
        "name",       "versionId", "versionCreateTime", "versionUpdateTime", "createTime",
        "updateTime", "etag"};
    for (size_t i = 0; i < sizeof out_only / sizeof out_only[0]; i++)
        json_object_del(v, out_only[i]);
    json_t *aliases = json_object_get(v, "versionAliases");
    json_incref(aliases);
    json_object_set_new(v, "versionAliases", json_array());
    snprintf(version, versionlen, "%d", m->next_version++);
    int64_t now = emu_now_ms();
    json_object_set_new(v, "name", json_string(mname));
    json_object_set_new(v, "versionId", json_string(version));
    set_time(v, "versionCreateTime", now);
    set_time(v, "versionUpdateTime", now);
    json_t *first = json_array_get(m->versions, 0);
    json_object_set(v, "createTime",
                    first ? json_object_get(first, "createTime")
                          : json_object_get(v, "versionCreateTime"));
    set_time(v, "updateTime", now);
    if (!json_object_get(v, "displayName"))
        json_object_set_new(v, "displayName", json_string(strrchr(mname, '/') + 1));
    json_array_append_new(m->versions, v);
    if (json_array_size(m->versions) == 1)
        alias_move(m, v, "default");
    size_t i;
    json_t *a;
    json_array_foreach(aliases, i, a)
    {
        if (json_is_string(a))
            alias_move(m, v, json_string_value(a));
    }
    json_decref(aliases);
    created_versions++;
    snprintf(name, namelen, "%s", mname);
    return 0;
}

/* ---- operations --------------------------------------------------------------------------- */

static void op_finish(vx_op *op)
{
    char mname[256], version[32];
    json_t *res = op->res;
    int rc = vx_models_add_version(&op->parent, op->model, op->to_parent ? op->model_name : NULL,
                                   op->to_parent ? NULL : strrchr(op->model_name, '/') + 1, mname,
                                   sizeof mname, version, sizeof version);
    json_decref(op->model);
    op->model = NULL;
    json_object_set_new(res, "done", json_true());
    set_time(json_object_get(json_object_get(res, "metadata"), "genericMetadata"), "updateTime",
             emu_now_ms());
    if (rc == 0)
        json_object_set_new(
            res, "response",
            json_pack("{s:s, s:s, s:s}", "@type",
                      "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse", "model",
                      mname, "modelVersionId", version));
    else
        json_object_set_new(res, "error",
                            json_pack("{s:i, s:s}", "code", 13, "message", "upload failed"));
}

void vx_models_tick(int64_t now_mono)
{
    for (size_t i = 0; i < n_ops; i++)
        if (ops[i].model && now_mono >= ops[i].done_mono)
            op_finish(&ops[i]);
}

/* Google asks for at most one upload per project every two seconds. */
static bool upload_throttled(const vx_parent *parent)
{
    int64_t now = emu_mono_ms();
    int i = 0;
    while (i < n_last_upload && strcmp(last_upload[i].project, parent->project) != 0)
        i++;
    if (i < n_last_upload && now - last_upload[i].last_mono < upload_interval_ms)
        return true;
    if (i == n_last_upload) {
        if (n_last_upload == VX_MAX_PROJECTS)
            i = 0;
        else
            n_last_upload++;
        snprintf(last_upload[i].project, sizeof last_upload[i].project, "%s", parent->project);
    }
    last_upload[i].last_mono = now;
    return false;
}

static void upload(const emu_request *req, emu_response *resp, const vx_parent *parent)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    if (!vx_validate(body, vs_upload_model_request, "upload_model_request", resp))
        goto out;
    json_t *model = json_object_get(body, "model");
    const char *pm = json_string_value(json_object_get(body, "parentModel"));
    const char *mid = json_string_value(json_object_get(body, "modelId"));
    const char *p = json_string_value(json_object_get(body, "parent"));
    if (p && strcmp(p, parent->name) != 0) {
        vx_field_error(resp, "upload_model_request.parent", "parent does not match the URL.");
        goto out;
    }
    if (!json_object_get(model, "displayName") ||
        !json_string_length(json_object_get(model, "displayName"))) {
        vx_field_error(resp, "upload_model_request.model.display_name",
                       "List of found errors:\t1.Field: upload_model_request.model.display_name; "
                       "Message: Required field is not set.\t");
        goto out;
    }
    if (!json_object_get(model, "containerSpec")) {
        vx_field_error(resp, "upload_model_request.model.container_spec.image_uri",
                       "List of found errors:\t1.Field: "
                       "upload_model_request.model.container_spec.image_uri; Message: Required "
                       "field is not set.\t");
        goto out;
    }
    if (!vx_model_target_ok(parent, "upload_model_request", "model", pm, mid, model, resp))
        goto out;
    if (upload_throttled(parent)) {
        upload_refused++;
        emu_respond_error(resp, 429, "RESOURCE_EXHAUSTED",
                          "Quota exceeded for quota metric 'Model upload requests' of service "
                          "'aiplatform.googleapis.com' for project %s: at most 1 every %ld ms.",
                          parent->project, upload_interval_ms);
        goto out;
    }
    if (!grow((void **)&ops, &cap_ops, n_ops, sizeof *ops)) {
        emu_respond_error(resp, 500, "INTERNAL", "out of memory");
        goto out;
    }
    vx_op *op = &ops[n_ops++];
    memset(op, 0, sizeof *op);
    op->parent = *parent;
    if (pm) {
        snprintf(op->model_name, sizeof op->model_name, "%s", pm);
        op->to_parent = true;
    } else {
        char id[64];
        if (mid)
            snprintf(id, sizeof id, "%s", mid);
        else
            vx_next_id(id, sizeof id);
        snprintf(op->model_name, sizeof op->model_name, "%s/models/%s", parent->name, id);
    }
    char opid[32];
    vx_next_id(opid, sizeof opid);
    snprintf(op->name, sizeof op->name, "%s/operations/%s", op->model_name, opid);
    op->model = json_deep_copy(model);
    op->done_mono = emu_mono_ms() + vx_clock_ms();
    char stamp[40];
    emu_rfc3339(emu_now_ms(), stamp, sizeof stamp);
    op->res =
        json_pack("{s:s, s:{s:s, s:{s:s, s:s}}, s:b}", "name", op->name, "metadata", "@type",
                  "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata",
                  "genericMetadata", "createTime", stamp, "updateTime", stamp, "done", 0);
    uploads++;
    if (vx_clock_ms() == 0)
        op_finish(op);
    emu_respond_value(resp, 200, json_deep_copy(op->res));
out:
    json_decref(body);
}

/* ---- reads and aliases -------------------------------------------------------------------- */

/* The version SPEC names ("3", an alias, or "" for the default). */
static json_t *version_find(vx_model *m, const char *spec)
{
    size_t i, k;
    json_t *v, *a;
    json_array_foreach(m->versions, i, v)
    {
        if (*spec && str_is(json_object_get(v, "versionId"), spec))
            return v;
        json_array_foreach(json_object_get(v, "versionAliases"), k, a)
        {
            if (str_is(a, *spec ? spec : "default"))
                return v;
        }
    }
    return NULL;
}

static void merge_aliases(const emu_request *req, emu_response *resp, vx_model *m, json_t *version)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    if (!vx_validate(body, vs_merge_aliases_request, "merge_version_aliases_request", resp)) {
        json_decref(body);
        return;
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(body, "versionAliases"), i, a)
    {
        const char *s = json_string_value(a);
        const char *bare = s[0] == '-' ? s + 1 : s;
        bool undefault = s[0] == '-' && strcmp(bare, "default") == 0;
        if (!alias_valid(bare) || undefault) {
            char field[80], msg[256];
            snprintf(field, sizeof field, "merge_version_aliases_request.version_aliases[%zu]", i);
            snprintf(msg, sizeof msg,
                     undefault ? "The default alias cannot be removed; move it to another "
                                 "version instead (\"%.130s\")."
                               : "Invalid version alias \"%.130s\": aliases match "
                                 "[a-z][a-zA-Z0-9-]{0,126}[a-z0-9].",
                     s);
            vx_field_error(resp, field, msg);
            json_decref(body);
            return;
        }
    }
    json_array_foreach(json_object_get(body, "versionAliases"), i, a)
    {
        const char *s = json_string_value(a);
        if (s[0] == '-')
            alias_remove(version, s + 1);
        else
            alias_move(m, version, s);
    }
    set_time(version, "versionUpdateTime", emu_now_ms());
    json_decref(body);
    emu_respond_value(resp, 200, json_deep_copy(version));
}

static json_t *in_location(const vx_parent *parent)
{
    json_t *all = json_array();
    size_t n = strlen(parent->name);
    for (size_t i = 0; i < n_models; i++) {
        json_t *d = version_find(&models[i], "");
        if (d && strncmp(models[i].name, parent->name, n) == 0 && models[i].name[n] == '/')
            json_array_append(all, d);
    }
    return all;
}

static const vx_order_field model_order[] = {{"display_name", "displayName"},
                                             {"create_time", "createTime"},
                                             {"update_time", "updateTime"},
                                             {NULL, NULL}};
static const vx_list_spec models_spec = {"models", VF_KEYS_MODELS, model_order};
/* A version's create and update times are its own (versionCreateTime), not the model's. */
static const vx_order_field version_order[] = {
    {"create_time", "versionCreateTime"}, {"update_time", "versionUpdateTime"}, {NULL, NULL}};
static const vx_list_spec versions_spec = {"models", VF_KEYS_VERSIONS, version_order};

/* M's versions as listVersions answers them: each named with its version id (M@ID). */
static json_t *versions_named(const vx_model *m)
{
    json_t *all = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(m->versions, i, v)
    {
        json_t *copy = json_copy(v);
        char name[300];
        snprintf(name, sizeof name, "%s@%s", m->name,
                 json_string_value(json_object_get(v, "versionId")));
        json_object_set_new(copy, "name", json_string(name));
        json_array_append_new(all, copy);
    }
    return all;
}

/* operations.list of one model: every operation named under it, done or not (the standard
 * filter's grammar is not documented for Vertex, so a filter is refused). */
static void list_operations(const emu_request *req, emu_response *resp, const char *model)
{
    const char *filter = req->query(req, "filter");
    if (filter && *filter) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Unsupported filter: %.200s", filter);
        return;
    }
    json_t *all = json_array();
    size_t n = strlen(model);
    for (size_t i = 0; i < n_ops; i++)
        if (strncmp(ops[i].name, model, n) == 0 &&
            strncmp(ops[i].name + n, "/operations/", 12) == 0)
            json_array_append(all, ops[i].res);
    static const vx_list_spec spec = {"operations", 0, NULL};
    vx_list(req, resp, all, &spec);
}

static bool model_routes(const emu_request *req, emu_response *resp, const vx_parent *parent,
                         const char *tail)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    char id[160], spec[160] = "";
    size_t idlen = strcspn(tail, "@:/");
    if (!idlen || idlen >= sizeof id)
        return false;
    memcpy(id, tail, idlen);
    id[idlen] = '\0';
    const char *p = tail + idlen;
    if (*p == '@') {
        size_t slen = strcspn(++p, ":/");
        if (!slen || slen >= sizeof spec)
            return false;
        memcpy(spec, p, slen);
        spec[slen] = '\0';
        p += slen;
    }
    char name[400];
    snprintf(name, sizeof name, "%s/models/%s", parent->name, id);
    if (strcmp(p, "/operations") == 0 && get && !*spec) {
        resp->route = "operations.list";
        list_operations(req, resp, name);
        return true;
    }
    if (strncmp(p, "/operations/", 12) == 0 && get && !*spec) {
        resp->route = "operations.get";
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s", p);
        for (size_t i = 0; i < n_ops; i++)
            if (strcmp(ops[i].name, name) == 0) {
                emu_respond_value(resp, 200, json_deep_copy(ops[i].res));
                return true;
            }
        emu_respond_error(resp, 404, "NOT_FOUND", "Operation %.200s is not found.", name);
        return true;
    }
    if (strncmp(p, "/evaluations", 12) == 0) {
        vx_model *em = model_find(name);
        json_t *ev = em ? version_find(em, spec) : NULL;
        if (!ev) {
            resp->route = strcmp(p, "/evaluations:import") == 0 ? "models.evaluations.import"
                          : p[12] == '/'                        ? "models.evaluations.get"
                                                                : "models.evaluations.list";
            emu_respond_error(resp, 404, "NOT_FOUND", "Model %.200s%s%.100s is not found.", name,
                              *spec ? "@" : "", spec);
            return true;
        }
        return vx_evals_handle(req, resp, name, json_string_value(json_object_get(ev, "versionId")),
                               p);
    }
    bool list_versions = strcmp(p, ":listVersions") == 0 && get;
    bool merge = strcmp(p, ":mergeVersionAliases") == 0 && post;
    if (!((!*p && get) || list_versions || merge))
        return false;
    resp->route = list_versions ? "models.listVersions"
                  : merge       ? "models.mergeVersionAliases"
                                : "models.get";
    vx_model *m = model_find(name);
    json_t *v = m ? version_find(m, spec) : NULL;
    if (!m || !json_array_size(m->versions) || (!list_versions && !v)) {
        emu_respond_error(resp, 404, "NOT_FOUND", "Model %.200s%s%.100s is not found.", name,
                          *spec ? "@" : "", spec);
        return true;
    }
    if (list_versions)
        vx_list(req, resp, versions_named(m), &versions_spec);
    else if (merge)
        merge_aliases(req, resp, m, v);
    else
        emu_respond_value(resp, 200, json_deep_copy(v));
    return true;
}

bool vx_models_handle(const emu_request *req, emu_response *resp, const vx_parent *parent,
                      const char *rest)
{
    if (strcmp(rest, "models:upload") == 0 && strcmp(req->method, "POST") == 0) {
        resp->route = "models.upload";
        upload(req, resp, parent);
        return true;
    }
    if (strcmp(rest, "models") == 0 && strcmp(req->method, "GET") == 0) {
        resp->route = "models.list";
        vx_list(req, resp, in_location(parent), &models_spec);
        return true;
    }
    if (strncmp(rest, "models/", 7) == 0)
        return model_routes(req, resp, parent, rest + 7);
    return false;
}

void vx_models_seed(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    const char *project = json_string_value(json_object_get(body, "project"));
    const char *location = json_string_value(json_object_get(body, "location"));
    const char *mid = json_string_value(json_object_get(body, "modelId"));
    json_t *model = json_object_get(body, "model");
    vx_parent parent = {0};
    if (!project || !location || !mid || json_object_size(body) != (model ? 4u : 3u)) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                          "expected {\"project\",\"location\",\"modelId\",\"model\"?}");
        goto out;
    }
    snprintf(parent.project, sizeof parent.project, "%s", project);
    snprintf(parent.location, sizeof parent.location, "%s", location);
    snprintf(parent.name, sizeof parent.name, "projects/%s/locations/%s", project, location);
    if ((model && !vx_validate(model, vs_model, "model", resp)) ||
        !vx_model_target_ok(&parent, "seed", "model", NULL, mid, model, resp))
        goto out;
    json_t *empty = model ? NULL : json_object();
    char name[256], version[32];
    int rc = vx_models_add_version(&parent, model ? model : empty, NULL, mid, name, sizeof name,
                                   version, sizeof version);
    json_decref(empty);
    if (rc != 0) {
        emu_respond_error(resp, 500, "INTERNAL", "out of memory");
        goto out;
    }
    emu_respond_value(resp, 200, json_deep_copy(version_find(model_find(name), version)));
out:
    json_decref(body);
}

void vx_models_reset(void)
{
    for (size_t i = 0; i < n_models; i++)
        json_decref(models[i].versions);
    for (size_t i = 0; i < n_ops; i++) {
        json_decref(ops[i].model);
        json_decref(ops[i].res);
    }
    free(models);
    free(ops);
    models = NULL;
    ops = NULL;
    n_models = cap_models = n_ops = cap_ops = 0;
    created_models = created_versions = uploads = upload_refused = 0;
    upload_interval_ms = VX_UPLOAD_INTERVAL_DEFAULT;
    n_last_upload = 0;
}

void vx_models_configure(const json_t *cfg)
{
    const json_t *v = json_object_get(cfg, "upload_min_interval_ms");
    if (v)
        upload_interval_ms = (long)json_integer_value(v);
}

void vx_models_stats(json_t *created)
{
    json_object_set_new(created, "models", json_integer(created_models));
    json_object_set_new(created, "modelVersions", json_integer(created_versions));
    json_object_set_new(created, "uploads", json_integer(uploads));
    json_object_set_new(created, "uploadsRefused", json_integer(upload_refused));
}
