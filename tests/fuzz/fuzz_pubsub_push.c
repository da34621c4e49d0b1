/* libFuzzer target for src/pubsub_push: any body must become an event or be refused with a
 * message. A made event has every required attribute, the type and source of one of the two
 * mappings, and survives cloudevent's JSON form; only a detected envelope can make one; an error
 * message is printable text by the printable policy (it goes into the answer and the log) and
 * leaves the event zeroed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cloudevent.h"
#include "http_request.h"
#include "printable.h"
#include "pubsub_push.h"

static void check_event(const cloudevent *ev, arena *a)
{
    if (!ev->id || !*ev->id || !ev->source || !ev->type || strcmp(ev->specversion, "1.0") != 0 ||
        !ev->datacontenttype || strcmp(ev->datacontenttype, "application/json") != 0)
        abort();
    bool storage = strncmp(ev->source, "//storage.googleapis.com/projects/_/buckets/", 44) == 0;
    if (storage) {
        if (strncmp(ev->type, "google.cloud.storage.object.v1.", 31) != 0 || !ev->subject ||
            strncmp(ev->subject, "objects/", 8) != 0 || !ce_extension(ev, "bucket") ||
            strcmp(ce_extension(ev, "bucket"), ev->source + 44) != 0 || !ev->data)
            abort();
    } else if (strncmp(ev->source, "//pubsub.googleapis.com/projects/", 33) != 0 ||
               strcmp(ev->type, "google.cloud.pubsub.topic.v1.messagePublished") != 0 ||
               !ev->data || ev->subject) {
        abort();
    }
    json_t *j = ce_to_json(ev);
    cloudevent back;
    char err[256];
    if (!j || ce_from_json(j, a, &back, err, sizeof err) != CE_OK || strcmp(back.id, ev->id) != 0 ||
        strcmp(back.source, ev->source) != 0 || back.data_len != ev->data_len ||
        memcmp(back.data, ev->data, ev->data_len) != 0)
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new(0);
    if (!a)
        return 0;
    http_header h[] = {{"content-type", "application/json"}};
    http_request req = {.method = "POST",
                        .path = "/",
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = 1,
                        .body = data,
                        .body_len = size};
    bool envelope = psp_is_envelope(&req);
    cloudevent ev;
    char err[256] = "";
    ce_status st = psp_parse_http(&req, a, &ev, err, sizeof err);
    if (st == CE_OK) {
        if (!envelope)
            abort();
        check_event(&ev, a);
    } else {
        if (err[0] == '\0' || ev.id || ev.data)
            abort();
        if (!prt_is_printable(err, strlen(err)))
            abort();
    }
    arena_free(a);
    return 0;
}
