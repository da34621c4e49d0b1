/* routes — see routes.h. The rules mirror the services' own routing (vx_jobs.c, vx_models.c,
 * issuer.c, emu_gauth.c, storage.c); tests/unit/test_emulator_faults.c checks each documented
 * route. */
#include "routes.h"

#include <string.h>

/* Every name emu_route_of() can return. */
static const char *const known[] = {
    "customJobs.create",
    "customJobs.list",
    "customJobs.get",
    "customJobs.cancel",
    "trainingPipelines.create",
    "trainingPipelines.list",
    "trainingPipelines.get",
    "trainingPipelines.cancel",
    "models.upload",
    "models.list",
    "models.get",
    "models.listVersions",
    "models.mergeVersionAliases",
    "models.evaluations.list",
    "models.evaluations.get",
    "models.evaluations.import",
    "operations.get",
    "operations.list",
    "oidc.jwks",
    "oidc.discovery",
    "metadata.token",
    "metadata.email",
    "metadata.identity",
    "metadata.project_id",
    "oauth.token",
    "storage.objects.insert",
    "storage.objects.list",
    "storage.objects.get",
    "storage.objects.delete",
};
#define N_KNOWN (sizeof known / sizeof known[0])

/* The routes outside Vertex: one method and one exact path each. */
static const struct {
    const char *method, *path, *route;
} fixed[] = {
    {"GET", "/oauth2/v3/certs", "oidc.jwks"},
    {"GET", "/.well-known/openid-configuration", "oidc.discovery"},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/token", "metadata.token"},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/email", "metadata.email"},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/identity", "metadata.identity"},
    {"GET", "/computeMetadata/v1/project/project-id", "metadata.project_id"},
    {"POST", "/token", "oauth.token"},
};

/* After "/v1/projects/{p}/locations/{l}/": the rest, or NULL. */
static const char *vertex_rest(const char *path)
{
    static const char pre[] = "/v1/projects/";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return NULL;
    const char *p = path + sizeof pre - 1;
    size_t plen = strcspn(p, "/");
    if (!plen || strncmp(p + plen, "/locations/", 11) != 0)
        return NULL;
    const char *l = p + plen + 11;
    size_t llen = strcspn(l, "/");
    return llen && l[llen] == '/' ? l + llen + 1 : NULL;
}

/* customJobs or trainingPipelines: TAIL is what follows the collection's name. */
static const char *run_route(bool pipeline, bool get, bool post, const char *tail)
{
    if (!*tail)
        return get    ? (pipeline ? "trainingPipelines.list" : "customJobs.list")
               : post ? (pipeline ? "trainingPipelines.create" : "customJobs.create")
                      : NULL;
    if (*tail != '/')
        return NULL;
    size_t idlen = strcspn(tail + 1, ":/");
    const char *verb = tail + 1 + idlen;
    if (!idlen)
        return NULL;
    if (get && !*verb)
        return pipeline ? "trainingPipelines.get" : "customJobs.get";
    if (post && strcmp(verb, ":cancel") == 0)
        return pipeline ? "trainingPipelines.cancel" : "customJobs.cancel";
    return NULL;
}

/* models/{id}[@{version or alias}]{TAIL}: TAIL is what follows "models/". */
static const char *model_route(bool get, bool post, const char *tail)
{
    size_t idlen = strcspn(tail, "@:/");
    if (!idlen)
        return NULL;
    const char *p = tail + idlen;
    bool spec = *p == '@';
    if (spec) {
        size_t slen = strcspn(++p, ":/");
        if (!slen)
            return NULL;
        p += slen;
    }
    if (get && !spec && strcmp(p, "/operations") == 0)
        return "operations.list";
    if (get && !spec && strncmp(p, "/operations/", 12) == 0)
        return "operations.get";
    if (get && !*p)
        return "models.get";
    if (get && strcmp(p, ":listVersions") == 0)
        return "models.listVersions";
    if (post && strcmp(p, ":mergeVersionAliases") == 0)
        return "models.mergeVersionAliases";
    if (get && strcmp(p, "/evaluations") == 0)
        return "models.evaluations.list";
    if (get && strncmp(p, "/evaluations/", 13) == 0 && p[13] && !strchr(p + 13, '/'))
        return "models.evaluations.get";
    if (post && strcmp(p, "/evaluations:import") == 0)
        return "models.evaluations.import";
    return NULL;
}

static const char *vertex_route(bool get, bool post, const char *rest)
{
    if (strncmp(rest, "customJobs", 10) == 0)
        return run_route(false, get, post, rest + 10);
    if (strncmp(rest, "trainingPipelines", 17) == 0)
        return run_route(true, get, post, rest + 17);
    if (strcmp(rest, "models:upload") == 0)
        return post ? "models.upload" : NULL;
    if (strcmp(rest, "models") == 0)
        return get ? "models.list" : NULL;
    if (strncmp(rest, "models/", 7) == 0)
        return model_route(get, post, rest + 7);
    return NULL;
}

/* Cloud Storage JSON API v1 (storage.c): "/b/{bucket}/o[/{object}]" after one of the prefixes
 * (paths arrive percent-decoded, so the object is all that follows "/o/"). */
static const char *storage_route(const char *method, const char *path)
{
    static const char up[] = "/upload/storage/v1/b/", api[] = "/storage/v1/b/",
                      down[] = "/download/storage/v1/b/";
    int kind = strncmp(path, up, sizeof up - 1) == 0       ? 1
               : strncmp(path, api, sizeof api - 1) == 0   ? 2
               : strncmp(path, down, sizeof down - 1) == 0 ? 3
                                                           : 0;
    if (!kind)
        return NULL;
    const char *b = path + (kind == 1 ? sizeof up : kind == 2 ? sizeof api : sizeof down) - 1;
    size_t blen = strcspn(b, "/");
    if (!blen || strncmp(b + blen, "/o", 2) != 0)
        return NULL;
    const char *tail = b + blen + 2;
    bool get = strcmp(method, "GET") == 0;
    if (!*tail) /* the collection */
        return kind != 3 && strcmp(method, "POST") == 0 ? "storage.objects.insert"
               : kind == 2 && get                       ? "storage.objects.list"
                                                        : NULL;
    if (*tail != '/' || !tail[1] || kind == 1)
        return NULL;
    return get                                          ? "storage.objects.get"
           : kind == 2 && strcmp(method, "DELETE") == 0 ? "storage.objects.delete"
                                                        : NULL;
}

const char *emu_route_of(const char *method, const char *path)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    const char *rest = vertex_rest(path);
    if (rest)
        return vertex_route(get, post, rest);
    const char *storage = storage_route(method, path);
    if (storage)
        return storage;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(method, fixed[i].method) == 0 && strcmp(path, fixed[i].path) == 0)
            return fixed[i].route;
    return NULL;
}

const char *emu_route_canonical(const char *name)
{
    for (size_t i = 0; i < N_KNOWN; i++)
        if (strcmp(known[i], name) == 0)
            return known[i];
    return NULL;
}

/* ---- counters ----------------------------------------------------------------------------- */

void emu_tally_add(emu_tally *t, const char *name)
{
    int i = 0;
    while (i < t->len && strcmp(t->slot[i].name, name) != 0)
        i++;
    if (i < t->len)
        t->slot[i].n++;
    else if (t->len < EMU_TALLY_MAX) {
        t->slot[t->len].name = name;
        t->slot[t->len++].n = 1;
    }
}

long emu_tally_get(const emu_tally *t, const char *name)
{
    for (int i = 0; i < t->len; i++)
        if (strcmp(t->slot[i].name, name) == 0)
            return t->slot[i].n;
    return 0;
}

json_t *emu_tally_json(const emu_tally *t)
{
    json_t *out = json_object();
    for (int i = 0; i < t->len; i++)
        json_object_set_new(out, t->slot[i].name, json_integer(t->slot[i].n));
    return out;
}
