/* arena — a per-request bump allocator.
 *
 * A request's allocations come from one arena and are released together by arena_reset() (the
 * worker does this after each answer) or arena_free(). Nothing allocated here is freed singly,
 * so an error path that returns early leaks nothing. Blocks grow geometrically; a request that
 * once needed a lot keeps at most the first block after a reset.
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

/* Bytes handed out since the last reset (for the scoreboard and tests). */
size_t arena_used(const arena *a);

#endif
