/* vertex_answer — reading Vertex's answers (google.rpc.Status errors) and the retry backoff.
 *
 * Part of the vertex module (vertex.h). An error answer looks like
 *   {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT", "details": [...]}}
 * Only code, status and message are kept, rendered by the printable policy (printable.h): cut to
 * fit, one line, controls and bidirectional characters escaped, as they reach logs and the
 * ledger.
 * Anything else (HTML from a proxy, an empty or cut-off body) becomes a transient error whose
 * message says what arrived, never what it contained. */
#include "arena_json.h"
#include "vertex.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "printable.h"

static const char *const err_names[] = {
    "ok",
    "transient error",
    "permanent error",
    "not found",
    "authentication failed",
    "invalid arguments",
    "out of memory",
};

const char *vtx_err_name(vtx_err e)
{
    return (unsigned)e < sizeof err_names / sizeof err_names[0] ? err_names[e] : "unknown";
}

void vtx_result_clear(vtx_result *r)
{
    if (!r->kept)
        json_decref(r->resource);
    memset(r, 0, sizeof *r);
    r->retry_after_s = -1;
}

vtx_err vtx_result_keep(vtx_result *r, arena *a, vtx_err e)
{
    if (!r->resource || r->kept)
        return e;
    if (!arena_json(a, r->resource)) {
        *r = (vtx_result){.err = VTX_ERR_NOMEM, .retry_after_s = -1, .attempts = r->attempts};
        snprintf(r->message, sizeof r->message, "out of memory");
        return VTX_ERR_NOMEM;
    }
    r->kept = true;
    return e;
}

long vtx_backoff_cap_ms(int attempt)
{
    long cap = VTX_BACKOFF_BASE_MS;
    for (int i = 0; i < attempt && cap < VTX_BACKOFF_MAX_MS; i++)
        cap *= 2;
    return cap < VTX_BACKOFF_MAX_MS ? cap : VTX_BACKOFF_MAX_MS;
}

long vtx_backoff_ms(int attempt)
{
    return (long)randombytes_uniform((uint32_t)vtx_backoff_cap_ms(attempt) + 1);
}

static vtx_err classify(long status)
{
    if (status >= 200 && status < 300)
        return VTX_OK;
    if (status == 401)
        return VTX_ERR_AUTH;
    if (status == 404)
        return VTX_ERR_NOT_FOUND;
    if (status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
        status == 504)
        return VTX_ERR_TRANSIENT;
    if (status >= 400 && status < 500)
        return VTX_ERR_PERMANENT;
    return VTX_ERR_TRANSIENT; /* other 5xx, 1xx, 3xx: not an answer we can act on */
}

void vtx_result_from_answer(vtx_result *r, long http_status, const char *body, size_t len)
{
    json_decref(r->resource);
    r->resource = NULL;
    r->http_status = http_status;
    r->status[0] = '\0';
    r->message[0] = '\0';
    r->err = classify(http_status);

    json_error_t jerr;
    json_t *root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (r->err == VTX_OK) {
        if (json_is_object(root)) {
            r->resource = root;
            return;
        }
        r->err = VTX_ERR_TRANSIENT;
        snprintf(r->message, sizeof r->message,
                 "HTTP %ld with %s (%zu bytes): truncated or malformed answer", http_status,
                 len == 0 ? "an empty body"
                 : root   ? "a JSON non-object"
                          : "unparsable JSON",
                 len);
        json_decref(root);
        return;
    }
    json_t *e = json_object_get(root, "error");
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *message = json_string_value(json_object_get(e, "message"));
    if (status)
        prt_str(r->status, sizeof r->status, status);
    if (message)
        prt_str(r->message, sizeof r->message, message);
    else if (!json_is_object(e))
        snprintf(r->message, sizeof r->message, "HTTP %ld with %s (%zu bytes)", http_status,
                 len == 0 ? "an empty body" : "a body that is not a google.rpc.Status", len);
    else
        snprintf(r->message, sizeof r->message, "HTTP %ld", http_status);
    json_decref(root);
}
