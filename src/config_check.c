/* config_check — see config_check.h. */
#include "config_check.h"

#include <stdio.h>
#include <string.h>

#include "function.h"
#include "problems.h"
#include "rules.h"

#define RULES_ERR_MAX 16384

/* Adds each "path: message" line of TEXT (written by config_validate or rules_compile) to P; a
 * line without a path gets WHERE. */
static void add_lines(problems *p, const char *text, const char *where)
{
    char path[PROBLEM_PATH_MAX];
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *colon = memchr(line, ':', len);
        snprintf(path, sizeof path, "%.*s", colon ? (int)(colon - line) : 0, line);
        const char *msg = colon ? colon + 1 + (colon[1] == ' ') : line;
        problem_add(p, colon ? path : where, "%.*s", (int)(line + len - msg), msg);
        line += len;
        if (*line == '\n')
            line++;
    }
}

static void check_rules(problems *p, const json_t *rules_array, size_t *n_rules)
{
    char why[RULES_ERR_MAX];
    rules *rs = NULL;
    why[0] = '\0';
    if (rules_compile(rules_array, &rs, why, sizeof why) != 0) {
        int before = p->count;
        add_lines(p, why, "rules");
        if (p->count == before)
            problem_add(p, "rules", "cannot be compiled");
        return;
    }
    if (n_rules)
        *n_rules = rules_count(rs);
    rules_free(rs);
}

int config_check_rules(const json_t *rules_array, char *err, size_t errlen, size_t *n_rules)
{
    problems p = {.buf = err, .cap = errlen};
    err[0] = '\0';
    check_rules(&p, rules_array, n_rules);
    return p.count;
}

int config_check(const config *cfg, char *err, size_t errlen, size_t *n_rules)
{
    problems p = {.buf = err, .cap = errlen};
    char why[CONFIG_ERR_MAX];
    err[0] = '\0';
    if (config_validate(cfg, why) != 0)
        add_lines(&p, why, "config");
    if (!fn_lookup(cfg->function))
        problem_add(&p, "function", "no function is registered as \"%.64s\"", cfg->function);
    check_rules(&p, cfg->rules, n_rules);
    return p.count;
}
