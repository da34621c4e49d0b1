/* token_cache — see token_cache.h. A set-associative array: the digest picks a set of up to four
 * ways; a lookup compares at most four digests, so a hit or a miss costs the same whatever the
 * capacity. */
#include "token_cache.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

typedef struct {
    unsigned char digest[crypto_generichash_BYTES];
    json_t *payload; /* NULL: empty way */
    char *kid;
    int64_t exp;
    uint64_t used; /* tick of the last hit or store */
} entry;

struct token_cache {
    entry *e;
    size_t sets, ways, count;
    uint64_t tick;
    unsigned char key[crypto_generichash_KEYBYTES];
};

token_cache *token_cache_new(size_t capacity)
{
    if (capacity == 0 || sodium_init() < 0)
        return NULL;
    token_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ways = capacity < WAYS ? capacity : WAYS;
    c->sets = capacity / c->ways;
    if (!(c->e = calloc(c->sets * c->ways, sizeof *c->e))) {
        free(c);
        return NULL;
    }
    randombytes_buf(c->key, sizeof c->key);
    return c;
}

static void entry_clear(token_cache *c, entry *e)
{
    if (!e->payload)
        return;
    json_decref(e->payload);
    free(e->kid);
    memset(e, 0, sizeof *e);
    c->count--;
}

void token_cache_free(token_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->sets * c->ways; i++)
        entry_clear(c, &c->e[i]);
    sodium_memzero(c->key, sizeof c->key);
    free(c->e);
    free(c);
}

/* The digest of TOKEN, and the first way of its set. */
static entry *set_of(token_cache *c, const char *token, size_t len,
                     unsigned char digest[crypto_generichash_BYTES])
{
    crypto_generichash(digest, crypto_generichash_BYTES, (const unsigned char *)token, len, c->key,
                       sizeof c->key);
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    return &c->e[(h % c->sets) * c->ways];
}

int token_cache_get(token_cache *c, const char *token, size_t len, int64_t now,
                    const json_t **payload, const char **kid)
{
    if (!c)
        return 0;
    unsigned char d[crypto_generichash_BYTES];
    entry *set = set_of(c, token, len, d);
    for (size_t w = 0; w < c->ways; w++) {
        entry *e = &set[w];
        if (!e->payload || sodium_memcmp(e->digest, d, sizeof d) != 0)
            continue;
        if (now >= e->exp) {
            entry_clear(c, e);
            return 0;
        }
        e->used = ++c->tick;
        *payload = e->payload;
        *kid = e->kid;
        return 1;
    }
    return 0;
}

void token_cache_put(token_cache *c, const char *token, size_t len, json_t *payload,
                     const char *kid, int64_t exp)
{
    if (!c || !payload)
        return;
    unsigned char d[crypto_generichash_BYTES];
    entry *set = set_of(c, token, len, d), *victim = &set[0];
    for (size_t w = 0; w < c->ways; w++) {
        entry *e = &set[w];
        if (e->payload && sodium_memcmp(e->digest, d, sizeof d) == 0) {
            victim = e; /* the same token again: replace it */
            break;
        }
        if (!e->payload || (victim->payload && e->used < victim->used))
            victim = e;
    }
    char *kid_copy = kid ? strdup(kid) : NULL;
    if (kid && !kid_copy)
        return;
    entry_clear(c, victim);
    memcpy(victim->digest, d, sizeof d);
    victim->payload = json_incref(payload);
    victim->kid = kid_copy;
    victim->exp = exp;
    victim->used = ++c->tick;
    c->count++;
}

size_t token_cache_count(const token_cache *c)
{
    return c ? c->count : 0;
}

size_t token_cache_capacity(const token_cache *c)
{
    return c ? c->sets * c->ways : 0;
}
