/* ui_page — see ui_page.h. */
#include "ui_page.h"

#include "json_time.h"

void ui_page_open(html *h, const char *title, int refresh_s)
{
    html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    if (refresh_s > 0)
        html_rawf(h, "<meta http-equiv=\"refresh\" content=\"%d\">\n", refresh_s);
    html_raw(h, "<title>");
    html_text(h, title);
    html_raw(h, "</title>\n<link rel=\"stylesheet\" href=\"/ui/style.css\">\n</head>\n<body>\n"
                "<header><h1>");
    html_text(h, title);
    html_raw(h, "</h1>\n<nav><a href=\"/ui/\">overview</a><a href=\"/ui/event\">find an event</a>"
                "</nav></header>\n<main>\n");
}

void ui_page_close(html *h)
{
    html_raw(h, "</main>\n</body>\n</html>\n");
}

void ui_time(html *h, int64_t ms)
{
    char buf[40];
    if (ms <= 0) {
        html_raw(h, "-");
        return;
    }
    time_ms_rfc3339(ms, buf, sizeof buf);
    html_text(h, buf);
}

void ui_duration(html *h, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    long long s = (long long)(ms / 1000);
    if (ms < 1000)
        html_rawf(h, "%lld ms", (long long)ms);
    else if (s < 60)
        html_rawf(h, "%lld s", s);
    else if (s < 3600)
        html_rawf(h, "%lld min %02lld s", s / 60, s % 60);
    else
        html_rawf(h, "%lld h %02lld min", s / 3600, s / 60 % 60);
}

void ui_run_cells(html *h, const ui_run *r, int64_t now_ms)
{
    html_rawf(h, "<td class=\"state\">%s%s</td><td class=\"events\">%d</td><td class=\"time\">",
              run_state_name(r->state), r->batch_key && r->collecting ? " (collecting)" : "",
              r->events);
    ui_time(h, r->queued_ms);
    html_raw(h, "</td><td class=\"duration\">");
    if (r->queued_ms > 0)
        ui_duration(h, (r->ended_ms > 0 ? r->ended_ms : now_ms) - r->queued_ms);
    if (r->queued_ms > 0 && r->ended_ms <= 0)
        html_raw(h, " so far");
    html_raw(h, "</td><td class=\"version\">");
    html_text(h, r->version_id ? r->version_id : "-");
    html_raw(h, "</td><td class=\"decision\">");
    html_text(h, r->decision[0] ? r->decision : "-");
    html_raw(h, "</td><td class=\"error\">");
    if (r->error_code || r->error_message)
        html_textf(h, "%d: %s", r->error_code, r->error_message ? r->error_message : "");
    html_raw(h, "</td>");
}
