/* storage — Cloud Storage JSON API v1 for the emulator: the objects subset the service needs.
 *
 *   POST   /upload/storage/v1/b/{bucket}/o?uploadType=media&name={object}   objects.insert
 *   GET    /storage/v1/b/{bucket}/o/{object}[?alt=media][&generation=G]      objects.get
 *   GET    /download/storage/v1/b/{bucket}/o/{object}                        (mediaLink: bytes)
 *   GET    /storage/v1/b/{bucket}/o?prefix=&delimiter=&maxResults=&pageToken= objects.list
 *   DELETE /storage/v1/b/{bucket}/o/{object}                                 objects.delete
 *
 * Every path under /storage/v1/, /upload/storage/v1/ and /download/storage/v1/ needs a bearer
 * token the emulator issued (emu_gauth.c), as Vertex's do; else 401. Errors are the JSON API's
 * own shape (emu_respond_gcs_error: "errors":[{"domain","reason",...}], no google.rpc status).
 *
 * Buckets are implicit: any well-formed name (3-222 of [a-z0-9._-], starting and ending with a
 * letter or digit) holds the objects uploaded to it. An object is kept whole in memory with its
 * live generation only (no versioning): an upload replaces it with a new generation
 * (microseconds since the epoch, strictly increasing), metageneration 1. Preconditions
 * ifGenerationMatch, ifGenerationNotMatch, ifMetagenerationMatch, ifMetagenerationNotMatch as
 * Google applies them (0 = "no live object" for ifGenerationMatch); a failed one is 412
 * conditionNotMet (304 for a *NotMatch on a read). Bounded: storage_max_objects (default and at
 * most 100000) and storage_max_bytes (default 1 GiB) of live objects; an upload past either is
 * 429. A body is at most EMU_STORAGE_OBJECT_MAX (main.c answers 413 uploadTooLarge past it).
 *
 * Objects sit in one array sorted by (bucket, name), bytewise as Google lists them, behind one
 * mutex; digests are computed outside it. */
#include "emu.h"
#include "routes.h"
#include "sender.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST_MAX_OBJECTS 100000
#define ST_MAX_BYTES_DEFAULT (1024LL * 1024 * 1024)
#define ST_PAGE_MAX 1000
#define ST_NAME_MAX 1024
#define ST_BUCKET_MAX 222
#define ST_TYPE_MAX 1024

typedef struct {
    char *bucket, *name, *content_type;
    unsigned char *data; /* NULL when empty */
    size_t size;
    int64_t generation; /* microseconds since the epoch at the upload */
    unsigned char md5[SND_MD5_LEN];
    uint32_t crc32c;
} st_object;

static pthread_mutex_t st_mu = PTHREAD_MUTEX_INITIALIZER;
static st_object **objs; /* sorted by (bucket, name) */
static size_t n_objs, cap_objs;
static long long bytes_kept;
static int64_t last_generation; /* never reset: generations stay unique for the process */
static long max_objects = ST_MAX_OBJECTS;
static long long max_bytes = ST_MAX_BYTES_DEFAULT;
static long n_inserted, n_deleted, n_downloads, n_precondition_failed, n_refused_full;

/* ---- names -------------------------------------------------------------------------------- */

static bool bucket_ok(const char *b, size_t n)
{
    if (n < 3 || n > ST_BUCKET_MAX || !isalnum((unsigned char)b[0]) ||
        !isalnum((unsigned char)b[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
              b[i] == '_' || b[i] == '-'))
            return false;
    return true;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80             ? 0 /* continuation bytes that follow */
                   : (c & 0xE0) == 0xC0 ? 1
                   : (c & 0xF0) == 0xE0 ? 2
                   : (c & 0xF8) == 0xF0 ? 3
                                        : 4;
        if (k == 4 || n - i <= k)
            return false;
        uint32_t cp = k == 0 ? c : k == 1 ? c & 0x1F : k == 2 ? c & 0x0F : c & 0x07;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

/* Google's object name rules: 1-1024 bytes of UTF-8, no CR or LF, not "." or "..". */
static bool object_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= ST_NAME_MAX && !strpbrk(name, "\r\n") && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0 && utf8_ok((const unsigned char *)name, n);
}

/* ---- the store (st_mu held) --------------------------------------------------------------- */

static int key_cmp(const st_object *o, const char *bucket, const char *name)
{
    int c = strcmp(o->bucket, bucket);
    return c ? c : strcmp(o->name, name);
}

/* The first index whose key is >= (BUCKET, NAME). */
static size_t lower_bound(const char *bucket, const char *name)
{
    size_t lo = 0, hi = n_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(objs[mid], bucket, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static st_object *find(const char *bucket, const char *name, size_t *at)
{
    size_t i = lower_bound(bucket, name);
    if (at)
        *at = i;
    return i < n_objs && key_cmp(objs[i], bucket, name) == 0 ? objs[i] : NULL;
}

static void object_free(st_object *o)
{
    if (!o)
        return;
    free(o->bucket);
    free(o->name);
    free(o->content_type);
    free(o->data);
    free(o);
}

static void store_clear(void)
{
    for (size_t i = 0; i < n_objs; i++)
        object_free(objs[i]);
    free(objs);
    objs = NULL;
    n_objs = cap_objs = 0;
    bytes_kept = 0;
}

/* A generation later than every one before, near the wall clock in microseconds. */
static int64_t next_generation(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t g = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (g <= last_generation)
        g = last_generation + 1;
    return last_generation = g;
}

/* The Object resource (Google's shape, int64 as strings, links to this emulator). */
static json_t *object_json(const st_object *o)
{
    snd_object so = {.bucket = o->bucket,
                     .name = o->name,
                     .generation = o->generation,
                     .metageneration = 1,
                     .size = (int64_t)o->size,
                     .updated_ms = o->generation / 1000,
                     .crc32c = o->crc32c};
    memcpy(so.md5, o->md5, sizeof so.md5);
    json_t *res = snd_object_data(&so);
    char *enc = emu_url_encode(o->name);
    if (!res || !enc) {
        json_decref(res);
        free(enc);
        return NULL;
    }
    int bad = json_object_set_new(
        res, "selfLink", json_sprintf("%s/storage/v1/b/%s/o/%s", emu_base_url(), o->bucket, enc));
    bad |= json_object_set_new(res, "mediaLink",
                               json_sprintf("%s/download/storage/v1/b/%s/o/%s?generation=%" PRId64
                                            "&alt=media",
                                            emu_base_url(), o->bucket, enc, o->generation));
    bad |= json_object_set_new(res, "contentType", json_string(o->content_type));
    free(enc);
    if (bad) {
        json_decref(res);
        return NULL;
    }
    return res;
}

/* ---- requests ----------------------------------------------------------------------------- */

typedef struct {
    const char *route; /* routes.h: storage.objects.* */
    int kind;          /* 1 /upload/storage/v1/, 2 /storage/v1/, 3 /download/storage/v1/ */
    char bucket[ST_BUCKET_MAX + 1];
    const char *object; /* after "/o/"; NULL for the collection */
} st_target;

static const char *const prefixes[] = {"/upload/storage/v1/", "/storage/v1/",
                                       "/download/storage/v1/"};

static int path_kind(const char *path)
{
    for (int i = 0; i < 3; i++)
        if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
            return i + 1;
    return 0;
}

static void answer_unauthenticated(const emu_request *req, emu_response *resp, const char *route)
{
    resp->route = "storage.unauthenticated";
    emu_add_header(resp, "WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
    const char *auth = req->header(req, "Authorization");
    if (auth && *auth) {
        emu_respond_gcs_error(resp, 401, NULL, "authError", "header", "Authorization",
                              "Invalid Credentials");
        return;
    }
    const char *perm = route;
    if (route && strcmp(route, "storage.objects.insert") == 0)
        perm = "storage.objects.create"; /* the permission an upload needs */
    if (!perm) {
        emu_respond_gcs_error(resp, 401, NULL, "required", "header", "Authorization",
                              "Login Required.");
        return;
    }
    emu_respond_gcs_error(resp, 401, NULL, "required", "header", "Authorization",
                          "Anonymous caller does not have %s access to the Google Cloud Storage "
                          "%s. Permission '%s' denied on resource (or it may not exist).",
                          perm, strcmp(route, "storage.objects.list") == 0 ? "bucket" : "object",
                          perm);
}

static void answer_not_found(emu_response *resp, const char *bucket, const char *name)
{
    emu_respond_gcs_error(resp, 404, NULL, "notFound", NULL, NULL, "No such object: %s/%.1024s",
                          bucket, name);
}

static void answer_bad_param(emu_response *resp, const char *param, const char *value)
{
    emu_respond_gcs_error(resp, 400, NULL, "invalidParameter", "parameter", param,
                          "Invalid value for %s: '%.200s'", param, value);
}

/* Splits the path into bucket and object (ROUTE already told it is one of ours). */
static bool target_parse(const emu_request *req, emu_response *resp, st_target *t)
{
    const char *b = req->path + strlen(prefixes[t->kind - 1]) + 2; /* past "b/" */
    size_t blen = strcspn(b, "/");
    if (!bucket_ok(b, blen)) {
        emu_respond_gcs_error(resp, 400, NULL, "invalid", NULL, NULL, "Invalid bucket name: '%.*s'",
                              (int)(blen > 300 ? 300 : blen), b);
        return false;
    }
    memcpy(t->bucket, b, blen);
    t->bucket[blen] = '\0';
    t->object = b[blen + 2] == '/' ? b + blen + 3 : NULL;
    if (t->object && !object_name_ok(t->object)) {
        emu_respond_gcs_error(resp, 400, NULL, "invalid", NULL, NULL,
                              "The specified object name is not valid: object names are 1-1024 "
                              "bytes of UTF-8 without carriage returns or line feeds.");
        return false;
    }
    return true;
}

/* A non-negative int64 in decimal. */
static bool int64_parse(const char *s, int64_t *out)
{
    if (!s || !*s || !isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return false;
    *out = v;
    return true;
}

enum { C_GEN, C_GEN_NOT, C_META, C_META_NOT, C_N };
static const char *const cond_names[C_N] = {"ifGenerationMatch", "ifGenerationNotMatch",
                                            "ifMetagenerationMatch", "ifMetagenerationNotMatch"};

typedef struct {
    bool has[C_N];
    int64_t v[C_N];
} st_conds;

static bool conds_parse(const emu_request *req, emu_response *resp, st_conds *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < C_N; i++) {
        const char *s = req->query(req, cond_names[i]);
        if (!s)
            continue;
        if (!int64_parse(s, &c->v[i])) {
            answer_bad_param(resp, cond_names[i], s);
            return false;
        }
        c->has[i] = true;
    }
    return true;
}

/* The query of a read or delete of one object: its generation (-1: the live one) and its
 * preconditions; false when either is malformed (RESP answered). */
static bool object_params(const emu_request *req, emu_response *resp, int64_t *gen, st_conds *c)
{
    const char *gen_s = req->query(req, "generation");
    *gen = -1;
    if (gen_s && !int64_parse(gen_s, gen)) {
        answer_bad_param(resp, "generation", gen_s);
        return false;
    }
    return conds_parse(req, resp, c);
}

/* 0 when C holds for O (NULL: no live object), else the status: 412, or 304 for a read whose
 * *NotMatch failed. Counts and answers a failure. */
static int conds_check(const st_conds *c, const st_object *o, bool read, emu_response *resp)
{
    int status = 0;
    if (c->has[C_GEN] && !(c->v[C_GEN] == 0 ? !o : o && o->generation == c->v[C_GEN]))
        status = 412;
    else if (c->has[C_META] && !(o && c->v[C_META] == 1))
        status = 412;
    else if (c->has[C_GEN_NOT] &&
             !(o && (c->v[C_GEN_NOT] == 0 || o->generation != c->v[C_GEN_NOT])))
        status = read && o ? 304 : 412;
    else if (c->has[C_META_NOT] && !(o && c->v[C_META_NOT] != 1))
        status = read && o ? 304 : 412;
    if (status == 412) {
        n_precondition_failed++;
        emu_respond_gcs_error(resp, 412, NULL, "conditionNotMet", "header", "If-Match",
                              "At least one of the pre-conditions you specified did not hold.");
    } else if (status == 304) {
        n_precondition_failed++;
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
        resp->status = 304;
    }
    return status;
}

/* POST /upload/storage/v1/b/B/o?uploadType=media&name=N */
/* A new object of LEN bytes of DATA (copied), its digests computed; NULL on OOM. */
static st_object *object_new(const char *bucket, const char *name, const char *ct, const void *data,
                             size_t len)
{
    st_object *o = calloc(1, sizeof *o);
    if (o) {
        o->bucket = strdup(bucket);
        o->name = strdup(name);
        o->content_type = strdup(ct);
        o->size = len;
        o->data = o->size ? malloc(o->size) : NULL;
    }
    unsigned int mdlen = 0;
    if (!o || !o->bucket || !o->name || !o->content_type || (o->size && !o->data) ||
        EVP_Digest(data, len, o->md5, &mdlen, EVP_md5(), NULL) != 1) {
        object_free(o);
        return NULL;
    }
    if (o->size)
        memcpy(o->data, data, o->size);
    o->crc32c = snd_crc32c(0, data, len);
    return o;
}

/* Stores O (taken) under C, with st_mu held: its Object resource, or NULL after answering
 * RESP (may be NULL: nobody to answer) with why not (O is then freed). */
static json_t *store_locked(st_object *o, const st_conds *c, emu_response *resp)
{
    size_t at;
    st_object *old = find(o->bucket, o->name, &at);
    if (resp && conds_check(c, old, false, resp)) {
        object_free(o);
        return NULL;
    }
    long long bytes = bytes_kept - (old ? (long long)old->size : 0) + (long long)o->size;
    if ((!old && (long)n_objs >= max_objects) || bytes > max_bytes) {
        n_refused_full++;
        object_free(o);
        if (resp)
            emu_respond_gcs_error(
                resp, 429, "usageLimits", "rateLimitExceeded", NULL, NULL,
                "The emulator's object store is full (storage_max_objects %ld, "
                "storage_max_bytes %lld): delete objects or POST /emulator/reset.",
                max_objects, max_bytes);
        return NULL;
    }
    if (!old && n_objs == cap_objs) {
        size_t cap = cap_objs ? cap_objs * 2 : 256;
        st_object **grown = realloc(objs, cap * sizeof *grown);
        if (!grown) {
            object_free(o);
            if (resp)
                emu_respond_gcs_error(resp, 500, NULL, "backendError", NULL, NULL, "out of memory");
            return NULL;
        }
        objs = grown;
        cap_objs = cap;
    }
    o->generation = next_generation();
    if (old) {
        objs[at] = o;
        object_free(old);
    } else {
        memmove(objs + at + 1, objs + at, (n_objs - at) * sizeof *objs);
        objs[at] = o;
        n_objs++;
    }
    bytes_kept = bytes;
    n_inserted++;
    return object_json(o);
}

static void objects_insert(const emu_request *req, emu_response *resp, const st_target *t)
{
    static const char wrong_url[] = "Upload requests must include an uploadType URL parameter and "
                                    "a URL path beginning with /upload/";
    const char *type = req->query(req, "uploadType");
    if (t->kind != 1 || !type || !*type) {
        emu_respond_gcs_error(resp, 400, NULL, "wrongUrlForUpload", NULL, NULL, wrong_url);
        return;
    }
    if (strcmp(type, "media") != 0) {
        emu_respond_gcs_error(resp, 400, NULL, "invalidParameter", "parameter", "uploadType",
                              "Invalid value for uploadType: '%.100s'. The emulator supports "
                              "uploadType=media only (Google also takes multipart and resumable).",
                              type);
        return;
    }
    const char *name = req->query(req, "name");
    if (!name || !*name) {
        emu_respond_gcs_error(resp, 400, NULL, "required", "parameter", "name",
                              "Required parameter: name (the object name, for uploadType=media).");
        return;
    }
    if (!object_name_ok(name)) {
        emu_respond_gcs_error(resp, 400, NULL, "invalid", "parameter", "name",
                              "The specified object name is not valid: object names are 1-1024 "
                              "bytes of UTF-8 without carriage returns or line feeds.");
        return;
    }
    st_conds c;
    if (!conds_parse(req, resp, &c))
        return;
    const char *ct = req->header(req, "Content-Type");
    if (!ct || !*ct)
        ct = "application/octet-stream";
    if (strlen(ct) > ST_TYPE_MAX) {
        emu_respond_gcs_error(resp, 400, NULL, "invalid", "header", "Content-Type",
                              "Invalid Content-Type: longer than %d bytes.", ST_TYPE_MAX);
        return;
    }

    st_object *o = object_new(t->bucket, name, ct, req->body, req->body_len);
    if (!o) {
        emu_respond_gcs_error(resp, 500, NULL, "backendError", NULL, NULL, "out of memory");
        return;
    }
    pthread_mutex_lock(&st_mu);
    json_t *res = store_locked(o, &c, resp);
    pthread_mutex_unlock(&st_mu);
    if (res)
        emu_respond_value(resp, 200, res);
}

int emu_storage_put(const char *bucket, const char *name, const char *content_type,
                    const void *data, size_t len)
{
    if (!bucket_ok(bucket, strlen(bucket)) || !object_name_ok(name))
        return -1;
    st_object *o = object_new(bucket, name, content_type, data, len);
    if (!o)
        return -1;
    st_conds none = {0};
    pthread_mutex_lock(&st_mu);
    json_t *res = store_locked(o, &none, NULL);
    pthread_mutex_unlock(&st_mu);
    json_decref(res);
    return res ? 0 : -1;
}

/* GET /storage/v1/b/B/o/N[?alt=media], GET /download/storage/v1/b/B/o/N */
static void objects_get(const emu_request *req, emu_response *resp, const st_target *t)
{
    const char *alt = req->query(req, "alt");
    if (alt && strcmp(alt, "json") != 0 && strcmp(alt, "media") != 0) {
        answer_bad_param(resp, "alt", alt);
        return;
    }
    bool media = t->kind == 3 || (alt && strcmp(alt, "media") == 0);
    int64_t gen;
    st_conds c;
    if (!object_params(req, resp, &gen, &c))
        return;
    pthread_mutex_lock(&st_mu);
    st_object *o = find(t->bucket, t->object, NULL);
    if (!o || (gen >= 0 && o->generation != gen)) {
        pthread_mutex_unlock(&st_mu);
        answer_not_found(resp, t->bucket, t->object);
        return;
    }
    if (conds_check(&c, o, true, resp)) {
        pthread_mutex_unlock(&st_mu);
        return;
    }
    if (!media) {
        json_t *res = object_json(o);
        pthread_mutex_unlock(&st_mu);
        emu_respond_value(resp, 200, res);
        return;
    }
    char *data = o->size ? malloc(o->size) : NULL;
    char *type = strdup(o->content_type);
    if ((o->size && !data) || !type) {
        pthread_mutex_unlock(&st_mu);
        free(data);
        free(type);
        emu_respond_gcs_error(resp, 500, NULL, "backendError", NULL, NULL, "out of memory");
        return;
    }
    if (o->size)
        memcpy(data, o->data, o->size);
    size_t size = o->size;
    char gen_text[24], hash[80], md5[32], crc[16], size_text[24];
    unsigned char be[4] = {(unsigned char)(o->crc32c >> 24), (unsigned char)(o->crc32c >> 16),
                           (unsigned char)(o->crc32c >> 8), (unsigned char)o->crc32c};
    sodium_bin2base64(md5, sizeof md5, o->md5, sizeof o->md5, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(crc, sizeof crc, be, sizeof be, sodium_base64_VARIANT_ORIGINAL);
    snprintf(gen_text, sizeof gen_text, "%" PRId64, o->generation);
    snprintf(hash, sizeof hash, "crc32c=%s,md5=%s", crc, md5);
    snprintf(size_text, sizeof size_text, "%zu", size);
    n_downloads++;
    pthread_mutex_unlock(&st_mu);
    free(resp->body);
    resp->status = 200;
    resp->body = data;
    resp->body_len = size;
    resp->content_type_owned = type;
    emu_add_header(resp, "X-Goog-Generation", gen_text);
    emu_add_header(resp, "X-Goog-Metageneration", "1");
    emu_add_header(resp, "X-Goog-Hash", hash);
    emu_add_header(resp, "X-Goog-Stored-Content-Length", size_text);
}

/* The page token: base64url of 'o' + the last object name or 'p' + the last prefix given. */
static char *token_make(char kind, const char *key, size_t len)
{
    char *raw = malloc(len + 1);
    if (!raw)
        return NULL;
    raw[0] = kind;
    memcpy(raw + 1, key, len);
    char *tok = emu_b64url((const unsigned char *)raw, len + 1);
    free(raw);
    return tok;
}

/* Decodes TOKEN into a NUL-terminated key (malloc'd) and its kind; NULL when it is not ours. */
static char *token_read(const char *token, char *kind)
{
    size_t n = 0;
    unsigned char *raw = emu_b64url_decode(token, strlen(token), &n);
    if (!raw || n < 2 || (raw[0] != 'o' && raw[0] != 'p') || memchr(raw, '\0', n)) {
        free(raw);
        return NULL;
    }
    char *key = malloc(n);
    if (key) {
        memcpy(key, raw + 1, n - 1);
        key[n - 1] = '\0';
        *kind = (char)raw[0];
    }
    free(raw);
    return key;
}

static bool in_listing(size_t i, const char *bucket, const char *prefix, size_t plen)
{
    return i < n_objs && strcmp(objs[i]->bucket, bucket) == 0 &&
           strncmp(objs[i]->name, prefix, plen) == 0;
}

/* GET /storage/v1/b/B/o?prefix=P&delimiter=D&maxResults=N&pageToken=T */
static void objects_list(const emu_request *req, emu_response *resp, const st_target *t)
{
    const char *prefix = req->query(req, "prefix");
    const char *delim = req->query(req, "delimiter");
    const char *max_s = req->query(req, "maxResults");
    const char *token = req->query(req, "pageToken");
    prefix = prefix ? prefix : "";
    delim = delim && *delim ? delim : NULL;
    int64_t max = ST_PAGE_MAX;
    if (max_s && *max_s && !int64_parse(max_s, &max)) {
        answer_bad_param(resp, "maxResults", max_s);
        return;
    }
    if (max == 0 || max > ST_PAGE_MAX)
        max = ST_PAGE_MAX;
    char tkind = 0, *tkey = NULL;
    if (token && *token && !(tkey = token_read(token, &tkind))) {
        answer_bad_param(resp, "pageToken", token);
        return;
    }
    size_t plen = strlen(prefix), dlen = delim ? strlen(delim) : 0;
    json_t *items = json_array(), *prefs = json_array();
    char *next = NULL;
    pthread_mutex_lock(&st_mu);
    size_t i = lower_bound(t->bucket, prefix);
    if (tkey) {
        size_t j = lower_bound(t->bucket, tkey);
        size_t klen = strlen(tkey);
        if (tkind == 'o' && j < n_objs && key_cmp(objs[j], t->bucket, tkey) == 0)
            j++;
        else if (tkind == 'p')
            while (in_listing(j, t->bucket, tkey, klen))
                j++;
        if (j > i)
            i = j;
    }
    int64_t count = 0;
    char lkind = 0;
    const char *lkey = NULL;
    size_t lkeylen = 0;
    bool ok = items && prefs, more = false;
    while (ok && in_listing(i, t->bucket, prefix, plen)) {
        if (count == max) {
            more = true;
            break;
        }
        const char *name = objs[i]->name;
        const char *d = delim ? strstr(name + plen, delim) : NULL;
        if (d) {
            size_t len = (size_t)(d - name) + dlen;
            ok = json_array_append_new(prefs, json_stringn(name, len)) == 0;
            while (in_listing(i, t->bucket, name, len))
                i++;
            lkind = 'p', lkey = name, lkeylen = len;
        } else {
            ok = json_array_append_new(items, object_json(objs[i])) == 0;
            lkind = 'o', lkey = name, lkeylen = strlen(name);
            i++;
        }
        count++;
    }
    if (ok && more && !(next = token_make(lkind, lkey, lkeylen)))
        ok = false;
    pthread_mutex_unlock(&st_mu);
    free(tkey);
    json_t *out = ok ? json_pack("{s:s}", "kind", "storage#objects") : NULL;
    if (out && next)
        json_object_set_new(out, "nextPageToken", json_string(next));
    if (out && json_array_size(prefs))
        json_object_set(out, "prefixes", prefs);
    if (out && json_array_size(items))
        json_object_set(out, "items", items);
    free(next);
    json_decref(items);
    json_decref(prefs);
    if (!out) {
        emu_respond_gcs_error(resp, 500, NULL, "backendError", NULL, NULL, "out of memory");
        return;
    }
    emu_respond_value(resp, 200, out);
}

/* DELETE /storage/v1/b/B/o/N */
static void objects_delete(const emu_request *req, emu_response *resp, const st_target *t)
{
    int64_t gen;
    st_conds c;
    if (!object_params(req, resp, &gen, &c))
        return;
    pthread_mutex_lock(&st_mu);
    size_t at;
    st_object *o = find(t->bucket, t->object, &at);
    if (!o || (gen >= 0 && o->generation != gen)) {
        pthread_mutex_unlock(&st_mu);
        answer_not_found(resp, t->bucket, t->object);
        return;
    }
    if (conds_check(&c, o, false, resp)) {
        pthread_mutex_unlock(&st_mu);
        return;
    }
    memmove(objs + at, objs + at + 1, (n_objs - at - 1) * sizeof *objs);
    n_objs--;
    bytes_kept -= (long long)o->size;
    n_deleted++;
    pthread_mutex_unlock(&st_mu);
    object_free(o);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = 204;
}

static bool storage_handle(const emu_request *req, emu_response *resp)
{
    st_target t = {.kind = path_kind(req->path)};
    if (!t.kind)
        return false;
    t.route = emu_route_of(req->method, req->path);
    if (!emu_gauth_bearer_ok(req)) {
        answer_unauthenticated(req, resp, t.route);
        return true;
    }
    if (!t.route) {
        resp->route = "not_found";
        emu_respond_gcs_error(resp, 404, NULL, "notFound", NULL, NULL, "Not Found");
        return true;
    }
    resp->route = t.route;
    if (!target_parse(req, resp, &t))
        return true;
    if (strcmp(t.route, "storage.objects.insert") == 0)
        objects_insert(req, resp, &t);
    else if (strcmp(t.route, "storage.objects.get") == 0)
        objects_get(req, resp, &t);
    else if (strcmp(t.route, "storage.objects.list") == 0)
        objects_list(req, resp, &t);
    else
        objects_delete(req, resp, &t);
    return true;
}

/* ---- service hooks ------------------------------------------------------------------------ */

static int storage_init(const emu_options *opt)
{
    (void)opt;
    snd_crc32c(0, "", 0); /* builds the CRC table before any thread can race to it */
    return 0;
}

static void storage_reset(void)
{
    pthread_mutex_lock(&st_mu);
    store_clear();
    max_objects = ST_MAX_OBJECTS;
    max_bytes = ST_MAX_BYTES_DEFAULT;
    n_inserted = n_deleted = n_downloads = n_precondition_failed = n_refused_full = 0;
    pthread_mutex_unlock(&st_mu);
}

static void storage_configure(const json_t *cfg)
{
    const json_t *objects = json_object_get(cfg, "storage_max_objects");
    const json_t *bytes = json_object_get(cfg, "storage_max_bytes");
    pthread_mutex_lock(&st_mu);
    if (objects) /* main.c checked: a non-negative integer */
        max_objects = json_integer_value(objects) > ST_MAX_OBJECTS
                          ? ST_MAX_OBJECTS
                          : (long)json_integer_value(objects);
    if (bytes)
        max_bytes = (long long)json_integer_value(bytes);
    pthread_mutex_unlock(&st_mu);
}

static void storage_stats(json_t *out)
{
    pthread_mutex_lock(&st_mu);
    json_t *s =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "objects", (json_int_t)n_objs, "bytes",
                  (json_int_t)bytes_kept, "inserted", (json_int_t)n_inserted, "deleted",
                  (json_int_t)n_deleted, "downloads", (json_int_t)n_downloads, "preconditionFailed",
                  (json_int_t)n_precondition_failed, "refusedFull", (json_int_t)n_refused_full);
    pthread_mutex_unlock(&st_mu);
    json_object_set_new(out, "storage", s);
}

static void storage_shutdown(void)
{
    storage_reset();
}

static const char *const storage_config_keys[] = {"storage_max_objects", "storage_max_bytes", NULL};

const emu_service emu_storage_service = {
    .name = "storage",
    .init = storage_init,
    .handle = storage_handle,
    .reset = storage_reset,
    .configure = storage_configure,
    .config_keys = storage_config_keys,
    .stats = storage_stats,
    .shutdown = storage_shutdown,
};
