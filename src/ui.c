/* ui — see ui.h. The routes, the headers every answer carries, the style sheet, the frame of a
 * page and the event page; the overview is ui_overview.c. */
#include "ui.h"

#include <stdio.h>
#include <string.h>

#include "clk.h"
#include "json_time.h"
#include "pct.h"
#include "ui_overview.h"
#include "ui_page.h"

/* No script, no frame, nothing from elsewhere: the style sheet is ours, forms go only here. */
#define UI_CSP                                                                                     \
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "             \
    "frame-ancestors 'none'; base-uri 'none'"

static const char style_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 2em 2em;color:#222;background:#fafafa}\n"
    "h1{font-size:1.4em;margin:.8em 0 .2em}h2{font-size:1.2em;margin-top:1.6em;"
    "border-bottom:1px solid #ccc}h3{font-size:1.05em}\n"
    "nav a{margin-right:1em}table{border-collapse:collapse;margin:.4em 0 1em;background:#fff}\n"
    "th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}td.error,td.reason{max-width:36em;white-space:pre-wrap;"
    "word-break:break-word}\n"
    "td.id,.mono{font-family:ui-monospace,monospace;font-size:.92em}\n"
    ".state-succeeded td.state{color:#17652b}.state-failed td.state{color:#b00020}\n"
    ".state-running td.state,.state-submitted td.state{color:#0b57d0}\n"
    ".state-queued td.state{color:#7a5d00}.note{color:#666}\n"
    "svg.chart{background:#fff;border:1px solid #ddd}svg .axis{stroke:#888}\n"
    "svg .line{fill:none;stroke:#0b57d0;stroke-width:2}svg .point{fill:#888}\n"
    "svg .point.promoted{fill:#17652b}svg .point.held{fill:#b00020}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#444}\n"
    "ol.path{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5em}\n"
    "ol.path li{background:#fff;border:1px solid #ccc;padding:.4em .7em}\n"
    "ol.path li+li::before{content:\"\\2192\\00a0\";color:#888}\n"
    "form label{margin-right:1em}\n";

bool ui_path(const char *path)
{
    return path && strncmp(path, "/ui/", 4) == 0;
}

static void secure_headers(http_response *resp)
{
    http_response_add_header(resp, "Content-Security-Policy", UI_CSP);
    http_response_add_header(resp, "X-Content-Type-Options", "nosniff");
    http_response_add_header(resp, "Cache-Control", "no-store");
    http_response_add_header(resp, "Referrer-Policy", "no-referrer");
}

/* ---- answers ---------------------------------------------------------------------------- */

static void answer(http_response *resp, int status, const char *type, const char *body, size_t len)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->body_len = len;
    secure_headers(resp);
}

static void answer_page(http_response *resp, arena *a, int status, html *h)
{
    size_t len = 0;
    const char *body = html_done(h, &len);
    if (!body) {
        http_response_error(resp, a, 500, "internal", "out of memory");
        secure_headers(resp);
        return;
    }
    answer(resp, status, "text/html; charset=utf-8", body, len);
}

/* A page that says what went wrong (WHAT, escaped). */
static void answer_problem(http_response *resp, arena *a, int status, const char *what)
{
    html *h = html_new(a);
    char title[64];
    snprintf(title, sizeof title, "%d %s", status, http_status_text(status));
    ui_page_open(h, title, 0);
    html_raw(h, "<p class=\"problem\">");
    html_text(h, what);
    html_raw(h, "</p>\n");
    ui_page_close(h);
    answer_page(resp, a, status, h);
}

static void answer_unavailable(http_response *resp, arena *a, ledger *l)
{
    const char *why = arena_printf(a, "The ledger does not answer: %s. Try again in a moment.",
                                   l ? ledger_last_error(l) : "it cannot be opened");
    answer_problem(resp, a, 503, why ? why : "The ledger does not answer.");
    http_response_add_header(resp, "Retry-After", "5");
}

/* ---- the query string ------------------------------------------------------------------- */

/* The value of KEY in QUERY (application/x-www-form-urlencoded), decoded into A: NULL when
 * absent or empty; *BAD when it is malformed (a bad escape, a NUL) or memory ran out. */
static const char *query_value(arena *a, const char *query, const char *key, bool *bad)
{
    size_t klen = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = 0;
            bool nomem = false;
            char *out = pct_decode(a, p + klen + 1, len - klen - 1, PCT_FORM, &n, &nomem);
            if (!out || strlen(out) != n) { /* a bad escape, memory, or %00 */
                *bad = true;
                return NULL;
            }
            return n ? out : NULL;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* ---- the event page --------------------------------------------------------------------- */

static void search_form(html *h, const char *id, const char *name)
{
    html_raw(h, "<form class=\"find\" method=\"get\" action=\"/ui/event\">\n<label>event id "
                "<input name=\"id\" value=\"");
    html_text(h, id);
    html_raw(h, "\"></label><label>or object name <input name=\"name\" size=\"50\" value=\"");
    html_text(h, name);
    html_raw(h, "\"></label><button type=\"submit\">find</button>\n</form>\n");
}

/* One event and its path: received → run → version → decision. */
static void event_section(html *h, ledger *l, arena *a, const ui_event *e, int64_t now_ms)
{
    const char *object = ui_subject_object(e->subject);
    html_raw(h, "<section class=\"event\" data-key=\"");
    html_text(h, e->key);
    html_raw(h, "\">\n<h2>Event <span class=\"id\">");
    html_text(h, e->id);
    html_raw(h, "</span></h2>\n<table class=\"record\">\n<tr><th>source</th><td class=\"source\">");
    html_text(h, e->source);
    html_raw(h, "</td></tr>\n<tr><th>object</th><td class=\"object\">");
    html_text(h, object ? object : "-");
    html_raw(h, "</td></tr>\n<tr><th>key</th><td class=\"key mono\">");
    html_text(h, e->key);
    html_raw(h, "</td></tr>\n<tr><th>status</th><td class=\"status\">");
    html_text(h, e->status);
    html_rawf(h, "</td></tr>\n<tr><th>attempts</th><td class=\"attempts\">%d</td></tr>\n",
              e->attempts);
    if (e->error) {
        html_raw(h, "<tr><th>error</th><td class=\"error\">");
        html_text(h, e->error);
        html_raw(h, "</td></tr>\n");
    }
    html_raw(h, "</table>\n<ol class=\"path\">\n<li class=\"step received\">received ");
    ui_time(h, e->first_seen_ms);
    html_raw(h, " (");
    html_text(h, e->status);
    html_raw(h, e->rule ? ", rule " : "");
    html_text(h, e->rule);
    html_raw(h, ")</li>\n");
    ui_run run;
    const char *aliases = "";
    ledger_status st =
        e->run_id ? ui_data_run(l, a, e->run_id, &run, &aliases) : LEDGER_ERR_NOT_FOUND;
    if (st != LEDGER_OK) {
        html_raw(h, "<li class=\"step run none\">");
        html_text(h, !e->run_id                   ? "no run: the event started none and joined none"
                     : st == LEDGER_ERR_NOT_FOUND ? "its run is no longer in the ledger"
                                                  : ledger_last_error(l));
        html_raw(h, "</li>\n</ol>\n</section>\n");
        return;
    }
    html_raw(h, "<li class=\"step run\">run <span class=\"id\">");
    html_text(h, run.id);
    html_raw(h, "</span> ");
    html_text(h, run_state_name(run.state));
    if (run.error_code || run.error_message) {
        html_raw(h, ": <span class=\"error\">");
        html_textf(h, "%d %s", run.error_code, run.error_message ? run.error_message : "");
        html_raw(h, "</span>");
    }
    html_raw(h, "</li>\n");
    if (run.version_id) {
        html_raw(h, "<li class=\"step version\">version <span class=\"id\">");
        html_text(h, run.version_id);
        html_raw(h, "</span> of ");
        html_text(h, run.model);
        if (aliases[0]) {
            html_raw(h, ", holds <span class=\"aliases\">");
            html_text(h, aliases);
            html_raw(h, "</span>");
        }
        html_raw(h, "</li>\n<li class=\"step decision\">");
        html_text(h, run.decision[0] ? run.decision : "no decision");
        if (run.has_value)
            html_textf(h, " (%s %.6g)", run.metric ? run.metric : "metric", run.value);
        if (run.reason) {
            html_raw(h, ": <span class=\"reason\">");
            html_text(h, run.reason);
            html_raw(h, "</span>");
        }
        html_raw(h, "</li>\n");
    }
    html_raw(h, "</ol>\n<table class=\"runs\">\n<thead><tr><th>run</th><th>state</th>"
                "<th>events</th><th>queued</th><th>duration</th><th>version</th>"
                "<th>decision</th><th>Google's error</th></tr></thead>\n<tbody><tr class=\"run\">"
                "<td class=\"id\">");
    html_text(h, run.id);
    html_raw(h, "</td>");
    ui_run_cells(h, &run, now_ms);
    html_raw(h, "</tr></tbody>\n</table>\n</section>\n");
}

static void event_page(ledger *l, const http_request *req, arena *a, http_response *resp)
{
    bool bad = false;
    const char *id = query_value(a, req->query, "id", &bad);
    const char *name = id ? NULL : query_value(a, req->query, "name", &bad);
    if (bad) {
        answer_problem(resp, a, 400, "The query is malformed: use ?id=EVENT-ID or ?name=OBJECT.");
        return;
    }
    ui_event found[UI_EVENT_MATCHES];
    size_t n = 0;
    if ((id || name) && (!l || ui_data_events(l, a, id, name, found, &n) != LEDGER_OK)) {
        answer_unavailable(resp, a, l);
        return;
    }
    int64_t now = clk_wall_ms();
    html *h = html_new(a);
    ui_page_open(h, "Find an event", 0);
    search_form(h, id, name);
    if (id || name) {
        html_rawf(h, "<p class=\"found\"><span class=\"count\">%zu</span> event%s with %s ", n,
                  n == 1 ? "" : "s", id ? "id" : "object name");
        html_raw(h, "<q>");
        html_text(h, id ? id : name);
        html_raw(h, "</q>.</p>\n");
    }
    for (size_t i = 0; i < n; i++)
        event_section(h, l, a, &found[i], now);
    ui_page_close(h);
    answer_page(resp, a, 200, h);
}

static void overview_page(ledger *l, arena *a, http_response *resp)
{
    ui_overview *o = arena_alloc(a, sizeof *o);
    if (!o) {
        answer_problem(resp, a, 500, "out of memory");
        return;
    }
    if (!l || ui_data_overview(l, a, o) != LEDGER_OK) {
        answer_unavailable(resp, a, l);
        return;
    }
    html *h = html_new(a);
    ui_overview_page(h, o, clk_wall_ms());
    answer_page(resp, a, 200, h);
}

void ui_handle(ledger *l, const http_request *req, arena *a, http_response *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        answer_problem(resp, a, 405, "These pages are read-only: GET or HEAD.");
        http_response_add_header(resp, "Allow", "GET, HEAD");
        return;
    }
    if (strcmp(req->path, "/ui/") == 0)
        overview_page(l, a, resp);
    else if (strcmp(req->path, "/ui/event") == 0)
        event_page(l, req, a, resp);
    else if (strcmp(req->path, "/ui/style.css") == 0)
        answer(resp, 200, "text/css; charset=utf-8", style_css, sizeof style_css - 1);
    else
        answer_problem(resp, a, 404, "No such page: see /ui/.");
}
