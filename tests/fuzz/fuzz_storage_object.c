/* libFuzzer target for src/storage_object: any bytes must parse or be refused with a message
 * that is printable text (printable.h); a parsed object must have a non-empty bucket and name
 * and digit-only int64 fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "printable.h"
#include "storage_object.h"

static void check_digits(const char *s)
{
    if (s && (!*s || strspn(s, "0123456789") != strlen(s)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new(0);
    if (!a)
        return 0;
    storage_object obj;
    char err[256] = "";
    storage_object_status st = storage_object_parse(data, size, a, &obj, err, sizeof err);
    if (st == STORAGE_OBJECT_OK) {
        if (!obj.bucket || !*obj.bucket || !obj.name || !*obj.name)
            abort();
        check_digits(obj.generation);
        check_digits(obj.metageneration);
        check_digits(obj.size);
        char *uri = storage_object_gcs_uri(&obj, a);
        if (!uri || strncmp(uri, "gs://", 5) != 0)
            abort();
        for (size_t i = 0; i < obj.n_metadata; i++)
            if (storage_object_metadata(&obj, obj.metadata[i].key) == NULL)
                abort();
    } else if (err[0] == '\0' || obj.bucket || obj.name || !prt_is_printable(err, strlen(err))) {
        abort();
    }
    arena_free(a);
    return 0;
}
