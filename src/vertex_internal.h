/* vertex_internal — what the files of the vertex module share (vertex.c: the client, the retry
 * loop, jobs and pipelines; vertex_upload.c: models.upload and finding versions by label);
 * not a public API. */
#ifndef RT_VERTEX_INTERNAL_H
#define RT_VERTEX_INTERNAL_H

#include "vertex.h"

#include <stdbool.h>

#define VTX_LIST_PAGE_SIZE 50
#define VTX_FIND_PAGES_MAX 20 /* a filtered list may answer empty pages with a token */

struct vtx_client {
    gauth *auth;
    fetch_client *http;
    char *base;        /* "https://us-central1-aiplatform.googleapis.com/v1" */
    char *parent;      /* base + "/projects/P/locations/L" */
    char *parent_name; /* "projects/P/locations/L" */
    long deadline_ms;
};

typedef struct vtx_request vtx_request;

/* Called when a create failed after its body may have reached Google: true when OUT is
 * decided (the resource was found and adopted, or we cannot tell: not re-sent), false when the
 * resource surely does not exist and the request may be sent again. */
typedef bool (*vtx_resolver)(vtx_client *c, const vtx_request *q, long long deadline,
                             vtx_result *out);

/* One logical call. */
struct vtx_request {
    const char *method;
    const char *url;
    const char *body; /* NULL for GET */
    bool idempotent;
    const char *what; /* names the call in messages: "customJobs", "models:upload" */
    /* For creates: how to tell after an ambiguous failure whether the resource exists; NULL:
     * we cannot, so the failure is returned, not re-sent. */
    vtx_resolver resolve;
    const void *arg; /* the resolver's */
};

char *vtx_dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vtx_set_message(vtx_result *r, vtx_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* OUT zeroed, VTX_ERR_INVALID with the message FMT % ARG. */
vtx_err vtx_invalid(vtx_result *out, const char *fmt, const char *arg);
vtx_err vtx_nomem(vtx_result *out);

/* Sends Q, retrying within DEADLINE (monotonic ms) as vertex.h says. OUT is accumulated into
 * (attempts); zero it before the first call. */
vtx_err vtx_perform(vtx_client *c, const vtx_request *q, long long deadline, vtx_result *out);

/* Sends Q once within the client's deadline (OUT zeroed first). */
vtx_err vtx_start(vtx_client *c, const vtx_request *q, vtx_result *out);

/* Every item under MEMBER of the list at URL (a full URL, no query), following nextPageToken
 * (at most VTX_FIND_PAGES_MAX pages), gathered into {MEMBER: [...]}. */
vtx_err vtx_list_all(vtx_client *c, const char *url, const char *member, vtx_result *out);

/* The first item under MEMBER of the list at URL (a full URL, no query) filtered by FILTER,
 * following nextPageToken past empty pages; VTX_ERR_NOT_FOUND when there is none (or the list's
 * parent does not exist). OUT is zeroed first; on VTX_OK its resource is the item. */
vtx_err vtx_find_first(vtx_client *c, const char *url, const char *member, const char *filter,
                       long long deadline, vtx_result *out);

#endif
