/* config_check — see config_check.h. */
#include "config_check.h"

#include <stdio.h>
#include <string.h>

#include "function.h"
#include "problems.h"

typedef struct {
    const json_t *sections;
    problems *p;
    size_t n_rules;
} sections_check;

static void check_one(const fn_def *def, void *arg)
{
    sections_check *c = arg;
    if (def->check_config)
        c->n_rules += def->check_config(c->sections, c->p);
}

/* Every registered function checks its keys in SECTIONS. */
static size_t check_sections(problems *p, const json_t *sections)
{
    sections_check c = {.sections = sections, .p = p};
    fn_foreach(check_one, &c);
    return c.n_rules;
}

int config_check_sections(const json_t *sections, char *err, size_t errlen, size_t *n_rules)
{
    problems p = {.buf = err, .cap = errlen};
    err[0] = '\0';
    size_t n = check_sections(&p, sections);
    if (n_rules)
        *n_rules = n;
    return p.count;
}

int config_check(const config *cfg, char *err, size_t errlen, size_t *n_rules)
{
    problems p = {.buf = err, .cap = errlen};
    char why[CONFIG_ERR_MAX];
    err[0] = '\0';
    if (config_validate(cfg, why) != 0)
        problem_add_lines(&p, why, "config");
    if (!fn_lookup(cfg->function))
        problem_add(&p, "function", "no function is registered as \"%.64s\"", cfg->function);
    size_t n = check_sections(&p, cfg->sections);
    if (n_rules)
        *n_rules = p.count ? 0 : n;
    return p.count;
}
