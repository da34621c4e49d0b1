/* ui_overview — the overview page (GET /ui/): per rule its latest runs, queued events and open
 * batches; the dead letters; per model its versions, their metric as a chart, decisions and
 * aliases. Written into an html buffer (its memory: the buffer's arena). */
#ifndef RT_UI_OVERVIEW_H
#define RT_UI_OVERVIEW_H

#include <stdint.h>

#include "html.h"
#include "ui_data.h"

/* The overview of O, read at NOW_MS. */
void ui_overview_page(html *h, const ui_overview *o, int64_t now_ms);

#endif
