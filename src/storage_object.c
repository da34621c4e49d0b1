/* storage_object — see storage_object.h.
 *
 * jansson parses into its own heap; we copy the fields we keep into the arena and drop the
 * tree before returning, so the caller's arena owns everything and nothing needs freeing. */
#include "storage_object.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cloudevent.h"
#include "errtext.h"
#include "media_type.h"
#include "printable.h"

/* An optional string field; null is absent. */
static storage_object_status get_string(json_t *root, const char *key, arena *a, const char **dst,
                                        char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    *dst = NULL;
    if (!v || json_is_null(v))
        return STORAGE_OBJECT_OK;
    if (!json_is_string(v))
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE, "%s: must be a string", key);
    if (!(*dst = arena_strndup(a, json_string_value(v), json_string_length(v))))
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_NOMEM, "out of memory");
    return STORAGE_OBJECT_OK;
}

/* An optional int64 field: digits in a string, or a non-negative integer. */
static storage_object_status get_int64(json_t *root, const char *key, arena *a, const char **dst,
                                       char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    *dst = NULL;
    if (!v || json_is_null(v))
        return STORAGE_OBJECT_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *dst = arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        /* 19 digits hold every int64; more would not fit Google's own type. */
        if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
            return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE,
                                "%s: must be a string of at most 19 digits", key);
        *dst = arena_strndup(a, s, n);
    } else {
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE,
                            "%s: must be a string of digits or a non-negative integer", key);
    }
    return *dst ? STORAGE_OBJECT_OK
                : errtext_fail(err, errlen, STORAGE_OBJECT_ERR_NOMEM, "out of memory");
}

static storage_object_status get_metadata(json_t *root, arena *a, storage_object *out, char *err,
                                          size_t errlen)
{
    json_t *md = json_object_get(root, "metadata");
    if (!md || json_is_null(md))
        return STORAGE_OBJECT_OK;
    if (!json_is_object(md))
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE,
                            "metadata: must be an object of strings");
    size_t n = json_object_size(md);
    storage_object_kv *kv = arena_alloc(a, (n ? n : 1) * sizeof *kv);
    if (!kv)
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_NOMEM, "out of memory");
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(md, key, v)
    {
        char buf[PRT_ECHO_SIZE];
        if (!json_is_string(v))
            return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE,
                                "metadata.%s: must be a string", prt_str(buf, sizeof buf, key));
        kv[i].key = arena_strdup(a, key);
        kv[i].value = arena_strndup(a, json_string_value(v), json_string_length(v));
        if (!kv[i].key || !kv[i].value)
            return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_NOMEM, "out of memory");
        i++;
    }
    out->metadata = kv;
    out->n_metadata = i;
    return STORAGE_OBJECT_OK;
}

static storage_object_status parse_fields(json_t *root, arena *a, storage_object *out, char *err,
                                          size_t errlen)
{
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"bucket", offsetof(storage_object, bucket)},
        {"name", offsetof(storage_object, name)},
        {"contentType", offsetof(storage_object, content_type)},
        {"md5Hash", offsetof(storage_object, md5_hash)},
        {"crc32c", offsetof(storage_object, crc32c)},
        {"timeCreated", offsetof(storage_object, time_created)},
        {"updated", offsetof(storage_object, updated)},
        {"storageClass", offsetof(storage_object, storage_class)},
        {"etag", offsetof(storage_object, etag)},
        {"id", offsetof(storage_object, id)},
        {"selfLink", offsetof(storage_object, self_link)},
        {"mediaLink", offsetof(storage_object, media_link)},
        {"kind", offsetof(storage_object, kind)},
    };
    static const struct {
        const char *key;
        size_t offset;
    } ints[] = {
        {"generation", offsetof(storage_object, generation)},
        {"metageneration", offsetof(storage_object, metageneration)},
        {"size", offsetof(storage_object, size)},
    };
    storage_object_status st;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if ((st = get_string(root, strings[i].key, a,
                             (const char **)((char *)out + strings[i].offset), err, errlen)))
            return st;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if ((st = get_int64(root, ints[i].key, a, (const char **)((char *)out + ints[i].offset),
                            err, errlen)))
            return st;
    if (!out->bucket || !*out->bucket)
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_MISSING, "bucket: required, non-empty");
    if (!out->name || !*out->name)
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_MISSING, "name: required, non-empty");
    if (strlen(out->name) > STORAGE_OBJECT_NAME_MAX)
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_TYPE, "name: longer than %d bytes",
                            STORAGE_OBJECT_NAME_MAX);
    return get_metadata(root, a, out, err, errlen);
}

storage_object_status storage_object_parse(const void *data, size_t len, arena *a,
                                           storage_object *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!data)
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_JSON, "no data");
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        char why[PRT_ECHO_SIZE]; /* jansson's text may quote the offending bytes */
        return errtext_fail(err, errlen, STORAGE_OBJECT_ERR_JSON,
                            "not JSON: %s at line %d column %d",
                            prt_str(why, sizeof why, jerr.text), jerr.line, jerr.column);
    }
    storage_object_status st;
    if (!json_is_object(root))
        st = errtext_fail(err, errlen, STORAGE_OBJECT_ERR_NOT_OBJECT, "must be a JSON object");
    else
        st = parse_fields(root, a, out, err, errlen);
    json_decref(root);
    if (st != STORAGE_OBJECT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

int storage_object_of_event(const cloudevent *ev, arena *a, storage_object *obj,
                            const storage_object **out, bool *unread, char *err, size_t errlen)
{
    bool ignored = false;
    unread = unread ? unread : &ignored;
    *out = NULL;
    *unread = false;
    if (strncmp(ev->type, STORAGE_TYPE_PREFIX, strlen(STORAGE_TYPE_PREFIX)) != 0 || !ev->data ||
        ev->data_len == 0)
        return 0;
    if (ev->datacontenttype && !media_type_str_is_json(ev->datacontenttype)) {
        *unread = true;
        return 0;
    }
    char why[200];
    storage_object_status s = storage_object_parse(ev->data, ev->data_len, a, obj, why, sizeof why);
    if (s != STORAGE_OBJECT_OK) {
        snprintf(err, errlen, "data: not a StorageObjectData (%s): %s",
                 storage_object_status_name(s), why);
        return -1;
    }
    *out = obj;
    return 0;
}

const char *storage_object_metadata(const storage_object *obj, const char *key)
{
    for (size_t i = 0; i < obj->n_metadata; i++)
        if (strcmp(obj->metadata[i].key, key) == 0)
            return obj->metadata[i].value;
    return NULL;
}

char *storage_object_gcs_uri(const storage_object *obj, arena *a)
{
    return arena_printf(a, "gs://%s/%s", obj->bucket, obj->name);
}

const char *storage_object_status_name(storage_object_status s)
{
    switch (s) {
    case STORAGE_OBJECT_OK:
        return "ok";
    case STORAGE_OBJECT_ERR_JSON:
        return "invalid_json";
    case STORAGE_OBJECT_ERR_NOT_OBJECT:
        return "not_an_object";
    case STORAGE_OBJECT_ERR_MISSING:
        return "missing_field";
    case STORAGE_OBJECT_ERR_TYPE:
        return "wrong_type";
    case STORAGE_OBJECT_ERR_NOMEM:
        return "out_of_memory";
    }
    return "unknown";
}
