/* function — the registry of functions, and the words their results are said in. It knows no
 * function by name: the binaries register theirs (builtins.c) before they look one up. */
#include "function.h"

#include <string.h>

#define FN_MAX 16

static const fn_def *table[FN_MAX];
static size_t n_table;

const fn_def *fn_lookup(const char *name)
{
    for (size_t i = 0; i < n_table; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

static int add(const fn_def *def)
{
    for (size_t i = 0; i < n_table; i++)
        if (strcmp(table[i]->name, def->name) == 0)
            return -1;
    if (n_table == FN_MAX || !def->handle || config_claim_keys(def->config_keys) != 0)
        return -1;
    table[n_table++] = def;
    return 0;
}

int fn_register(const fn_def *def)
{
    return add(def);
}

void fn_foreach(void (*each)(const fn_def *def, void *arg), void *arg)
{
    for (size_t i = 0; i < n_table; i++)
        each(table[i], arg);
}

const char *fn_status_word(fn_status s)
{
    switch (s) {
    case FN_DONE:
        return "processed";
    case FN_IGNORED:
        return "ignored";
    case FN_COALESCED:
        return "coalesced";
    case FN_FAILED:
        return "failed";
    case FN_RETRY:
        return "retry";
    case FN_QUEUED:
        return "queued";
    }
    return "unknown";
}

const char *fn_status_ledger(fn_status s)
{
    switch (s) {
    case FN_DONE:
    case FN_QUEUED:
        return "done";
    case FN_IGNORED:
        return "ignored";
    case FN_COALESCED:
        return "coalesced";
    case FN_FAILED:
        return "failed";
    case FN_RETRY:
        return NULL;
    }
    return NULL;
}
