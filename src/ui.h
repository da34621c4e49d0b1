/* ui — the operator's read-only pages, under /ui/ (nginx answers them only to loopback, as
 * /status):
 *
 *   GET /ui/             per rule its latest runs (state, events covered, duration, Google's
 *                        error), what waits (queued events, open batches), the dead letters, and
 *                        per model its versions: the gate's metric across them as an SVG chart,
 *                        the decision for each and the aliases each holds now; refreshes itself
 *                        every 5 s
 *   GET /ui/event?id=ID  one event by CloudEvent id, or ?name=OBJECT by its object's name, with
 *                        its path: received → run → version → decision
 *   GET /ui/style.css    the pages' style sheet
 *
 * Everything is read from the ledger at each request, so every host on one ledger shows the
 * same; nothing is asked of Google. The pages carry no script and work as plain HTML; every
 * string that is not ours (object names, event ids, Google's messages, rule names) is escaped by
 * html.h. Every answer, errors too, has a Content-Security-Policy that allows no script, frame
 * or foreign resource, X-Content-Type-Options: nosniff, Cache-Control: no-store and
 * Referrer-Policy: no-referrer. Other methods than GET and HEAD: 405 with Allow; an unknown page:
 * 404; a ledger that does not answer: 503 with Retry-After, as HTML pages.
 *
 * Memory: the answer lives in the request's arena A. L may be NULL (the ledger could not be
 * opened): the pages then answer 503. */
#ifndef RT_UI_H
#define RT_UI_H

#include <stdbool.h>

#include "arena.h"
#include "http_request.h"
#include "ledger.h"

/* True when PATH is one of the pages' (starts with "/ui/"). */
bool ui_path(const char *path);

void ui_handle(ledger *l, const http_request *req, arena *a, http_response *resp);

#endif
