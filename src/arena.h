/* arena — a per-request bump allocator.
 *
 * A request's allocations come from one arena and are released together by arena_reset() (the
 * worker does this after each answer) or arena_free(). Nothing allocated here is freed singly,
 * so an error path that returns early leaks nothing. Blocks grow geometrically; a request that
 * once needed a lot keeps at most the first block after a reset.
 *
 * What is not arena memory can die with the arena too: arena_on_reset() registers a cleanup (a
 * json_decref, a free) that runs at the next arena_reset() or arena_free(), newest first, as
 * nginx's pool cleanups do. So the request path has one memory rule: what it is handed lives
 * until the answer is sent, and nothing on it is released by hand.
 *
 * Every allocator returns NULL when memory runs out; callers treat that as a 500. */
#ifndef RT_ARENA_H
#define RT_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

arena *arena_new(size_t first_block);
void arena_free(arena *a);
void arena_reset(arena *a);

/* Memory aligned for any type, uninitialised (arena_zalloc: zeroed). */
void *arena_alloc(arena *a, size_t n);
void *arena_zalloc(arena *a, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena *a, const char *fmt, va_list ap);

typedef void arena_cleanup_fn(void *p);

/* Runs FN(P) when A is next reset or freed; cleanups run newest first, each once. 0, or -1 when
 * memory ran out: then FN(P) has already run, so nothing leaks and the caller must not use P. */
int arena_on_reset(arena *a, arena_cleanup_fn *fn, void *p);

/* N zeroed bytes on which FN runs at the next reset or free: an object that owns memory of its
 * own (a ledger slot, a lease) living as long as the arena. NULL when memory runs out. */
void *arena_zalloc_owned(arena *a, size_t n, arena_cleanup_fn *fn);

/* Bytes handed out since the last reset (for the scoreboard and tests). */
size_t arena_used(const arena *a);

#endif
