/* pubsub_push — a Pub/Sub push delivery (the JSON envelope) taken in as a CloudEvent.
 *
 * A push subscription with an OIDC token POSTs, instead of a CloudEvent, the envelope
 *   {"message": {"attributes": {...}, "data": BASE64, "messageId": ID, "publishTime": T, ...},
 *    "subscription": "projects/P/subscriptions/S", "deliveryAttempt": N}
 * (Pub/Sub also writes "message_id" and "publish_time"; when both spellings are present they
 * must agree). The event is the one Eventarc would have delivered for the same message:
 *
 * A Cloud Storage notification (attribute notificationConfig present; payload format
 * JSON_API_V1 required, since only that one carries the object):
 *   type     google.cloud.storage.object.v1.finalized | metadataUpdated | deleted | archived
 *            (eventType OBJECT_FINALIZE | OBJECT_METADATA_UPDATE | OBJECT_DELETE | OBJECT_ARCHIVE)
 *   source   //storage.googleapis.com/projects/_/buckets/BUCKET    (attribute bucketId)
 *   subject  objects/NAME                                          (attribute objectId)
 *   time     attribute eventTime, else the message's publishTime
 *   data     the decoded message data, a StorageObjectData JSON object whose bucket, name and
 *            generation must agree with bucketId, objectId and objectGeneration
 *   extension bucket = BUCKET
 * Any other message:
 *   type     google.cloud.pubsub.topic.v1.messagePublished
 *   source   //pubsub.googleapis.com/projects/P/subscriptions/S (the envelope never names the
 *            topic, so the subscription stands for it)
 *   time     publishTime
 *   data     {"message": <the message as received>, "subscription": S} compact — Eventarc's
 *            MessagePublishedData without deliveryAttempt, so a redelivery carries the same bytes
 * Both: id = messageId (stable across redeliveries, so the ledger's (source, id) de-duplication
 * holds), specversion 1.0, datacontenttype application/json.
 *
 * Strict: duplicate JSON keys, a non-string attribute, base64 that is not canonical standard
 * base64 (libsodium), a body over PSP_BODY_MAX or more than PSP_ATTRS_MAX attributes are all
 * refused; every error message names the envelope field ("message.messageId: ...").
 *
 * Memory: everything the event points to lives in the arena passed to psp_parse_http(). */
#ifndef RT_PUBSUB_PUSH_H
#define RT_PUBSUB_PUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "cloudevent.h"

#define PSP_BODY_MAX (1024 * 1024) /* nginx's client_max_body_size */
#define PSP_ATTRS_MAX 100          /* Pub/Sub's own limit per message */

struct http_request;

/* Whether REQ is a push envelope: no ce-specversion header, Content-Type application/json (any
 * parameters) or absent, and a body (at most PSP_BODY_MAX) that is a JSON object with a
 * "message" object and a "subscription" string. Parses the body only when the headers fit. */
bool psp_is_envelope(const struct http_request *req);

/* Turns the envelope REQ carries into *OUT. On error returns CE_ERR_MISSING (a required field is
 * absent) or CE_ERR_INVALID (malformed), zeroes *OUT and writes into ERR (may be NULL) a message
 * that names the field and echoes input only by the printable policy (printable.h: at most 64
 * bytes, escaped). CE_ERR_NOMEM on OOM. */
ce_status psp_parse_http(const struct http_request *req, arena *a, cloudevent *out, char *err,
                         size_t errlen);

#endif
