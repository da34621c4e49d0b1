/* arena — see arena.h. A singly linked list of blocks, newest first; allocation bumps an offset
 * in the newest block and opens a bigger block when it does not fit. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size, used;
    alignas(max_align_t) unsigned char data[];
} block;

typedef struct cleanup {
    struct cleanup *next;
    arena_cleanup_fn *fn;
    void *p;
} cleanup;

struct arena {
    block *head;
    cleanup *cleanups; /* newest first; the nodes are arena memory */
    size_t first_size, total_used;
};

static block *block_new(size_t size)
{
    block *b = malloc(sizeof *b + size);
    if (b) {
        b->next = NULL;
        b->size = size;
        b->used = 0;
    }
    return b;
}

arena *arena_new(size_t first_block)
{
    arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->first_size = first_block ? first_block : 4096;
    a->total_used = 0;
    a->cleanups = NULL;
    a->head = block_new(a->first_size);
    if (!a->head) {
        free(a);
        return NULL;
    }
    return a;
}

/* A cleanup may allocate from the arena or register another: each node is unlinked before
 * it runs, and the loop goes on until none is left. */
static void run_cleanups(arena *a)
{
    while (a->cleanups) {
        cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->p);
    }
}

void arena_free(arena *a)
{
    if (!a)
        return;
    run_cleanups(a);
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void arena_reset(arena *a)
{
    run_cleanups(a);
    block *b = a->head;
    while (b->next) { /* the first block sits at the end of the list */
        block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->total_used = 0;
}

void *arena_alloc(arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (n == 0)
        n = align;
    block *b = a->head;
    if (b->size - b->used < n) {
        size_t size = b->size * 2;
        while (size < n)
            size *= 2;
        block *nb = block_new(size);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total_used += n;
    return p;
}

void *arena_zalloc(arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int arena_on_reset(arena *a, arena_cleanup_fn *fn, void *p)
{
    cleanup *c = arena_alloc(a, sizeof *c);
    if (!c) {
        fn(p);
        return -1;
    }
    *c = (cleanup){.next = a->cleanups, .fn = fn, .p = p};
    a->cleanups = c;
    return 0;
}

void *arena_zalloc_owned(arena *a, size_t n, arena_cleanup_fn *fn)
{
    void *p = arena_zalloc(a, n);
    return p && arena_on_reset(a, fn, p) == 0 ? p : NULL;
}

size_t arena_used(const arena *a)
{
    return a->total_used;
}
