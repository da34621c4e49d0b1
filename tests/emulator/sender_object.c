/* sender_object — the pure half of `gcp-emulator send` (see sender.h): what Cloud Storage says
 * about one object generation, in the shapes Eventarc delivers.
 *
 * The body follows the StorageObjectData message Google publishes for storage events
 * (google.events.cloud.storage.v1): int64 fields are JSON strings, md5Hash and crc32c are base64
 * of the digest bytes (crc32c big-endian), and the etag is base64 of the protobuf pair
 * (generation, metageneration) as Cloud Storage's JSON API shows it. */
#include "sender.h"

#include "emu.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *snd_status_name(snd_status s)
{
    switch (s) {
    case SND_OK:
        return "ok";
    case SND_ERR_IO:
        return "io";
    case SND_ERR_NAME:
        return "bad_name";
    case SND_ERR_NOMEM:
        return "out_of_memory";
    case SND_ERR_HTTP:
        return "transport";
    case SND_ERR_REFUSED:
        return "refused";
    }
    return "unknown";
}

/* ---- CRC-32C ------------------------------------------------------------------------------ */

/* The byte-at-a-time table for the reflected Castagnoli polynomial, built once. Slicing-by-8
 * would be faster; files dropped by hand do not need it. */
static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t snd_crc32c(uint32_t crc, const void *data, size_t len)
{
    if (crc_table[1] == 0)
        crc_table_init(); /* idempotent: concurrent first calls write the same values */
    const unsigned char *p = data;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- content type ------------------------------------------------------------------------- */

/* What gcloud storage / gsutil (Python's mimetypes) store for the files a training pipeline
 * sees; Cloud Storage itself defaults to application/octet-stream. */
static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {"csv", "text/csv"},
    {"tsv", "text/tab-separated-values"},
    {"txt", "text/plain"},
    {"json", "application/json"},
    {"jsonl", "application/jsonl"},
    {"ndjson", "application/x-ndjson"},
    {"xml", "application/xml"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"html", "text/html"},
    {"gz", "application/gzip"},
    {"zip", "application/zip"},
    {"tar", "application/x-tar"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"parquet", "application/vnd.apache.parquet"},
    {"avro", "application/avro"},
    {"pdf", "application/pdf"},
};

const char *snd_content_type(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base && dot[1])
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

/* ---- names, digests, attributes ----------------------------------------------------------- */

snd_status snd_check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 1024)
        return SND_ERR_NAME;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
            return SND_ERR_NAME;
    json_t *utf8 = json_string(name); /* Cloud Storage names are UTF-8, as JSON strings are */
    if (!utf8)
        return SND_ERR_NAME;
    json_decref(utf8);
    return SND_OK;
}

snd_status snd_digest_file(const char *path, snd_object *o)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SND_ERR_IO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    snd_status rc = md && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 ? SND_OK : SND_ERR_NOMEM;
    unsigned char buf[65536];
    uint32_t crc = 0;
    int64_t size = 0;
    size_t got;
    while (rc == SND_OK && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = snd_crc32c(crc, buf, got);
        size += (int64_t)got;
        if (EVP_DigestUpdate(md, buf, got) != 1)
            rc = SND_ERR_NOMEM;
    }
    if (rc == SND_OK && ferror(f))
        rc = SND_ERR_IO;
    unsigned int mdlen = 0;
    if (rc == SND_OK && (EVP_DigestFinal_ex(md, o->md5, &mdlen) != 1 || mdlen != SND_MD5_LEN))
        rc = SND_ERR_NOMEM;
    if (rc == SND_OK) {
        o->crc32c = crc;
        o->size = size;
    }
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

snd_status snd_event_attrs(const snd_object *o, snd_attrs *a)
{
    if (snd_check_name(o->name) != SND_OK || snd_check_name(o->bucket) != SND_OK)
        return SND_ERR_NAME;
    /* Unique per generation and stable across restarts, so a re-sent generation is the same
     * event to the ledger, as an Eventarc redelivery is. */
    char key[1200];
    int n = snprintf(key, sizeof key, "%s/%s#%" PRId64, o->bucket, o->name, o->generation);
    if (n < 0 || (size_t)n >= sizeof key)
        return SND_ERR_NAME;
    unsigned char h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof h, (const unsigned char *)key, (size_t)n, NULL, 0);
    uint64_t id = 0;
    for (int i = 0; i < 7; i++) /* 56 bits: at most 17 digits, like Pub/Sub's message ids */
        id = id << 8 | h[i];
    snprintf(a->id, sizeof a->id, "%" PRIu64, id);
    n = snprintf(a->source, sizeof a->source, "//storage.googleapis.com/projects/_/buckets/%s",
                 o->bucket);
    if (n < 0 || (size_t)n >= sizeof a->source)
        return SND_ERR_NAME;
    n = snprintf(a->subject, sizeof a->subject, "objects/%s", o->name);
    if (n < 0 || (size_t)n >= sizeof a->subject)
        return SND_ERR_NAME;
    emu_rfc3339(o->updated_ms, a->time, sizeof a->time);
    return SND_OK;
}

/* ---- the body ----------------------------------------------------------------------------- */

static void b64(const unsigned char *bin, size_t len, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, bin, len, sodium_base64_VARIANT_ORIGINAL);
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v & 0x7F;
        v >>= 7;
        p[n++] = v ? b | 0x80 : b;
    } while (v);
    return n;
}

json_t *snd_object_data(const snd_object *o)
{
    char *enc = emu_url_encode(o->name);
    if (!enc)
        return NULL;
    char gen[24], meta[24], size[24], when[32], md5[32], crc[16], etag[40];
    snprintf(gen, sizeof gen, "%" PRId64, o->generation);
    snprintf(meta, sizeof meta, "%" PRId64, o->metageneration);
    snprintf(size, sizeof size, "%" PRId64, o->size);
    emu_rfc3339(o->updated_ms, when, sizeof when);
    b64(o->md5, SND_MD5_LEN, md5, sizeof md5);
    unsigned char be[4] = {(unsigned char)(o->crc32c >> 24), (unsigned char)(o->crc32c >> 16),
                           (unsigned char)(o->crc32c >> 8), (unsigned char)o->crc32c};
    b64(be, sizeof be, crc, sizeof crc);
    unsigned char pb[24];
    size_t pblen = 0;
    pb[pblen++] = 0x08; /* field 1, varint: generation */
    pblen += put_varint(pb + pblen, (uint64_t)o->generation);
    pb[pblen++] = 0x10; /* field 2, varint: metageneration */
    pblen += put_varint(pb + pblen, (uint64_t)o->metageneration);
    b64(pb, pblen, etag, sizeof etag);

    json_t *data = json_object();
    json_t *self = json_sprintf("https://www.googleapis.com/storage/v1/b/%s/o/%s", o->bucket, enc);
    json_t *media = json_sprintf(
        "https://storage.googleapis.com/download/storage/v1/b/%s/o/%s?generation=%s&alt=media",
        o->bucket, enc, gen);
    json_t *id = json_sprintf("%s/%s/%s", o->bucket, o->name, gen);
    free(enc);
    int bad = !data || !self || !media || !id;
    bad |= json_object_set_new(data, "kind", json_string("storage#object"));
    bad |= json_object_set_new(data, "id", id);
    bad |= json_object_set_new(data, "selfLink", self);
    bad |= json_object_set_new(data, "mediaLink", media);
    bad |= json_object_set_new(data, "name", json_string(o->name));
    bad |= json_object_set_new(data, "bucket", json_string(o->bucket));
    bad |= json_object_set_new(data, "generation", json_string(gen));
    bad |= json_object_set_new(data, "metageneration", json_string(meta));
    bad |= json_object_set_new(data, "contentType", json_string(snd_content_type(o->name)));
    bad |= json_object_set_new(data, "storageClass", json_string("STANDARD"));
    bad |= json_object_set_new(data, "size", json_string(size));
    bad |= json_object_set_new(data, "md5Hash", json_string(md5));
    bad |= json_object_set_new(data, "crc32c", json_string(crc));
    bad |= json_object_set_new(data, "etag", json_string(etag));
    bad |= json_object_set_new(data, "timeCreated", json_string(when));
    bad |= json_object_set_new(data, "updated", json_string(when));
    bad |= json_object_set_new(data, "timeStorageClassUpdated", json_string(when));
    if (bad) {
        json_decref(data);
        return NULL;
    }
    return data;
}
