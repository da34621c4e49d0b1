/* The config cases (tests/data/config/NAME.case, see tests/data/README.md): a rules array or a
 * whole config file in, the problems reported out. A rules case goes through rules_compile() (the
 * rules module, src/rules*.c); a config case through `retrainctl check-config`
 * (cmd_check_config(), which loads, validates and compiles as the service does), its stdout and
 * stderr captured. Each reported problem must start with one of the case's "problem:" lines,
 * and there must be exactly as many. One cmocka test per file.
 *
 *   test_config_cases [DIR]            run every case in DIR (default tests/data/config)
 *   test_config_cases --seeds OUT      write each case's config file into OUT/config/ (fuzz
 *                                      seeds for fuzz_config; a rules case as {"rules": [...]}) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builtins.h"
#include "cmd_check_config.h"
#include "rules.h"
#include "support/capture.h"
#include "support/case_file.h"

#define CASES_DIR "tests/data/config"
#define BASE_DIR "tests/data/config/rules"
#define MAX_PROBLEMS 64

static const char *const known_keys[] = {
    "problem", "stderr-contains", "out", "exit", "base", "set", "del", "file", NULL};
static const char *const known_sections[] = {"rules", "config", NULL};

static char tmp_dir[64];

/* ---- building the rules array: base rules and edits ----------------------------------------- */

/* The member of V at the one step STEP ("name", "name[2]" or "[2]") and its parent's slot: sets
 * *PARENT and *KEY or *INDEX (-1 for a key). */
static json_t *step(json_t *v, const char *step_text, json_t **parent, char *key, size_t keylen,
                    long *index)
{
    const char *br = strchr(step_text, '[');
    size_t klen = br ? (size_t)(br - step_text) : strlen(step_text);
    *index = -1;
    if (klen) {
        snprintf(key, keylen, "%.*s", (int)klen, step_text);
        *parent = v;
        v = json_object_get(v, key);
    }
    for (; br; br = strchr(br + 1, '[')) {
        *parent = v;
        *index = strtol(br + 1, NULL, 10);
        v = json_array_get(v, (size_t)*index);
    }
    return v;
}

/* Applies "set: PATH JSON" (VALUE the JSON text; NULL: "del: PATH") to ROOT ({"rules": [...]}).
 * PATH is written as the problems name it: rules[0].job.jobSpec.workerPoolSpecs[0].args. */
static const char *edit(json_t *root, const char *path, const char *value)
{
    char buf[512], key[256] = "";
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root, *parent = NULL;
    long index = -1;
    char *save = NULL;
    char *seg = strtok_r(buf, ".", &save);
    while (seg) {
        char *next = strtok_r(NULL, ".", &save);
        json_t *child = step(v, seg, &parent, key, sizeof key, &index);
        if (!next)
            break;
        if (!child)
            return "set/del: the path does not reach an existing value";
        v = child;
        seg = next;
    }
    json_t *nv = NULL;
    if (value && !(nv = json_loads(value, JSON_DECODE_ANY, NULL)))
        return "set: the value is no JSON";
    int rc;
    if (index >= 0)
        rc = nv ? ((size_t)index == json_array_size(parent)
                       ? json_array_append_new(parent, nv)
                       : json_array_set_new(parent, (size_t)index, nv))
                : json_array_remove(parent, (size_t)index);
    else
        rc = nv ? json_object_set_new(parent, key, nv) : json_object_del(parent, key);
    return rc == 0 ? NULL : "set/del: the path does not reach an object or array";
}

/* The rules array of C (new reference): its `--- rules` section, or its base rules with its
 * edits. NULL with *BAD. */
static json_t *rules_of(const case_file *c, const char **bad)
{
    const case_section *s = case_section_named(c, "rules");
    const char *base = case_value(c, "base");
    json_t *root = json_object(), *arr = NULL;
    if (s && base) {
        *bad = "a rules section or base rules, not both";
    } else if (s) {
        json_error_t e;
        if (!(arr = json_loadb(s->text, s->len, JSON_DECODE_ANY, &e)))
            *bad = "the rules section is no JSON";
    } else {
        arr = json_array();
        char names[512];
        snprintf(names, sizeof names, "%s", base ? base : "");
        char *save = NULL;
        for (char *n = strtok_r(names, " ", &save); n && !*bad; n = strtok_r(NULL, " ", &save)) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s.json", BASE_DIR, n);
            json_t *rule = json_load_file(path, 0, NULL);
            if (rule)
                json_array_append_new(arr, rule);
            else
                *bad = "base: a rule in tests/data/config/rules/ that does not exist";
        }
    }
    if (arr)
        json_object_set_new(root, "rules", arr);
    for (size_t i = 0; arr && !*bad && i < c->n_items; i++) {
        const case_item *it = &c->items[i];
        if (strcmp(it->key, "set") == 0) {
            const char *sp = strchr(it->value, ' ');
            char *p = sp ? strndup(it->value, (size_t)(sp - it->value)) : NULL;
            *bad = p ? edit(root, p, sp + 1) : "set: PATH JSON";
            free(p);
        } else if (strcmp(it->key, "del") == 0) {
            *bad = edit(root, it->value, NULL);
        }
    }
    json_t *out = *bad ? NULL : json_incref(json_object_get(root, "rules"));
    json_decref(root);
    return out;
}

/* ---- checking -------------------------------------------------------------------------------- */

/* Fails unless the lines of REPORTED (N of them) are exactly C's problem: lines, each a prefix
 * of one reported line (FILE in a problem: line stands for PATH). */
static void expect_problems(const case_file *c, char *const *reported, size_t n, const char *path)
{
    size_t wanted = 0;
    for (size_t i = 0; i < c->n_items; i++) {
        if (strcmp(c->items[i].key, "problem") != 0)
            continue;
        wanted++;
        const char *want = c->items[i].value;
        char expanded[1024];
        if (strncmp(want, "FILE", 4) == 0 && path) {
            snprintf(expanded, sizeof expanded, "%s%s", path, want + 4);
            want = expanded;
        }
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = strncmp(reported[k], want, strlen(want)) == 0;
        if (!found) {
            print_error("reported:\n");
            for (size_t k = 0; k < n; k++)
                print_error("  %s\n", reported[k]);
            fail_msg("%s: no problem reported starts with \"%s\"", c->path, want);
        }
    }
    if (wanted != n) {
        for (size_t k = 0; k < n; k++)
            print_error("  %s\n", reported[k]);
        fail_msg("%s: %zu problems reported, the case names %zu", c->path, n, wanted);
    }
}

/* Splits TEXT into its lines (in place): their count, at most MAX. */
static size_t lines_of(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    return n;
}

static void run_rules_case(const case_file *c)
{
    const char *bad = NULL;
    json_t *arr = rules_of(c, &bad);
    if (!arr)
        fail_msg("%s: %s", c->path, bad);
    rules *rs = (rules *)1;
    char err[8192] = "";
    int rc = rules_compile(arr, &rs, err, sizeof err);
    json_decref(arr);
    if (rc == 0) {
        assert_non_null(rs);
        rules_free(rs);
        err[0] = '\0';
    } else {
        assert_null(rs);
        if (!err[0])
            fail_msg("%s: rules_compile failed without a problem line", c->path);
    }
    char *lines[MAX_PROBLEMS];
    expect_problems(c, lines, lines_of(err, lines, MAX_PROBLEMS), NULL);
}

static void run_config_case(const case_file *c)
{
    const case_section *s = case_section_named(c, "config");
    const char *file = case_value(c, "file");
    char path[128];
    if (s && file)
        fail_msg("%s: a config section or file:, not both", c->path);
    if (s) {
        snprintf(path, sizeof path, "%s/config.json", tmp_dir);
        assert_int_equal(case_write(tmp_dir, "config.json", s->text, s->len), 0);
    } else {
        snprintf(path, sizeof path, "%s", file);
    }
    char out[8192], err[8192];
    char *argv[] = {"check-config", path, NULL};
    int rc = capture_main(cmd_check_config, 2, argv, out, sizeof out, err, sizeof err);
    const char *exit_want = case_value(c, "exit");
    int want_rc = exit_want ? atoi(exit_want) : case_value(c, "problem") ? 2 : 0;
    if (rc != want_rc)
        fail_msg("%s: check-config exits %d, want %d; stderr:\n%s", c->path, rc, want_rc, err);
    for (size_t i = 0; i < c->n_items; i++) {
        const case_item *it = &c->items[i];
        char want[1024];
        snprintf(want, sizeof want, "%s%s", strncmp(it->value, "FILE", 4) == 0 ? path : "",
                 it->value + (strncmp(it->value, "FILE", 4) == 0 ? 4 : 0));
        if (strcmp(it->key, "out") == 0) {
            char line[1100];
            snprintf(line, sizeof line, "%s\n", want);
            if (strcmp(out, line) != 0)
                fail_msg("%s: stdout is \"%s\", want \"%s\"", c->path, out, line);
        } else if (strcmp(it->key, "stderr-contains") == 0 && !strstr(err, it->value)) {
            fail_msg("%s: stderr does not say \"%s\":\n%s", c->path, it->value, err);
        }
    }
    if (!case_value(c, "out") && out[0])
        fail_msg("%s: check-config wrote to stdout: %s", c->path, out);
    /* stderr: the problems, then "FILE: N problem(s)" */
    char *lines[MAX_PROBLEMS + 1];
    size_t n = lines_of(err, lines, MAX_PROBLEMS + 1);
    if (rc == 2) {
        char summary[256];
        assert_true(n > 0);
        snprintf(summary, sizeof summary, "%s: %zu problem%s", path, n - 1, n - 1 == 1 ? "" : "s");
        if (strcmp(lines[n - 1], summary) != 0)
            fail_msg("%s: the last line is \"%s\", want \"%s\"", c->path, lines[n - 1], summary);
        n--;
    }
    expect_problems(c, lines, n, path);
}

static void run_case(void **state)
{
    const char *path = *state;
    case_file c;
    const char *bad = case_load_known(path, &c, known_keys, known_sections);
    if (bad) {
        case_free(&c);
        fail_msg("%s: %s", path, bad);
    }
    if (case_section_named(&c, "config") || case_value(&c, "file"))
        run_config_case(&c);
    else
        run_rules_case(&c);
    case_free(&c);
}

/* ---- --seeds --------------------------------------------------------------------------------- */

/* OUT/config/case-NAME.json: the case's config file (a rules case as {"rules": [...]}). */
static int seed(const char *path, const char *out)
{
    case_file c;
    const char *bad = case_load(path, &c);
    char dir[4096], name[512];
    snprintf(dir, sizeof dir, "%s/config", out);
    snprintf(name, sizeof name, "case-%s.json", c.name ? c.name : "x");
    const case_section *s = bad ? NULL : case_section_named(&c, "config");
    int rc = 0;
    if (s) {
        rc = case_write(dir, name, s->text, s->len);
    } else if (!bad && !case_value(&c, "file")) {
        json_t *arr = rules_of(&c, &bad);
        json_t *config = arr ? json_pack("{s:o}", "rules", arr) : NULL;
        char *text = config ? json_dumps(config, JSON_COMPACT) : NULL;
        if (text)
            rc = case_write(dir, name, text, strlen(text));
        free(text);
        json_decref(config);
    }
    if (bad)
        fprintf(stderr, "%s: %s\n", path, bad);
    case_free(&c);
    return bad || rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
        return case_seeds(CASES_DIR, argv[2], (const char *const[]){"config", NULL}, seed);
    capture_clear_config_env(); /* the environment overrides the file */
    builtins_register();        /* as retrainctl does */
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/retrain-config-cases-XXXXXX");
    if (!mkdtemp(tmp_dir))
        return 1;
    int rc = case_run_all("config_cases", argc > 1 ? argv[1] : CASES_DIR, run_case);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_config_cases: could not remove %s\n", tmp_dir);
    return rc;
}
