/* case_file — see case_file.h. */
#include "case_file.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

char *case_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

int case_hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

char *case_unescape(arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
            out[k++] = '\\';
            i++;
        } else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && case_hexval(s[i + 2]) >= 0 &&
                   case_hexval(s[i + 3]) >= 0) {
            out[k++] = (char)(case_hexval(s[i + 2]) << 4 | case_hexval(s[i + 3]));
            i += 3;
        } else {
            out[k++] = s[i];
        }
    }
    if (out)
        out[k] = '\0';
    return out;
}

/* "--- NAME" with NAME of [a-z0-9_-]: the length of NAME, or 0. */
static size_t marker(const char *p, size_t n)
{
    if (n < 5 || memcmp(p, "--- ", 4) != 0)
        return 0;
    for (size_t i = 4; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
              p[i] == '-'))
            return 0;
    return n - 4;
}

/* Splits "key: value" (one blank after the colon dropped) into ITEM; -1 without a colon. */
static int split_item(arena *a, const char *p, size_t n, case_item *item)
{
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return -1;
    size_t klen = (size_t)(colon - p), voff = klen + 1;
    if (voff < n && p[voff] == ' ')
        voff++;
    item->key = arena_strndup(a, p, klen);
    item->value = case_unescape(a, p + voff, n - voff);
    return item->key && item->value ? 0 : -1;
}

const char *case_load(const char *path, case_file *c)
{
    memset(c, 0, sizeof *c);
    c->a = arena_new(8192);
    if (!c->a)
        return "out of memory";
    c->path = arena_strdup(c->a, path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t blen = strlen(base);
    c->name = arena_strndup(c->a, base,
                            blen > 5 && strcmp(base + blen - 5, ".case") == 0 ? blen - 5 : blen);
    size_t len;
    char *text = case_read_file(path, &len);
    if (!text)
        return "cannot read the file";
    char *t = arena_strndup(c->a, text, len);
    free(text);
    if (!t || !c->path || !c->name)
        return "out of memory";
    case_section *open = NULL;
    char *p = t, *end = t + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char *next = nl ? nl + 1 : end;
        size_t mlen = marker(p, n);
        if (mlen) {
            if (c->n_sections == CASE_MAX_SECTIONS)
                return "too many sections";
            if (open) {
                open->len = (size_t)(p - open->text);
                /* Each section is its own NUL-terminated string: the marker's first byte goes. */
                *p = '\0';
            }
            open = &c->sections[c->n_sections++];
            open->name = arena_strndup(c->a, p + 4, mlen);
            open->text = next;
            if (strcmp(open->name, "body") == 0) {
                open->len = (size_t)(end - next);
                return NULL;
            }
        } else if (!open) {
            if (n == 0 || p[0] == '#') {
                /* a comment or a blank line */
            } else if (c->n_items == CASE_MAX_ITEMS) {
                return "too many lines in the header block";
            } else if (split_item(c->a, p, n, &c->items[c->n_items]) != 0) {
                return "a header-block line without ':'";
            } else {
                c->n_items++;
            }
        }
        p = next;
    }
    if (open)
        open->len = (size_t)(end - open->text);
    return NULL;
}

const char *case_load_known(const char *path, case_file *c, const char *const *keys,
                            const char *const *sections)
{
    const char *bad = case_load(path, c);
    if (!bad && case_unknown_key(c, keys))
        bad = "an unknown key in the header block";
    if (!bad && case_unknown_section(c, sections))
        bad = "an unknown section";
    return bad;
}

void case_free(case_file *c)
{
    arena_free(c->a);
    c->a = NULL;
}

const char *case_value(const case_file *c, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < c->n_items; i++)
        if (strcmp(c->items[i].key, key) == 0)
            v = c->items[i].value;
    return v;
}

const case_section *case_section_named(const case_file *c, const char *name)
{
    for (size_t i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    return NULL;
}

bool case_key_known(const char *name, const char *const *known)
{
    for (; *known; known++) {
        size_t n = strlen(*known);
        if (n && (*known)[n - 1] == '.' ? strncmp(name, *known, n) == 0 && name[n]
                                        : strcmp(name, *known) == 0)
            return true;
    }
    return false;
}

const char *case_unknown_key(const case_file *c, const char *const *known)
{
    for (size_t i = 0; i < c->n_items; i++)
        if (!case_key_known(c->items[i].key, known))
            return c->items[i].key;
    return NULL;
}

const char *case_unknown_section(const case_file *c, const char *const *known)
{
    for (size_t i = 0; i < c->n_sections; i++)
        if (!case_key_known(c->sections[i].name, known))
            return c->sections[i].name;
    return NULL;
}

int case_section_items(arena *a, const case_section *s, case_item *items, size_t max,
                       const char **bad)
{
    size_t count = 0;
    const char *p = s->text, *end = s->text + s->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (count == max) {
            *bad = "too many lines";
            return -1;
        }
        if (split_item(a, p, n, &items[count]) != 0) {
            *bad = "a line without ':'";
            return -1;
        }
        count++;
        p = nl ? nl + 1 : end;
    }
    return (int)count;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

char **case_list(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **paths = NULL;
    size_t cap = 0;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".case") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc(paths, cap * sizeof *paths);
            if (!bigger)
                abort();
            paths = bigger;
        }
        if (asprintf(&paths[*n], "%s/%s", dir, e->d_name) < 0)
            abort();
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(paths, *n, sizeof *paths, by_name);
    return paths ? paths : calloc(1, sizeof *paths);
}

void case_list_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int case_run_all(const char *group, const char *dir, void (*test)(void **state))
{
    size_t n;
    char **paths = case_list(dir, &n);
    if (!paths || n == 0) {
        fprintf(stderr, "%s: no .case files in %s (run from the repository root)\n", group, dir);
        case_list_free(paths, 0);
        return 1;
    }
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    if (!tests)
        abort();
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){
            .name = strrchr(paths[i], '/') + 1, .test_func = test, .initial_state = paths[i]};
    int rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    case_list_free(paths, n);
    return rc;
}

int case_seeds(const char *cases_dir, const char *out, const char *const *targets,
               int (*seed)(const char *path, const char *out))
{
    char dir[4096];
    for (; *targets; targets++) {
        snprintf(dir, sizeof dir, "%s/%s", out, *targets);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: %s\n", dir, strerror(errno));
            return 1;
        }
    }
    size_t n;
    char **paths = case_list(cases_dir, &n);
    int rc = paths && n ? 0 : 1;
    for (size_t i = 0; paths && i < n; i++)
        rc |= seed(paths[i], out) != 0;
    case_list_free(paths, paths ? n : 0);
    return rc;
}

int case_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}
