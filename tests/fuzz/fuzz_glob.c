/* libFuzzer target for src/glob: the input is "PATTERN\nNAME". Any pattern must compile or be
 * refused cleanly, and a compiled pattern must always match its own text when the text has no
 * special characters (a cross-check of the matcher against strcmp). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *name = strchr(buf, '\n');
    if (name)
        *name++ = '\0';
    else
        name = buf + size;

    glob_pattern *g = NULL;
    char err[256];
    glob_status st = glob_compile(buf, &g, err, sizeof err);
    if (st == GLOB_OK) {
        bool m = glob_match(g, name);
        if (strpbrk(buf, "*?\\") == NULL && m != (strcmp(buf, name) == 0))
            abort();
        if (strpbrk(buf, "*?\\") == NULL && !glob_match(g, buf))
            abort();
        glob_free(g);
    } else if (g != NULL || err[0] == '\0') {
        abort();
    }
    free(buf);
    return 0;
}
