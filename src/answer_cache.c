/* answer_cache — see answer_cache.h. A set is chosen by the key's first hex digits (the key is a
 * BLAKE2b hash, so they are uniform); within a set, a use counter picks the victim. */
#include "answer_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define KEY_LEN 64
#define MAX_ANSWER 4096

typedef struct {
    char key[KEY_LEN + 1];
    char *answer; /* NULL: empty way */
    size_t len;
    uint64_t used;
    int64_t stored_ms;
    char rule[ANSWER_CACHE_RULE_MAX + 1]; /* the rule the answer names ("": none) */
} entry;

struct answer_cache {
    entry *entries;
    size_t n_sets;
    uint64_t clock;
    int64_t ttl_ms;
};

answer_cache *answer_cache_new(size_t capacity, int64_t ttl_ms)
{
    answer_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ttl_ms = ttl_ms;
    c->n_sets = (capacity + WAYS - 1) / WAYS;
    if (c->n_sets && !(c->entries = calloc(c->n_sets * WAYS, sizeof *c->entries))) {
        free(c);
        return NULL;
    }
    return c;
}

void answer_cache_free(answer_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_sets * WAYS; i++)
        free(c->entries[i].answer);
    free(c->entries);
    free(c);
}

/* The set for KEY, from its first 16 hex digits (lower-case, as ledger_key writes them). */
static entry *set_of(answer_cache *c, const char *key)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h << 4 | (uint64_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
    return &c->entries[(h % c->n_sets) * WAYS];
}

static int valid_key(const char *key)
{
    return key && strlen(key) == KEY_LEN;
}

const char *answer_cache_get(answer_cache *c, const char *key, int64_t now_ms, size_t *len,
                             const char **rule)
{
    if (!c || !c->n_sets || !valid_key(key))
        return NULL;
    entry *set = set_of(c, key);
    for (int w = 0; w < WAYS; w++)
        if (set[w].answer && memcmp(set[w].key, key, KEY_LEN) == 0) {
            if (now_ms - set[w].stored_ms >= c->ttl_ms)
                return NULL;
            set[w].used = ++c->clock;
            *len = set[w].len;
            if (rule)
                *rule = set[w].rule;
            return set[w].answer;
        }
    return NULL;
}

void answer_cache_put(answer_cache *c, const char *key, const char *answer, size_t len,
                      const char *rule, int64_t now_ms)
{
    if (!c || !c->n_sets || !valid_key(key) || len > MAX_ANSWER)
        return;
    entry *set = set_of(c, key), *victim = NULL;
    for (int w = 0; w < WAYS && !victim; w++)
        if (set[w].answer && memcmp(set[w].key, key, KEY_LEN) == 0)
            victim = &set[w]; /* replaced in place */
    for (int w = 0; w < WAYS && !victim; w++)
        if (!set[w].answer)
            victim = &set[w];
    if (!victim) {
        victim = &set[0];
        for (int w = 1; w < WAYS; w++)
            if (set[w].used < victim->used)
                victim = &set[w];
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, answer, len);
    copy[len] = '\0';
    free(victim->answer);
    memcpy(victim->key, key, KEY_LEN + 1);
    victim->answer = copy;
    victim->len = len;
    victim->used = ++c->clock;
    victim->stored_ms = now_ms;
    snprintf(victim->rule, sizeof victim->rule, "%s", rule ? rule : "");
}
