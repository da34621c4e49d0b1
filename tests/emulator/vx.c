/* vx — Vertex AI v1 for the emulator: routing, authentication, the state clock, listing.
 *
 * Every path under /v1/projects/{p}/locations/{l}/ needs a bearer token this emulator issued
 * (emu_gauth.c); without one: 401 UNAUTHENTICATED. Resources advance on a clock of job_clock_ms per
 * step, evaluated lazily: each request first moves every resource to where the clock says it
 * is, so reads are consistent and a test never waits on a background thread.
 *
 * Lists take a filter (vfilter.h, with the keys each list documents), pageSize (default 100, at
 * most 1000), an opaque pageToken and a readMask; they are newest first unless the method takes
 * an orderBy and the request gives one. */
#include "vx.h"

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

#define VX_ORDER_MAX 4

typedef struct {
    const char *member;
    bool desc;
} order_key;

typedef struct {
    const json_t *items;
    const order_key *keys;
    int n;
} order_ctx;

/* "create_time" -> "createTime" into OUT (Google takes either spelling of a field). */
static const char *camel_case(const char *snake, char *out, size_t n)
{
    size_t o = 0;
    for (const char *c = snake; *c && o + 1 < n; c++)
        out[o++] = *c == '_' && c[1] >= 'a' && c[1] <= 'z' ? (char)(*++c - 'a' + 'A') : *c;
    out[o] = '\0';
    return out;
}

/* Compares two candidates (indices into the array) by the orderBy keys, then by age. */
static int order_cmp(const void *a, const void *b, void *arg)
{
    const order_ctx *o = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    for (int k = 0; k < o->n; k++) {
        const char *x =
            json_string_value(json_object_get(json_array_get(o->items, ia), o->keys[k].member));
        const char *y =
            json_string_value(json_object_get(json_array_get(o->items, ib), o->keys[k].member));
        int c = strcmp(x ? x : "", y ? y : ""); /* RFC 3339 times of one format sort as text */
        if (c)
            return o->keys[k].desc ? -c : c;
    }
    return ia < ib ? -1 : ia > ib;
}

/* "create_time desc, update_time" into KEYS; -1 on a field SPEC does not order by. */
static int order_parse(const char *text, const vx_order_field *fields, order_key *keys)
{
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *part = strtok_r(buf, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char name[64] = "", dir[16] = "", extra[2] = "";
        int got = sscanf(part, "%63s %15s %1s", name, dir, extra);
        if (got < 1 || got > 2 || n == VX_ORDER_MAX)
            return -1;
        if (got == 2 && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
            return -1;
        const vx_order_field *f = fields;
        char camel[64];
        for (; f->field; f++)
            if (strcmp(name, f->field) == 0 ||
                strcmp(name, camel_case(f->field, camel, sizeof camel)) == 0)
                break;
        if (!f->field)
            return -1;
        keys[n++] = (order_key){f->member, got == 2 && strcmp(dir, "desc") == 0};
    }
    return n ? n : -1;
}

/* Keeps only the top-level members of ITEM named in MASK ("name,labels,display_name"). */
static json_t *masked(const json_t *item, const char *mask)
{
    json_t *out = json_object();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", mask);
    char *save = NULL;
    for (char *path = strtok_r(buf, ", ", &save); path; path = strtok_r(NULL, ", ", &save)) {
        path[strcspn(path, ".")] = '\0'; /* a nested path keeps its whole top-level member */
        char camel[128];
        json_t *v = json_object_get(item, camel_case(path, camel, sizeof camel));
        if (v)
            json_object_set(out, camel, v);
    }
    return out;
}

static void list_refuse(emu_response *resp, json_t *candidates, const char *fmt, const char *arg)
{
    json_decref(candidates);
    emu_respond_error(resp, 400, "INVALID_ARGUMENT", fmt, arg);
}

void vx_list(const emu_request *req, emu_response *resp, json_t *candidates,
             const vx_list_spec *spec)
{
    const char *filter = req->query(req, "filter");
    const char *size_s = req->query(req, "pageSize");
    const char *token = req->query(req, "pageToken");
    const char *order = req->query(req, "orderBy");
    const char *mask = req->query(req, "readMask");
    vf_filter f;
    long size = VX_PAGE_DEFAULT, offset = 0;
    char *end;
    vf_status fs = vf_parse(filter ? filter : "", spec->filter_keys, &f);
    if (fs != VF_OK) {
        json_decref(candidates);
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "Unsupported filter (%s): %.200s",
                          vf_status_name(fs), filter);
        return;
    }
    if (size_s && *size_s) {
        size = strtol(size_s, &end, 10);
        if (*end || size < 0) {
            list_refuse(resp, candidates, "Invalid page_size: %.40s", size_s);
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
            list_refuse(resp, candidates, "Invalid page token: %.40s", token);
            return;
        }
    }
    order_key keys[VX_ORDER_MAX];
    int n_keys = 0;
    if (order && *order) {
        if (!spec->order) {
            list_refuse(resp, candidates,
                        "Invalid JSON payload received. Unknown name \"%s\": Cannot bind "
                        "query parameter.",
                        "orderBy");
            return;
        }
        if ((n_keys = order_parse(order, spec->order, keys)) < 0) {
            list_refuse(resp, candidates, "Unsupported order_by: %.200s", order);
            return;
        }
    }
    size_t n = json_array_size(candidates);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        json_decref(candidates);
        emu_respond_error(resp, 500, "INTERNAL", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) /* newest first: candidates are stored oldest first */
        idx[i] = n_keys ? i : n - 1 - i;
    if (n_keys) {
        order_ctx ctx = {candidates, keys, n_keys};
        qsort_r(idx, n, sizeof *idx, order_cmp, &ctx);
    }
    json_t *page = json_array();
    long seen = 0;
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *res = json_array_get(candidates, idx[i]);
        if (!vf_match(&f, res))
            continue;
        if (seen >= offset + size) {
            more = true;
            break;
        }
        if (seen >= offset)
            json_array_append_new(page,
                                  mask && *mask ? masked(res, mask) : json_incref((json_t *)res));
        seen++;
    }
    free(idx);
    json_decref(candidates);
    json_t *out = json_object();
    if (json_array_size(page))
        json_object_set(out, spec->member, page);
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
    if (strcmp(req->path, "/emulator/vertex/outcomes") == 0) {
        resp->route = "emulator.vertex_outcomes";
        pthread_mutex_lock(&vx_mu);
        vx_evals_outcomes(req, resp);
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
    vx_evals_reset();
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
    vx_evals_stats(created);
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
