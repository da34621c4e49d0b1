/* storage_object — Cloud Storage's StorageObjectData, the payload of
 * google.cloud.storage.object.v1.finalized (and the other object.v1 events).
 *
 * Required for us: bucket and name, non-empty strings (a name of at most 1024 bytes, Cloud
 * Storage's own limit). The int64 fields (generation, metageneration, size) follow the
 * protobuf JSON mapping: a string of decimal digits or a non-negative JSON integer, both kept
 * as the digit string. Every other field, when present, must be a string; null counts as
 * absent; fields we do not know are ignored (Google adds some over time). Duplicate keys are
 * refused, so a second "bucket" cannot override the first.
 *
 * Memory: every string an object points to lives in the arena passed to
 * storage_object_parse(). */
#ifndef RT_STORAGE_OBJECT_H
#define RT_STORAGE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "cloudevent.h"

#define STORAGE_OBJECT_NAME_MAX 1024

typedef struct {
    const char *key, *value;
} storage_object_kv;

typedef struct {
    const char *bucket, *name;               /* never NULL after a successful parse */
    const char *generation, *metageneration; /* digit strings; NULL when absent */
    const char *size;                        /* digit string; NULL when absent */
    const char *content_type, *md5_hash, *crc32c, *time_created, *updated, *storage_class, *etag,
        *id, *self_link, *media_link, *kind; /* NULL when absent */
    const storage_object_kv *metadata;       /* user metadata, in the document's order */
    size_t n_metadata;
} storage_object;

typedef enum {
    STORAGE_OBJECT_OK = 0,
    STORAGE_OBJECT_ERR_JSON,       /* not JSON */
    STORAGE_OBJECT_ERR_NOT_OBJECT, /* JSON, but not an object */
    STORAGE_OBJECT_ERR_MISSING,    /* bucket or name absent or empty */
    STORAGE_OBJECT_ERR_TYPE,       /* a field of the wrong type or form */
    STORAGE_OBJECT_ERR_NOMEM,
} storage_object_status;

/* Parses LEN bytes of DATA. On error, returns the status and writes into ERR a message naming
 * the field ("generation: must be a string of digits"); it echoes no value, and what it quotes
 * of the document (a metadata key, the JSON parser's complaint) it renders by the printable
 * policy (printable.h), so the message is printable text as it is. */
storage_object_status storage_object_parse(const void *data, size_t len, arena *a,
                                           storage_object *out, char *err, size_t errlen);

/* The value of user metadata KEY, or NULL. */
const char *storage_object_metadata(const storage_object *obj, const char *key);

/* "gs://BUCKET/NAME" in A; NULL on OOM. */
char *storage_object_gcs_uri(const storage_object *obj, arena *a);

/* "ok", "invalid_json", "not_an_object", "missing_field", "wrong_type", "out_of_memory". */
const char *storage_object_status_name(storage_object_status s);

/* The event types whose data is a StorageObjectData. */
#define STORAGE_TYPE_PREFIX "google.cloud.storage.object.v1."

/* The StorageObjectData of a storage event carrying JSON data into *OUT, else *OUT NULL (the
 * rules then read the bucket and name from the extension and subject); *UNREAD (may be NULL)
 * when its datacontenttype says it is not JSON. -1 with ERR when the data is malformed. */
int storage_object_of_event(const cloudevent *ev, arena *a, storage_object *obj,
                            const storage_object **out, bool *unread, char *err, size_t errlen);

#endif
