/* config_check — see config_check.h. */
#include "config_check.h"

#include <stdio.h>
#include <string.h>

#include "function.h"
#include "rules.h"

#define RULES_ERR_MAX 16384

/* Appends the lines of TEXT to ERR (holding *LEN bytes) and returns how many there were. */
static int append_lines(char *err, size_t errlen, size_t *len, const char *text)
{
    int n = 0;
    for (const char *p = text; *p;) {
        size_t k = strcspn(p, "\n");
        if (*len + 1 < errlen) {
            int w = snprintf(err + *len, errlen - *len, "%s%.*s", *len ? "\n" : "", (int)k, p);
            if (w > 0)
                *len += (size_t)w < errlen - *len ? (size_t)w : errlen - *len - 1;
        }
        n++;
        p += k;
        if (*p == '\n')
            p++;
    }
    return n;
}

int config_check_rules(const json_t *rules_array, char *err, size_t errlen, size_t *n_rules)
{
    char why[RULES_ERR_MAX];
    rules *rs = NULL;
    size_t len = 0;
    err[0] = '\0';
    why[0] = '\0';
    if (rules_compile(rules_array, &rs, why, sizeof why) != 0) {
        int n = append_lines(err, errlen, &len, why);
        return n ? n : append_lines(err, errlen, &len, "rules: cannot be compiled");
    }
    if (n_rules)
        *n_rules = rules_count(rs);
    rules_free(rs);
    return 0;
}

int config_check(const config *cfg, char *err, size_t errlen, size_t *n_rules)
{
    char why[RULES_ERR_MAX];
    size_t len = 0;
    int problems = 0;
    err[0] = '\0';
    if (config_validate(cfg, why) != 0)
        problems += append_lines(err, errlen, &len, why);
    if (!fn_lookup(cfg->function)) {
        snprintf(why, sizeof why, "function: no function is registered as \"%.64s\"",
                 cfg->function);
        problems += append_lines(err, errlen, &len, why);
    }
    int bad_rules = config_check_rules(cfg->rules, why, sizeof why, n_rules);
    if (bad_rules)
        problems += append_lines(err, errlen, &len, why);
    return problems;
}
