/* answer_cache — a worker's memory of the answers it gave to finished events.
 *
 * A push subscription redelivers: the same event may arrive many times, and a flood of copies
 * must stay cheap. A record the ledger holds as done, coalesced or ignored never changes again
 * (only gc removes it, after the retention period, and answering "duplicate" then is still
 * right), so the answer to its next copy can be served from memory without asking the ledger.
 * Failed records are never cached: `retrainctl replay` may re-open them. An answer is kept for a
 * limited time (a minute in the pool), so a record redelivered for days still has its last
 * receipt refreshed in the ledger (which keeps gc from collecting it while it is in use).
 *
 * Fixed size, set-associative (4 ways), least recently used out first. Keys are the ledger's
 * event keys. Ownership: the cache owns copies of the answers; a pointer returned by
 * answer_cache_get stays valid until the next answer_cache_put. One cache per process. */
#ifndef RT_ANSWER_CACHE_H
#define RT_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct answer_cache answer_cache;

/* Room for about CAPACITY answers (rounded up to a multiple of 4), each served for TTL_MS after
 * it was stored; CAPACITY 0 gives a cache that holds nothing. NULL on OOM. */
answer_cache *answer_cache_new(size_t capacity, int64_t ttl_ms);
void answer_cache_free(answer_cache *c);

#define ANSWER_CACHE_RULE_MAX 63

/* The answer stored for KEY (64-hex ledger key) less than TTL_MS before NOW_MS (any monotonic
 * clock in ms), or NULL; *LEN receives its length, and *RULE (RULE may be NULL) the rule stored
 * with it ("" for none), valid as the answer is. */
const char *answer_cache_get(answer_cache *c, const char *key, int64_t now_ms, size_t *len,
                             const char **rule);

/* Stores a copy of ANSWER (LEN bytes) for KEY at NOW_MS, with the name of the RULE it concerns
 * (may be NULL; at most ANSWER_CACHE_RULE_MAX bytes kept) for counting the copies it answers.
 * Answers over 4 KiB are not kept. */
void answer_cache_put(answer_cache *c, const char *key, const char *answer, size_t len,
                      const char *rule, int64_t now_ms);

#endif
