/* case_file — test-only: the case files under tests/data/ (tests/data/README.md has the format).
 *
 * A case file is a header block of `key: value` lines (blank lines and `#` lines are comments),
 * then sections, each opened by a line `--- NAME` and running to the next such line; the `body`
 * section runs to the end of the file whatever it holds, its final newline included. In header
 * values, `\xHH` is the byte HH and `\\` a backslash; any other backslash is itself.
 *
 * Every string a case_file hands out lives in its arena, freed by case_free(). The runners
 * (test_*_cases.c) read the keys and sections they know and refuse the others. */
#ifndef TEST_CASE_FILE_H
#define TEST_CASE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define CASE_MAX_ITEMS 128
#define CASE_MAX_SECTIONS 16

typedef struct {
    const char *key, *value;
} case_item;

typedef struct {
    const char *name, *text; /* TEXT is NUL-terminated after LEN bytes */
    size_t len;
} case_section;

typedef struct {
    const char *path, *name; /* NAME: the file's base name without ".case" */
    arena *a;
    case_item items[CASE_MAX_ITEMS];
    size_t n_items;
    case_section sections[CASE_MAX_SECTIONS];
    size_t n_sections;
} case_file;

/* Reads PATH into *C. NULL, or a complaint about the file (C is then still freed by case_free). */
const char *case_load(const char *path, case_file *c);
void case_free(case_file *c);
/* case_load(), then a complaint for a key not in KEYS or a section not in SECTIONS (see
 * case_key_known() for the lists). */
const char *case_load_known(const char *path, case_file *c, const char *const *keys,
                            const char *const *sections);

/* The value of the last KEY line, or NULL. */
const char *case_value(const case_file *c, const char *key);
/* The section NAME, or NULL. */
const case_section *case_section_named(const case_file *c, const char *name);
/* Whether KEY is one of KNOWN (NULL-terminated; an entry ending in '.' is a prefix: "attr."
 * takes "attr.id"). The first item whose key is in none of KNOWN, or NULL; the same for
 * sections. */
bool case_key_known(const char *key, const char *const *known);
const char *case_unknown_key(const case_file *c, const char *const *known);
const char *case_unknown_section(const case_file *c, const char *const *known);

/* The value of the hex digit C, or -1. */
int case_hexval(char c);

/* S[0..N) with the header block's escapes undone, in A. */
char *case_unescape(arena *a, const char *s, size_t n);

/* A section of `Name: value` lines (a `headers` section) as items in ITEMS (at most MAX), the
 * value being what follows the colon and one space, unescaped. The count, or -1 (with *BAD
 * naming the problem) for a line without ':' or too many lines. */
int case_section_items(arena *a, const case_section *s, case_item *items, size_t max,
                       const char **bad);

/* Every DIR/ *.case path, sorted, malloc'd (case_list_free); *N their count. NULL when DIR cannot
 * be read. */
char **case_list(const char *dir, size_t *n);
void case_list_free(char **paths, size_t n);

/* Runs TEST once per case file in DIR as the cmocka group GROUP, each test named after its file
 * and given the file's path as its state. 1 when DIR holds no case. */
int case_run_all(const char *group, const char *dir, void (*test)(void **state));

/* Makes OUT/T for each target T of TARGETS (NULL-terminated), then calls SEED(path, OUT) for each
 * case file in CASES_DIR, in order: a runner's --seeds. 0, or 1 when a directory could not be
 * made, CASES_DIR holds no case, or a SEED call returned non-zero. */
int case_seeds(const char *cases_dir, const char *out, const char *const *targets,
               int (*seed)(const char *path, const char *out));

/* Writes LEN bytes of DATA into DIR/NAME. 0 or -1. */
int case_write(const char *dir, const char *name, const void *data, size_t len);

/* Reads PATH whole (malloc'd, NUL-terminated, *LEN bytes), or NULL. */
char *case_read_file(const char *path, size_t *len);

#endif
