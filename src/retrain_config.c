/* retrain_config — see retrain_config.h. */
#include "retrain_config.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules.h"

#define RULES_ERR_MAX 16384

const char *const retrain_config_keys[] = {"vertex", "rules", "follow", "notify", "storage", NULL};

void retrain_config_free(retrain_config *c)
{
    free(c->vertex.endpoint);
    free(c->vertex.project);
    free(c->vertex.region);
    free(c->notify.url);
    free(c->storage.endpoint);
    json_decref(c->rules);
    memset(c, 0, sizeof *c);
}

int retrain_config_read(const json_t *sections, retrain_config *out, problems *p)
{
    int before = p->count;
    *out = (retrain_config){
        .vertex = {.region = strdup("us-central1"), .deadline_ms = 20000},
        .follow = {.first_s = 30, .max_s = 300, .reads_per_minute = 120, .creates_per_minute = 50},
        .notify = {.timeout_ms = 5000},
        .storage = {.endpoint = strdup("https://storage.googleapis.com"), .timeout_ms = 30000},
        .rules = json_array()};
    if (!out->vertex.region || !out->rules || !out->storage.endpoint)
        problem_add(p, "config", "out of memory");
    const config_field vertex[] = {
        {"endpoint", CONFIG_STRING, &out->vertex.endpoint, 0, 0},
        {"project", CONFIG_STRING, &out->vertex.project, 0, 0},
        {"region", CONFIG_STRING, &out->vertex.region, 0, 0},
        {"deadline_ms", CONFIG_INT, &out->vertex.deadline_ms, 100, 600000},
    };
    const config_field follow[] = {
        {"first_s", CONFIG_INT, &out->follow.first_s, 1, 86400},
        {"max_s", CONFIG_INT, &out->follow.max_s, 1, 86400},
        {"reads_per_minute", CONFIG_INT, &out->follow.reads_per_minute, 1, 6000},
        {"creates_per_minute", CONFIG_INT, &out->follow.creates_per_minute, 1, 6000},
    };
    const config_field notify[] = {
        {"url", CONFIG_STRING, &out->notify.url, 0, 0},
        {"timeout_ms", CONFIG_INT, &out->notify.timeout_ms, 100, 60000},
    };
    const config_field storage[] = {
        {"endpoint", CONFIG_STRING, &out->storage.endpoint, 0, 0},
        {"timeout_ms", CONFIG_INT, &out->storage.timeout_ms, 100, 600000},
    };
    const config_field top[] = {
        {"vertex", CONFIG_OBJECT, NULL, 0, 0},  {"rules", CONFIG_ARRAY, &out->rules, 0, 0},
        {"follow", CONFIG_OBJECT, NULL, 0, 0},  {"notify", CONFIG_OBJECT, NULL, 0, 0},
        {"storage", CONFIG_OBJECT, NULL, 0, 0},
    };
    config_read_share(p, sections, top, sizeof top / sizeof top[0]);
    const json_t *v = json_object_get(sections, "vertex");
    if (json_is_object(v))
        config_read_fields(p, "vertex", v, vertex, sizeof vertex / sizeof vertex[0]);
    const json_t *f = json_object_get(sections, "follow");
    if (json_is_object(f)) {
        int was = p->count;
        config_read_fields(p, "follow", f, follow, sizeof follow / sizeof follow[0]);
        if (p->count == was && out->follow.max_s < out->follow.first_s)
            problem_add(p, "follow.max_s", "must be at least follow.first_s (%d)",
                        out->follow.first_s);
    }
    const json_t *n = json_object_get(sections, "notify");
    if (json_is_object(n)) {
        int was = p->count;
        config_read_fields(p, "notify", n, notify, sizeof notify / sizeof notify[0]);
        const char *u = out->notify.url;
        if (p->count == was && !u)
            problem_add(p, "notify.url", "is required (where each run that ends is POSTed)");
        else if (p->count == was && strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
            problem_add(p, "notify.url", "must be an http:// or https:// URL");
    }
    const json_t *g = json_object_get(sections, "storage");
    if (json_is_object(g))
        config_read_fields(p, "storage", g, storage, sizeof storage / sizeof storage[0]);
    config_read_env_string(p, "RETRAIN_VERTEX_ENDPOINT", &out->vertex.endpoint);
    config_read_env_string(p, "RETRAIN_STORAGE_ENDPOINT", &out->storage.endpoint);
    char *e = out->storage.endpoint;
    if (e && strncmp(e, "https://", 8) != 0 && strncmp(e, "http://", 7) != 0)
        problem_add(p, "storage.endpoint", "must be an http:// or https:// URL");
    else if (e && *e && e[strlen(e) - 1] == '/')
        e[strlen(e) - 1] = '\0'; /* the paths are appended with their own '/' */
    if (!out->vertex.project)
        config_read_env_string(p, "GOOGLE_CLOUD_PROJECT", &out->vertex.project);
    if (p->count == before)
        return 0;
    retrain_config_free(out);
    return -1;
}

size_t retrain_config_check(const json_t *sections, problems *p)
{
    retrain_config c;
    if (retrain_config_read(sections, &c, p) != 0)
        return 0;
    char why[RULES_ERR_MAX];
    rules *rs = NULL;
    size_t n = 0;
    why[0] = '\0';
    if (rules_compile(c.rules, &rs, why, sizeof why) != 0) {
        int before = p->count;
        problem_add_lines(p, why, "rules");
        if (p->count == before)
            problem_add(p, "rules", "cannot be compiled");
    } else {
        n = rules_count(rs);
        rules_free(rs);
    }
    retrain_config_free(&c);
    return n;
}
