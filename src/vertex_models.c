/* vertex_models — the Model Registry reads and writes the promotion gate makes (vertex.h):
 * models.get of a version or an alias, models.listVersions, and a version's ModelEvaluations
 * (list, import). Reads are retried like every read; an import, which makes a resource and takes
 * no request id, is not re-sent after an ambiguous failure: the gate lists the evaluations again
 * before it imports once more. */
#include "vertex.h"
#include "vertex_internal.h"

#include <stdlib.h>
#include <string.h>

/* "projects/P/locations/L/models/ID" with an optional "@VERSION" or "@ALIAS". */
static bool model_name_valid(const char *name)
{
    if (!name || strncmp(name, "projects/", 9) != 0 || !strstr(name, "/models/"))
        return false;
    size_t n = strlen(name);
    return n < 512 && !strstr(name, "..") && !strpbrk(name, "?#% \t\r\n") &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@") == n;
}

vtx_err vtx_get_model(vtx_client *c, const char *name, vtx_result *out)
{
    if (!model_name_valid(name))
        return vtx_invalid(out, "%s", "model: expected projects/.../models/ID[@version|@alias]");
    char *url = vtx_dup_printf("%s/%s", c->base, name);
    if (!url)
        return vtx_nomem(out);
    vtx_request q = {.method = "GET", .url = url, .idempotent = true, .what = "models.get"};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    return e;
}

vtx_err vtx_list_model_versions(vtx_client *c, const char *model, vtx_result *out)
{
    if (!model_name_valid(model) || strchr(model, '@'))
        return vtx_invalid(out, "%s", "model: expected projects/.../models/ID");
    char *url = vtx_dup_printf("%s/%s:listVersions", c->base, model);
    if (!url)
        return vtx_nomem(out);
    vtx_err e = vtx_list_all(c, url, "models", out);
    free(url);
    return e;
}

vtx_err vtx_list_model_evaluations(vtx_client *c, const char *version, vtx_result *out)
{
    if (!model_name_valid(version))
        return vtx_invalid(out, "%s", "model: expected projects/.../models/ID[@version]");
    char *url = vtx_dup_printf("%s/%s/evaluations", c->base, version);
    if (!url)
        return vtx_nomem(out);
    vtx_err e = vtx_list_all(c, url, "modelEvaluations", out);
    free(url);
    return e;
}

vtx_err vtx_import_model_evaluation(vtx_client *c, const char *version, const json_t *evaluation,
                                    vtx_result *out)
{
    if (!model_name_valid(version) || !json_is_object(evaluation))
        return vtx_invalid(out, "%s",
                           "import: expected projects/.../models/ID[@version] and a "
                           "ModelEvaluation object");
    json_t *body = json_pack("{s:O}", "modelEvaluation", evaluation);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *url = text ? vtx_dup_printf("%s/%s/evaluations:import", c->base, version) : NULL;
    if (!url) {
        free(text);
        return vtx_nomem(out);
    }
    vtx_request q = {
        .method = "POST", .url = url, .body = text, .what = "models.evaluations.import"};
    vtx_err e = vtx_start(c, &q, out);
    free(url);
    free(text);
    return e;
}
