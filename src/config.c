/* config — see config.h.
 *
 * Each section is read through a small table of known keys, so an unknown key is an error
 * naming its path (a typo in "service_acounts" must not silently disable a check). Problems are
 * collected rather than returned at the first, so one run of check-config shows them all. */
#include "config.h"

#include "problems.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int config_set_string(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = strdup(src)))
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

static void list_free(config_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int list_push(config_list *l, const char *s, size_t len)
{
    char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    if (!(items[l->n] = strndup(s, len)))
        return -1;
    l->n++;
    return 0;
}

/* "a, b,c" -> [a, b, c]; empty pieces are dropped. */
static int list_from_csv(config_list *l, const char *csv)
{
    list_free(l);
    for (const char *p = csv; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m && list_push(l, p, m) != 0)
            return -1;
        p += n;
    }
    return 0;
}

void config_defaults(config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = strdup("unix:/run/retrain/fcgi.sock");
    cfg->socket_mode = 0660;
    cfg->backlog = 1024;
    cfg->workers = 0;
    cfg->max_requests = 100000;
    cfg->request_timeout_s = 30;
    cfg->shutdown_timeout_s = 20;
    cfg->function = strdup("echo");
    cfg->log_level = strdup("INFO");
    cfg->auth.jwks_url = strdup("https://www.googleapis.com/oauth2/v3/certs");
    cfg->auth.clock_skew_s = 60;
    cfg->auth.token_cache_size = 1024;
    cfg->ledger.url = strdup("sqlite:///var/lib/retrain/ledger.db");
    cfg->ledger.lease_s = 120;
    cfg->ledger.retention_s = 7 * 24 * 3600;
    cfg->ledger.gc_interval_s = 3600;
    cfg->ledger.answer_cache_size = 1024;
    cfg->sections = json_object();
}

void config_free(config *cfg)
{
    free(cfg->listen);
    free(cfg->socket_group);
    free(cfg->function);
    free(cfg->log_level);
    free(cfg->project);
    free(cfg->path);
    list_free(&cfg->auth.audiences);
    list_free(&cfg->auth.service_accounts);
    free(cfg->auth.jwks_url);
    free(cfg->auth.jwks_cache);
    free(cfg->ledger.url);
    json_decref(cfg->sections);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- typed readers: each checks one value and records a problem under its path ---------- */

static void read_field(problems *p, const char *path, const config_field *f, json_t *v)
{
    switch (f->kind) {
    case CONFIG_STRING:
        if (!json_is_string(v) || json_string_length(v) == 0)
            problem_add(p, path, "must be a non-empty string");
        else if (config_set_string(f->dst, json_string_value(v)) != 0)
            problem_add(p, path, "out of memory");
        break;
    case CONFIG_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            problem_add(p, path, "must be an integer from %d to %d", f->min, f->max);
        else
            *(int *)f->dst = (int)json_integer_value(v);
        break;
    case CONFIG_MODE: { /* "0660" as a string of octal digits, or an integer */
        long mode = -1;
        if (json_is_string(v)) {
            char *end;
            errno = 0;
            mode = strtol(json_string_value(v), &end, 8);
            if (errno || *end || end == json_string_value(v))
                mode = -1;
        } else if (json_is_integer(v)) {
            mode = (long)json_integer_value(v);
        }
        if (mode < 0 || mode > 0777)
            problem_add(p, path, "must be an octal file mode such as \"0660\"");
        else
            *(int *)f->dst = (int)mode;
        break;
    }
    case CONFIG_BOOL:
        if (!json_is_boolean(v))
            problem_add(p, path, "must be true or false");
        else
            *(bool *)f->dst = json_is_true(v);
        break;
    case CONFIG_LIST: {
        config_list *l = f->dst;
        if (!json_is_array(v)) {
            problem_add(p, path, "must be an array of strings");
            break;
        }
        list_free(l);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item) || json_string_length(item) == 0)
                problem_add(p, path, "item %zu must be a non-empty string", i);
            else if (list_push(l, json_string_value(item), json_string_length(item)) != 0)
                problem_add(p, path, "out of memory");
        }
        break;
    }
    case CONFIG_ARRAY:
        if (!json_is_array(v)) {
            problem_add(p, path, "must be an array");
        } else {
            json_decref(*(json_t **)f->dst);
            *(json_t **)f->dst = json_incref(v);
        }
        break;
    case CONFIG_OBJECT:
        break; /* sections are read by their own tables */
    }
}

/* The keys functions claimed (config_claim_keys). */
#define CLAIMED_MAX 32
static const char *claimed[CLAIMED_MAX];
static size_t n_claimed;

static bool is_claimed(const char *key)
{
    for (size_t i = 0; i < n_claimed; i++)
        if (strcmp(claimed[i], key) == 0)
            return true;
    return false;
}

int config_claim_keys(const char *const *keys)
{
    for (; keys && *keys; keys++) {
        if (is_claimed(*keys))
            continue;
        if (n_claimed == CLAIMED_MAX)
            return -1;
        claimed[n_claimed++] = *keys;
    }
    return 0;
}

/* What a key FIELDS does not name is: a problem, someone else's when claimed (the framework's
 * top level), or simply not the reader's (a function reading its share of the top level). */
typedef enum { UNKNOWN_REFUSED, UNKNOWN_UNLESS_CLAIMED, UNKNOWN_IGNORED } unknown_rule;

static void read_fields(problems *p, const char *prefix, const json_t *obj,
                        const config_field *fields, size_t n_fields, unknown_rule unknown)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        const config_field *f = NULL;
        for (size_t i = 0; i < n_fields; i++)
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        if (!f) {
            if (unknown == UNKNOWN_REFUSED ||
                (unknown == UNKNOWN_UNLESS_CLAIMED && !is_claimed(key)))
                problem_add(p, path, "unknown key");
        } else if (f->kind == CONFIG_OBJECT && !json_is_object(v))
            problem_add(p, path, "must be an object");
        else
            read_field(p, path, f, v);
    }
}

void config_read_fields(problems *p, const char *prefix, const json_t *obj,
                        const config_field *fields, size_t n_fields)
{
    read_fields(p, prefix, obj, fields, n_fields, UNKNOWN_REFUSED);
}

void config_read_share(problems *p, const json_t *top, const config_field *fields, size_t n_fields)
{
    read_fields(p, "", top, fields, n_fields, UNKNOWN_IGNORED);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void read_file(problems *p, config *cfg, json_t *root)
{
    const config_field top[] = {
        {"listen", CONFIG_STRING, &cfg->listen, 0, 0},
        {"socket_group", CONFIG_STRING, &cfg->socket_group, 0, 0},
        {"socket_mode", CONFIG_MODE, &cfg->socket_mode, 0, 0},
        {"backlog", CONFIG_INT, &cfg->backlog, 1, 65535},
        {"workers", CONFIG_INT, &cfg->workers, 0, 256},
        {"max_requests", CONFIG_INT, &cfg->max_requests, 1, INT_MAX},
        {"request_timeout_s", CONFIG_INT, &cfg->request_timeout_s, 1, 3600},
        {"shutdown_timeout_s", CONFIG_INT, &cfg->shutdown_timeout_s, 0, 3600},
        {"function", CONFIG_STRING, &cfg->function, 0, 0},
        {"log_level", CONFIG_STRING, &cfg->log_level, 0, 0},
        {"project", CONFIG_STRING, &cfg->project, 0, 0},
        {"auth", CONFIG_OBJECT, NULL, 0, 0},
        {"ledger", CONFIG_OBJECT, NULL, 0, 0},
    };
    const config_field auth[] = {
        {"audiences", CONFIG_LIST, &cfg->auth.audiences, 0, 0},
        {"service_accounts", CONFIG_LIST, &cfg->auth.service_accounts, 0, 0},
        {"jwks_url", CONFIG_STRING, &cfg->auth.jwks_url, 0, 0},
        {"jwks_cache", CONFIG_STRING, &cfg->auth.jwks_cache, 0, 0},
        {"clock_skew_s", CONFIG_INT, &cfg->auth.clock_skew_s, 0, 600},
        {"token_cache_size", CONFIG_INT, &cfg->auth.token_cache_size, 0, 1 << 20},
        {"disabled", CONFIG_BOOL, &cfg->auth.disabled, 0, 0},
    };
    const config_field ledger[] = {
        {"url", CONFIG_STRING, &cfg->ledger.url, 0, 0},
        {"lease_s", CONFIG_INT, &cfg->ledger.lease_s, 1, 86400},
        {"retention_s", CONFIG_INT, &cfg->ledger.retention_s, 60, 365 * 86400},
        {"gc_interval_s", CONFIG_INT, &cfg->ledger.gc_interval_s, 0, 86400},
        {"answer_cache_size", CONFIG_INT, &cfg->ledger.answer_cache_size, 0, 1 << 20},
    };
    /* The functions' keys go to their sections as they are; the rest is read here. */
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (is_claimed(key) && json_object_set(cfg->sections, key, v) != 0)
            problem_add(p, key, "out of memory");
    }
    read_fields(p, "", root, top, N(top), UNKNOWN_UNLESS_CLAIMED);
    json_t *s;
    if ((s = json_object_get(root, "auth")) && json_is_object(s))
        config_read_fields(p, "auth", s, auth, N(auth));
    if ((s = json_object_get(root, "ledger")) && json_is_object(s))
        config_read_fields(p, "ledger", s, ledger, N(ledger));
}

static void read_env_int(problems *p, const char *name, int *dst, int min, int max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max)
        problem_add(p, name, "must be an integer from %d to %d", min, max);
    else
        *dst = (int)n;
}

void config_read_env_string(problems *p, const char *name, char **dst)
{
    const char *v = getenv(name);
    if (v && *v && config_set_string(dst, v) != 0)
        problem_add(p, name, "out of memory");
}

static void read_env(problems *p, config *cfg)
{
    const char *v;
    if ((v = getenv("RETRAIN_AUDIENCE")) && *v && list_from_csv(&cfg->auth.audiences, v) != 0)
        problem_add(p, "RETRAIN_AUDIENCE", "out of memory");
    if ((v = getenv("RETRAIN_SERVICE_ACCOUNTS")) && *v &&
        list_from_csv(&cfg->auth.service_accounts, v) != 0)
        problem_add(p, "RETRAIN_SERVICE_ACCOUNTS", "out of memory");
    config_read_env_string(p, "RETRAIN_JWKS_URL", &cfg->auth.jwks_url);
    config_read_env_string(p, "RETRAIN_LEDGER", &cfg->ledger.url);
    config_read_env_string(p, "RETRAIN_LISTEN", &cfg->listen);
    config_read_env_string(p, "RETRAIN_FUNCTION", &cfg->function);
    config_read_env_string(p, "RETRAIN_LOG_LEVEL", &cfg->log_level);
    read_env_int(p, "RETRAIN_WORKERS", &cfg->workers, 0, 256);
    if (!cfg->project)
        config_read_env_string(p, "GOOGLE_CLOUD_PROJECT", &cfg->project);
}

int config_load(const char *path, config *cfg, char err[CONFIG_ERR_MAX])
{
    problems p = {.buf = err, .cap = CONFIG_ERR_MAX};
    err[0] = '\0';
    config_defaults(cfg);
    if (!cfg->listen || !cfg->function || !cfg->sections) {
        problem_add(&p, "config", "out of memory");
        goto fail;
    }
    if (path) {
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            problem_add(&p, path, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
            goto fail;
        }
        if (!json_is_object(root))
            problem_add(&p, path, "the top level must be a JSON object");
        else
            read_file(&p, cfg, root);
        json_decref(root);
        config_set_string(&cfg->path, path);
    }
    read_env(&p, cfg);
    if (p.count == 0)
        return 0;
fail:
    config_free(cfg);
    return -1;
}

bool config_listen_is_loopback(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0)
        return true;
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
    if (n == 0 || n >= sizeof host)
        return false;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (strcmp(host, "localhost") == 0)
        return true;
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        host[n - 1] = '\0';
        memmove(host, host + 1, n - 1);
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static int valid_listen(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0)
        return listen[5] == '/' && strlen(listen + 5) < 108;
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && port > 0 && port < 65536;
}

int config_validate(const config *cfg, char err[CONFIG_ERR_MAX])
{
    problems p = {.buf = err, .cap = CONFIG_ERR_MAX};
    err[0] = '\0';
    static const char *levels[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"};
    int level_ok = 0;
    for (size_t i = 0; i < N(levels); i++)
        level_ok |= strcasecmp(cfg->log_level, levels[i]) == 0;
    if (!level_ok)
        problem_add(&p, "log_level",
                    "must be one of DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL");
    if (!valid_listen(cfg->listen))
        problem_add(&p, "listen", "must be \"unix:/absolute/path\" or \"host:port\"");
    if (cfg->auth.disabled && !config_listen_is_loopback(cfg->listen))
        problem_add(&p, "auth.disabled",
                    "is for development only and is refused unless the listener is loopback");
    if (!cfg->auth.disabled) {
        if (cfg->auth.audiences.n == 0)
            problem_add(&p, "auth.audiences",
                        "at least one audience is required (or RETRAIN_AUDIENCE)");
        if (cfg->auth.service_accounts.n == 0)
            problem_add(&p, "auth.service_accounts",
                        "at least one service account is required (or RETRAIN_SERVICE_ACCOUNTS)");
    }
    if (strncmp(cfg->ledger.url, "sqlite://", 9) != 0 &&
        strncmp(cfg->ledger.url, "postgres://", 11) != 0 &&
        strncmp(cfg->ledger.url, "postgresql://", 13) != 0)
        problem_add(&p, "ledger.url", "must start with sqlite:// or postgres://");
    return p.count ? -1 : 0;
}

int config_worker_count(const config *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)(2 * cores) : 2;
}
