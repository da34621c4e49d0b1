/* delivery_case — test-only: one reader and one checker of the delivery cases
 * (tests/data/deliveries/, tests/data/tokens/; the format is in tests/data/README.md), shared by
 * the unit runner (test_delivery_cases, through service_handle) and, through that runner's
 * --check-all, the end-to-end one (through nginx), so both hold an answer to the same rules.
 *
 * Everything a delivery hands out lives in its case's arena (d->f.a). */
#ifndef TEST_DELIVERY_CASE_H
#define TEST_DELIVERY_CASE_H

#include <stddef.h>

#include "case_file.h"
#include "http_request.h"

#define DELIVERY_MAX_HEADERS 64

/* A case read, with the request it sends (a case with neither headers nor body that POSTs
 * sends the standard event: ce-id its name, ce-source //cases, ce-type com.example.case, body
 * {}). */
typedef struct {
    case_file f;
    const char *method, *uri;
    case_item headers[DELIVERY_MAX_HEADERS];
    size_t n_headers;
    const char *body;
    size_t body_len;
    int expect, repeat;
} delivery;

/* What a run of a case found: the first expectation it missed (in A), or NULL. */
typedef struct {
    arena *a;
    const char *missed;
} verdict;

/* Records the first miss only. */
void missed(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads PATH into *D: NULL, or a complaint about the file. D's arena is then set either way
 * (case_free(&d->f) releases it). */
const char *delivery_load(const char *path, delivery *d);

/* The answer R against the status, field.*, field-contains.*, field-matches.* and header.*
 * lines. */
void delivery_check_answer(const delivery *d, const http_response *r, verdict *v);
/* LOG, the log lines the delivery caused (one JSON object a line), against the log.* and
 * log-matches.* lines: one line must have them all. */
void delivery_check_log(const delivery *d, const char *log, verdict *v);

/* D's headers for curl -H @file, one a line (malloc'd). */
char *delivery_curl_headers(const delivery *d);

#endif
