/* vertex — Vertex AI v1 for the emulator: routing, authentication, the state clock, listing.
 *
 * Every path under /v1/projects/{p}/locations/{l}/ needs a bearer token this emulator issued
 * (gauth.c); without one: 401 UNAUTHENTICATED. Resources advance on a clock of job_clock_ms per
 * step, evaluated lazily: each request first moves every resource to where the clock says it
 * is, so reads are consistent and a test never waits on a background thread.
 *
 * Lists take a filter (vfilter.h), pageSize (default 100, at most 1000) and an opaque
 * pageToken; they are newest first. */
#include "vertex.h"

#include "vfilter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VX_PAGE_DEFAULT 100
#define VX_PAGE_MAX 1000

static pthread_mutex_t vx_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t clock_ms = 1000;
static int64_t clock_ms_start = 1000;
static uint64_t next_id = 4000000000000000000ull;

int64_t vx_clock_ms(void)
{
    return clock_ms;
}

void vx_next_id(char *out, size_t n)
{
    snprintf(out, n, "%llu", (unsigned long long)++next_id);
}

void vx_field_error(emu_response *resp, const char *field, const char *message)
{
    json_t *err = json_pack("{s:{s:i, s:s, s:s, s:[{s:s, s:[{s:s, s:s}]}]}}", "error", "code", 400,
                            "message", message, "status", "INVALID_ARGUMENT", "details", "@type",
                            "type.googleapis.com/google.rpc.BadRequest", "fieldViolations", "field",
                            field, "description", message);
    emu_respond_value(resp, 400, err);
}

bool vx_validate(const json_t *body, const vs_field *schema, const char *root, emu_response *resp)
{
    char msg[1024], field[512];
    if (vs_check(body, schema, root, msg, sizeof msg, field, sizeof field) == VS_OK)
        return true;
    vx_field_error(resp, field, msg);
    return false;
}

void vx_list(const emu_request *req, emu_response *resp, json_t *candidates, const char *member)
{
    const char *filter = req->query(req, "filter");
    const char *size_s = req->query(req, "pageSize");
    const char *token = req->query(req, "pageToken");
    vf_filter f;
    long size = VX_PAGE_DEFAULT, offset = 0;
    char *end;
    vf_status fs = vf_parse(filter ? filter : "", &f);
    if (fs != VF_OK) {
        json_decref(candidates);
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Unsupported filter (%s): %.200s",
                          vf_status_name(fs), filter);
        return;
    }
    if (size_s && *size_s) {
        size = strtol(size_s, &end, 10);
        if (*end || size < 0) {
            json_decref(candidates);
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Invalid page_size: %.40s", size_s);
            return;
        }
        if (size == 0)
            size = VX_PAGE_DEFAULT;
        if (size > VX_PAGE_MAX)
            size = VX_PAGE_MAX;
    }
    if (token && *token) {
        offset = strncmp(token, "emu-", 4) == 0 ? strtol(token + 4, &end, 10) : -1;
        if (offset < 0 || (offset >= 0 && *end)) {
            json_decref(candidates);
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Invalid page token.");
            return;
        }
    }
    json_t *page = json_array();
    long seen = 0;
    bool more = false;
    /* newest first: candidates are stored oldest first */
    for (size_t i = json_array_size(candidates); i-- > 0;) {
        const json_t *res = json_array_get(candidates, i);
        if (!vf_match(&f, res))
            continue;
        if (seen >= offset + size) {
            more = true;
            break;
        }
        if (seen >= offset)
            json_array_append(page, (json_t *)res);
        seen++;
    }
    json_decref(candidates);
    json_t *out = json_object();
    if (json_array_size(page))
        json_object_set(out, member, page);
    json_decref(page);
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "emu-%ld", offset + size);
        json_object_set_new(out, "nextPageToken", json_string(next));
    }
    emu_respond_value(resp, 200, out);
}

/* ---- routing ------------------------------------------------------------------------------ */

/* Splits "/v1/projects/{p}/locations/{l}/REST"; returns REST or NULL. */
static const char *parse_parent(const char *path, vx_parent *parent)
{
    static const char pre[] = "/v1/projects/";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return NULL;
    const char *p = path + sizeof pre - 1;
    size_t plen = strcspn(p, "/");
    if (!plen || plen >= sizeof parent->project || strncmp(p + plen, "/locations/", 11) != 0)
        return NULL;
    const char *l = p + plen + 11;
    size_t llen = strcspn(l, "/");
    if (!llen || llen >= sizeof parent->location || l[llen] != '/')
        return NULL;
    memcpy(parent->project, p, plen);
    parent->project[plen] = '\0';
    memcpy(parent->location, l, llen);
    parent->location[llen] = '\0';
    snprintf(parent->name, sizeof parent->name, "projects/%s/locations/%s", parent->project,
             parent->location);
    return l + llen + 1;
}

static void tick(void)
{
    int64_t now = emu_mono_ms();
    vx_jobs_tick(now);
    vx_models_tick(now);
}

static bool vertex_handle(const emu_request *req, emu_response *resp)
{
    if (strcmp(req->path, "/emulator/vertex/models") == 0 && strcmp(req->method, "POST") == 0) {
        resp->route = "emulator.vertex_seed_model";
        pthread_mutex_lock(&vx_mu);
        tick();
        vx_models_seed(req, resp);
        pthread_mutex_unlock(&vx_mu);
        return true;
    }
    if (strncmp(req->path, "/v1/", 4) != 0)
        return false;
    vx_parent parent;
    const char *rest = parse_parent(req->path, &parent);
    if (!emu_gauth_bearer_ok(req)) {
        resp->route = "vertex.unauthenticated";
        emu_add_header(resp, "WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
        emu_respond_error(resp, 401, "UNAUTHENTICATED",
                          "Request had invalid authentication credentials. Expected OAuth 2 "
                          "access token, login cookie or other valid authentication credential.");
        return true;
    }
    if (!rest)
        return false;
    pthread_mutex_lock(&vx_mu);
    tick();
    bool handled =
        vx_jobs_handle(req, resp, &parent, rest) || vx_models_handle(req, resp, &parent, rest);
    if (handled)
        tick(); /* with a zero clock, what was just made is already finished */
    pthread_mutex_unlock(&vx_mu);
    return handled;
}

static int vertex_init(const emu_options *opt)
{
    clock_ms = clock_ms_start = opt->job_clock_ms;
    return 0;
}

static void vertex_reset(void)
{
    pthread_mutex_lock(&vx_mu);
    vx_jobs_reset();
    vx_models_reset();
    clock_ms = clock_ms_start;
    pthread_mutex_unlock(&vx_mu);
}

static void vertex_configure(const json_t *cfg)
{
    pthread_mutex_lock(&vx_mu);
    const json_t *clock = json_object_get(cfg, "job_clock_ms");
    if (clock) {
        tick(); /* what happened under the old clock stays */
        clock_ms = (int64_t)json_integer_value(clock);
    }
    vx_models_configure(cfg);
    pthread_mutex_unlock(&vx_mu);
}

static void vertex_stats(json_t *out)
{
    json_t *created = json_object();
    pthread_mutex_lock(&vx_mu);
    tick();
    vx_jobs_stats(created);
    vx_models_stats(created);
    pthread_mutex_unlock(&vx_mu);
    json_object_set_new(out, "created", created);
}

static void vertex_shutdown(void)
{
    vertex_reset();
}

static const char *const vertex_config_keys[] = {"job_clock_ms", "upload_min_interval_ms", NULL};

const emu_service emu_vertex_service = {
    .name = "vertex",
    .init = vertex_init,
    .handle = vertex_handle,
    .reset = vertex_reset,
    .configure = vertex_configure,
    .config_keys = vertex_config_keys,
    .stats = vertex_stats,
    .shutdown = vertex_shutdown,
};
