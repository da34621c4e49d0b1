/* token_cache — a bounded per-worker cache of tokens whose signature already verified.
 *
 * Keyed by keyed BLAKE2b-256 of the whole token (the key random per process, so bucket
 * placement cannot be predicted); the digest is compared with sodium_memcmp. The cache holds at
 * most `capacity` entries, in 4-way sets with least-recently-used eviction inside a set. An entry
 * expires with the token's exp; it keeps the payload so that the caller re-applies the claim
 * policy on every hit (a policy change or an expiry still rejects). The token itself is never
 * stored.
 *
 * Ownership: the cache takes a reference to each payload it stores and drops it on eviction;
 * what token_cache_get() returns is borrowed until the next call on the cache. */
#ifndef RT_TOKEN_CACHE_H
#define RT_TOKEN_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct token_cache token_cache;

/* CAPACITY 0 returns NULL, which every function below accepts as "disabled". NULL also when out
 * of memory (the caller can tell by CAPACITY). */
token_cache *token_cache_new(size_t capacity);
void token_cache_free(token_cache *c);

/* On a hit (the token is cached and NOW < its exp) sets *PAYLOAD and *KID and returns 1;
 * otherwise returns 0 (an expired entry is dropped). */
int token_cache_get(token_cache *c, const char *token, size_t len, int64_t now,
                    const json_t **payload, const char **kid);

/* Stores a verified token; takes a new reference to PAYLOAD, copies KID (may be NULL). */
void token_cache_put(token_cache *c, const char *token, size_t len, json_t *payload,
                     const char *kid, int64_t exp);

/* Entries held, and the fixed capacity (for tests and the scoreboard). */
size_t token_cache_count(const token_cache *c);
size_t token_cache_capacity(const token_cache *c);

#endif
