/* ui_page — what the pages of ui.c and ui_overview.c share: the frame of a page and the
 * cells of a run, written into an html buffer (its memory: the buffer's arena). */
#ifndef RT_UI_PAGE_H
#define RT_UI_PAGE_H

#include <stdint.h>

#include "html.h"
#include "ui_data.h"

#define UI_REFRESH_S 5

/* The head of a page titled TITLE (escaped) up to the opening of <main>; REFRESH_S > 0 makes it
 * reload itself that often. ui_page_close ends it. */
void ui_page_open(html *h, const char *title, int refresh_s);
void ui_page_close(html *h);

/* MS (the epoch's) as RFC 3339 in UTC, "-" for 0. */
void ui_time(html *h, int64_t ms);

/* A duration in milliseconds: "850 ms", "12 s", "3 min 05 s", "2 h 07 min". */
void ui_duration(html *h, int64_t ms);

/* A run's cells after its id: state, events, queued, duration (until NOW_MS while it has not
 * ended), version, decision, Google's error. */
void ui_run_cells(html *h, const ui_run *r, int64_t now_ms);

#endif
