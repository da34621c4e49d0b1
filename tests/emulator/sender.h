/* sender — `gcp-emulator send`: the local Eventarc. Watches a folder and delivers each new or
 * changed file as the signed `google.cloud.storage.object.v1.finalized` CloudEvent Eventarc
 * sends for a Cloud Storage upload (binary mode, ce-* headers, a StorageObjectData body).
 *
 * This header is the pure half (sender_object.c): digests, the guessed content type, the
 * CloudEvent attributes and the body, all computed from an snd_object without I/O, so they are
 * unit-tested against Cloud Storage's documented shapes. sender_watch.h watches the folder;
 * sender.c is the command: options, the ID token and the delivery with Pub/Sub-like retries. */
#ifndef EMU_SENDER_H
#define EMU_SENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SND_EVENT_TYPE "google.cloud.storage.object.v1.finalized"
#define SND_MD5_LEN 16

typedef enum {
    SND_OK = 0,
    SND_ERR_IO,      /* the file could not be read */
    SND_ERR_NAME,    /* the object name cannot travel in a header (control characters, empty) */
    SND_ERR_NOMEM,   /* out of memory */
    SND_ERR_HTTP,    /* the endpoint could not be reached, or answered what we cannot use */
    SND_ERR_REFUSED, /* the endpoint answered a final non-2xx status */
} snd_status;

/* "ok", "io", ... for log lines. */
const char *snd_status_name(snd_status s);

/* One Cloud Storage object generation: what the event describes. Strings are borrowed. */
typedef struct {
    const char *bucket;
    const char *name;       /* the object name: the path under the inbox, '/'-separated */
    int64_t generation;     /* microseconds since the epoch, as Cloud Storage's generations */
    int64_t metageneration; /* 1 for a new generation */
    int64_t size;
    int64_t updated_ms; /* wall-clock milliseconds of the write (the file's mtime) */
    unsigned char md5[SND_MD5_LEN];
    uint32_t crc32c;
} snd_object;

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from CRC (0 to start), as
 * Cloud Storage's crc32c. crc32c("123456789") = 0xE3069283. */
uint32_t snd_crc32c(uint32_t crc, const void *data, size_t len);

/* The Content-Type Cloud Storage would store for NAME, guessed from its extension
 * (case-insensitive); "application/octet-stream" when unknown. A static string. */
const char *snd_content_type(const char *name);

/* SND_OK when NAME can be an object name in a ce-subject header: non-empty, at most 1024 bytes,
 * valid UTF-8, no control characters; else SND_ERR_NAME. */
snd_status snd_check_name(const char *name);

/* Reads PATH once and fills O's size, md5 (OpenSSL EVP) and crc32c. SND_OK or SND_ERR_IO. */
snd_status snd_digest_file(const char *path, snd_object *o);

/* The binary-mode CloudEvent attributes of O, in fixed buffers. */
typedef struct {
    char id[24];        /* decimal, like a Pub/Sub message id; unique per object generation */
    char source[320];   /* //storage.googleapis.com/projects/_/buckets/BUCKET */
    char subject[1100]; /* objects/NAME */
    char time[32];      /* RFC 3339, UTC, milliseconds: the object's `updated` */
} snd_attrs;

/* Fills A from O. SND_OK, or SND_ERR_NAME when the bucket or name does not fit. */
snd_status snd_event_attrs(const snd_object *o, snd_attrs *a);

/* The event's data: a StorageObjectData exactly as Cloud Storage sends it (kind, id, selfLink,
 * mediaLink, name, bucket, generation, metageneration, contentType, storageClass, size, md5Hash,
 * crc32c, etag, timeCreated, updated, timeStorageClassUpdated; int64 fields as strings, digests
 * in base64). A new reference, or NULL when out of memory. */
json_t *snd_object_data(const snd_object *o);

/* `gcp-emulator send ...` (sender.c). Returns the process exit status. */
int emu_send_cli(int argc, char **argv);

#endif
