/* libFuzzer target for cloudevent: ce_parse_http on an HTTP request made from the input, and the
 * property that every event it accepts survives ce_to_json → ce_from_json unchanged.
 *
 * Input format (the seed corpus in tests/fuzz/corpus/cloudevent/ shows each):
 *   'S' + body    structured mode: Content-Type application/cloudevents+json, the rest the body
 *   'J' + JSON    the rest parsed as JSON and given to ce_from_json (the ledger's replay path)
 *   otherwise     `Name: value` lines (LF or CRLF) up to a blank line, then the body; header
 *                 names are passed as written, so the parser's case handling is exercised too */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudevent.h"
#include "http_request.h"
#include "printable.h"

#define MAX_HEADERS 64

static bool same_str(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static bool same_event(const cloudevent *x, const cloudevent *y)
{
    if (!same_str(x->id, y->id) || !same_str(x->source, y->source) ||
        !same_str(x->specversion, y->specversion) || !same_str(x->type, y->type) ||
        !same_str(x->datacontenttype, y->datacontenttype) ||
        !same_str(x->dataschema, y->dataschema) || !same_str(x->subject, y->subject) ||
        !same_str(x->time, y->time) || x->n_extensions != y->n_extensions)
        return false;
    for (size_t i = 0; i < x->n_extensions; i++)
        if (!same_str(x->extensions[i].name, y->extensions[i].name) ||
            !same_str(x->extensions[i].value, y->extensions[i].value))
            return false;
    return (x->data == NULL) == (y->data == NULL) && x->data_len == y->data_len &&
           (x->data_len == 0 || memcmp(x->data, y->data, x->data_len) == 0);
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_cloudevent: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    abort();
}

/* The property: the JSON form of an accepted event parses back to the same event, and its own
 * JSON form is the same JSON. */
static void check_round_trip(const cloudevent *ev, arena *a)
{
    json_t *j = ce_to_json(ev);
    if (!j)
        die("ce_to_json failed on an accepted event", NULL);
    cloudevent back;
    char err[256];
    if (ce_from_json(j, a, &back, err, sizeof err) != CE_OK)
        die("ce_from_json rejected ce_to_json's output", err);
    if (!same_event(ev, &back))
        die("the round trip changed the event", NULL);
    json_t *j2 = ce_to_json(&back);
    if (!j2 || !json_equal(j, j2))
        die("the JSON form is not stable", NULL);
    json_decref(j2);
    json_decref(j);
}

/* Error messages are short, never empty, and printable text by the printable policy (valid
 * UTF-8 without control, bidirectional or invisible characters): safe in JSON and in logs. */
static void check_message(const char *err)
{
    size_t n = strlen(err);
    if (n == 0 || n > 255)
        die("error message empty or too long", err);
    if (!prt_is_printable(err, n))
        die("error message is not printable text", NULL);
}

/* Splits DATA into header lines and a body; strings are copied into the arena. */
static void parse_headers(const uint8_t *data, size_t size, arena *a, http_request *req,
                          http_header *h)
{
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size, len = end - pos;
        const char *line = (const char *)data + pos;
        pos = nl ? end + 1 : size;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        const char *colon = memchr(line, ':', len);
        if (!colon || req->n_headers == MAX_HEADERS)
            continue;
        size_t nlen = (size_t)(colon - line), voff = nlen + 1;
        if (voff < len && line[voff] == ' ')
            voff++;
        h[req->n_headers].name = arena_strndup(a, line, nlen);
        h[req->n_headers].value = arena_strndup(a, line + voff, len - voff);
        if (!h[req->n_headers].name || !h[req->n_headers].value)
            die("arena exhausted", NULL);
        req->n_headers++;
    }
    req->body = data + pos;
    req->body_len = size - pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new(4096);
    if (!a)
        return 0;
    cloudevent ev;
    char err[256];
    ce_status s;
    if (size > 0 && data[0] == 'J') {
        json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
        s = j ? ce_from_json(j, a, &ev, err, sizeof err) : CE_ERR_INVALID;
        json_decref(j);
    } else {
        http_header h[MAX_HEADERS];
        http_request req = {.method = "POST", .path = "/", .query = "", .remote_addr = ""};
        if (size > 0 && data[0] == 'S') {
            h[0].name = "content-type";
            h[0].value = "application/cloudevents+json";
            req.headers = h;
            req.n_headers = 1;
            req.body = data + 1;
            req.body_len = size - 1;
        } else {
            req.headers = h;
            parse_headers(data, size, a, &req, h);
        }
        s = ce_parse_http(&req, a, &ev, err, sizeof err);
        if (s != CE_OK)
            check_message(err);
    }
    if (s == CE_OK)
        check_round_trip(&ev, a);
    else if (ce_status_http(s) != 400 && ce_status_http(s) != 415)
        die("unexpected status", ce_status_code(s));
    arena_free(a);
    return 0;
}
