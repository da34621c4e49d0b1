/* fuzz_trace — the traceparent and X-Cloud-Trace-Context parsers on any bytes: a header they
 * take must come out as a valid version-00 traceparent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* a header value is a C string; an embedded NUL ends it */
    for (int cloud = 0; cloud < 2; cloud++) {
        trace_begin(cloud ? NULL : s, cloud ? s : NULL);
        const char *h = trace_header();
        if (h) {
            trace_ctx c;
            if (strlen(h) != TRACE_HEADER_LEN || !trace_parse(h, &c) ||
                strcmp(c.id, trace_id()) != 0)
                abort();
        }
        trace_end();
    }
    free(s);
    return 0;
}
