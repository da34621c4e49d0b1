/* trace — see trace.h. */
#include "trace.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static trace_ctx current;
static bool have;
static char header[TRACE_HEADER_LEN + 1];

/* N lower-case hex digits at S, not all '0' when NONZERO. */
static bool lower_hex(const char *s, size_t n, bool nonzero)
{
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        zero = zero && c == '0';
    }
    return !(nonzero && zero);
}

static unsigned hex_byte(const char *s)
{
    return (unsigned)strtoul((char[3]){s[0], s[1], '\0'}, NULL, 16);
}

bool trace_parse(const char *tp, trace_ctx *out)
{
    if (!tp)
        return false;
    size_t n = strlen(tp);
    /* version "-" trace-id "-" parent-id "-" trace-flags */
    if (n < TRACE_HEADER_LEN || !lower_hex(tp, 2, false) || strncmp(tp, "ff", 2) == 0 ||
        tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || !lower_hex(tp + 3, 32, true) ||
        !lower_hex(tp + 36, 16, true) || !lower_hex(tp + 53, 2, false))
        return false;
    /* Version 00 is exactly 55 characters; a later one may carry more after a '-'. */
    if (strncmp(tp, "00", 2) == 0 ? n != TRACE_HEADER_LEN
                                  : n > TRACE_HEADER_LEN && tp[TRACE_HEADER_LEN] != '-')
        return false;
    memcpy(out->id, tp + 3, 32);
    out->id[32] = '\0';
    memcpy(out->parent, tp + 36, 16);
    out->parent[16] = '\0';
    out->flags = hex_byte(tp + 53);
    return true;
}

bool trace_parse_cloud(const char *xct, trace_ctx *out)
{
    if (!xct || strcspn(xct, "/;") != 32)
        return false;
    for (int i = 0; i < 32; i++)
        if (!strchr("0123456789abcdefABCDEF", xct[i]))
            return false;
    for (int i = 0; i < 32; i++)
        out->id[i] = (char)(xct[i] >= 'A' && xct[i] <= 'F' ? xct[i] - 'A' + 'a' : xct[i]);
    out->id[32] = '\0';
    if (!lower_hex(out->id, 32, true))
        return false;
    uint64_t span = 0;
    if (xct[32] == '/') {
        char *end;
        span = strtoull(xct + 33, &end, 10);
        if (end == xct + 33 || (*end && *end != ';'))
            span = 0;
    }
    while (span == 0)
        randombytes_buf(&span, sizeof span);
    snprintf(out->parent, sizeof out->parent, "%016" PRIx64, span);
    const char *o = strstr(xct, ";o=");
    out->flags = o && o[3] == '1' ? 1 : 0;
    return true;
}

void trace_begin(const char *traceparent, const char *x_cloud_trace)
{
    have = trace_parse(traceparent, &current) || trace_parse_cloud(x_cloud_trace, &current);
    if (have)
        snprintf(header, sizeof header, "00-%s-%s-%02x", current.id, current.parent,
                 current.flags & 0xffu);
}

void trace_end(void)
{
    have = false;
}

const char *trace_id(void)
{
    return have ? current.id : NULL;
}

const char *trace_header(void)
{
    return have ? header : NULL;
}
