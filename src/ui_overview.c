/* ui_overview — see ui_overview.h. One section per rule, the dead letters, one section per
 * model; tables carry classes and data- attributes a test (or a script of the operator's) can
 * find them by. */
#include "ui_overview.h"

#include <string.h>

#include "svg_chart.h"
#include "ui_page.h"

static void rule_summary(html *h, const ui_rule *r)
{
    html_rawf(h,
              "<p class=\"summary\"><span class=\"total\">%lld</span> runs:", (long long)r->runs);
    bool any = false;
    for (int s = RUN_QUEUED; s <= RUN_CANCELLED; s++) {
        if (!r->by_state[s])
            continue;
        html_rawf(h, "%s <span class=\"count state-%s\">%lld %s</span>", any ? "," : "",
                  run_state_name((run_state)s), (long long)r->by_state[s],
                  run_state_name((run_state)s));
        any = true;
    }
    html_rawf(h,
              "%s. Queued events: <span class=\"queued-events\">%lld</span>. Open batches: "
              "<span class=\"open-batches\">%lld</span> (<span class=\"batch-events\">%lld</span> "
              "events).</p>\n",
              any ? "" : " none", (long long)r->queued_events, (long long)r->open_batches,
              (long long)r->batch_events);
}

static void rule_section(html *h, const ui_rule *r, int64_t now_ms)
{
    html_raw(h, "<section class=\"rule\" data-rule=\"");
    html_text(h, r->name);
    html_raw(h, "\">\n<h3>Rule <span class=\"name\">");
    html_text(h, r->name[0] ? r->name : "(none)");
    html_raw(h, "</span></h3>\n");
    rule_summary(h, r);
    if (r->n_latest == 0) {
        html_raw(h, "<p class=\"note\">No run is recorded.</p>\n</section>\n");
        return;
    }
    html_raw(h, "<table class=\"runs\">\n<thead><tr><th>run</th><th>first object</th>"
                "<th>state</th><th>events</th><th>queued</th><th>duration</th><th>version</th>"
                "<th>decision</th><th>Google's error</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < r->n_latest; i++) {
        const ui_run *run = r->latest[i];
        html_rawf(h, "<tr class=\"run state-%s\" data-run=\"", run_state_name(run->state));
        html_text(h, run->id);
        html_raw(h, "\"><td class=\"id\">");
        html_text(h, run->id);
        html_raw(h, "</td><td class=\"object\">");
        if (run->object) {
            html_raw(h, "<a href=\"/ui/event?name=");
            html_url_part(h, run->object);
            html_raw(h, "\">");
            html_text(h, run->object);
            html_raw(h, "</a>");
        } else {
            html_raw(h, "-");
        }
        html_raw(h, "</td>");
        ui_run_cells(h, run, now_ms);
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</tbody>\n</table>\n</section>\n");
}

static void dead_letters(html *h, const ui_overview *o)
{
    html_rawf(h,
              "<section id=\"dead-letters\">\n<h2>Dead letters (<span class=\"count\">%lld</span>)"
              "</h2>\n",
              (long long)o->dead_letters);
    if (o->n_dead == 0) {
        html_raw(h, "<p class=\"note\">None: no event is recorded as failed.</p>\n</section>\n");
        return;
    }
    html_raw(h, "<table class=\"dead\">\n<thead><tr><th>event</th><th>object</th><th>rule</th>"
                "<th>received</th><th>attempts</th><th>error</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < o->n_dead; i++) {
        const ui_event *e = &o->dead[i];
        const char *object = ui_subject_object(e->subject);
        html_raw(h, "<tr class=\"dead-letter\"><td class=\"id\"><a href=\"/ui/event?id=");
        html_url_part(h, e->id);
        html_raw(h, "\">");
        html_text(h, e->id);
        html_raw(h, "</a></td><td class=\"object\">");
        html_text(h, object);
        html_raw(h, "</td><td class=\"rule\">");
        html_text(h, e->rule);
        html_raw(h, "</td><td class=\"time\">");
        ui_time(h, e->first_seen_ms);
        html_rawf(h, "</td><td class=\"attempts\">%d</td><td class=\"error\">", e->attempts);
        html_text(h, e->error);
        html_raw(h, "</td></tr>\n");
    }
    html_raw(h, "</tbody>\n</table>\n</section>\n");
}

/* The metric's name: the one the gate compared the newest evaluated version by. */
static const char *metric_of(const ui_model *m)
{
    for (size_t i = m->n_versions; i-- > 0;)
        if (m->versions[i].run->metric)
            return m->versions[i].run->metric;
    return NULL;
}

static void model_chart(html *h, const ui_model *m, const char *metric)
{
    chart_point pts[UI_VERSIONS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < m->n_versions; i++) {
        const ui_run *r = m->versions[i].run;
        if (!r->has_value || (r->metric && metric && strcmp(r->metric, metric) != 0))
            continue;
        pts[n++] = (chart_point){.label = r->version_id, .value = r->value, .kind = r->decision};
    }
    svg_chart(h, metric ? metric : "metric", pts, n);
}

static void model_section(html *h, const ui_model *m)
{
    const char *metric = metric_of(m);
    html_raw(h, "<section class=\"model\" data-model=\"");
    html_text(h, m->name);
    html_raw(h, "\">\n<h3>Model <span class=\"name\">");
    html_text(h, m->name);
    html_raw(h, "</span></h3>\n");
    model_chart(h, m, metric);
    html_raw(h, "<table class=\"versions\">\n<thead><tr><th>version</th><th>run</th><th>rule</th>"
                "<th>metric</th><th>value</th><th>decision</th><th>aliases now</th>"
                "<th>reason</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < m->n_versions; i++) {
        const ui_version *v = &m->versions[i];
        const ui_run *r = v->run;
        html_raw(h, "<tr class=\"version\" data-version=\"");
        html_text(h, r->version_id);
        html_raw(h, "\"><td class=\"id\">");
        html_text(h, r->version_id);
        html_raw(h, "</td><td class=\"run\">");
        html_text(h, r->id);
        html_raw(h, "</td><td class=\"rule\">");
        html_text(h, r->rule);
        html_raw(h, "</td><td class=\"metric\">");
        html_text(h, r->metric ? r->metric : "-");
        html_raw(h, "</td><td class=\"value\">");
        if (r->has_value)
            html_rawf(h, "%.6g", r->value);
        else
            html_raw(h, "-");
        html_raw(h, "</td><td class=\"decision\">");
        html_text(h, r->decision[0] ? r->decision : "-");
        html_raw(h, "</td><td class=\"aliases\">");
        html_text(h, v->aliases);
        html_raw(h, "</td><td class=\"reason\">");
        html_text(h, r->reason);
        html_raw(h, "</td></tr>\n");
    }
    html_raw(h, "</tbody>\n</table>\n</section>\n");
}

void ui_overview_page(html *h, const ui_overview *o, int64_t now_ms)
{
    ui_page_open(h, "eventarc-retrain", UI_REFRESH_S);
    html_raw(h, "<p class=\"read\">Read from the ledger at <span class=\"now\">");
    ui_time(h, now_ms);
    html_rawf(h, "</span>; this page reloads every %d s.", UI_REFRESH_S);
    if (o->runs_cut)
        html_rawf(h, " Only the oldest %d runs were read.", UI_RUNS_READ);
    html_raw(h, "</p>\n<section id=\"rules\">\n<h2>Runs by rule</h2>\n");
    if (o->n_rules == 0)
        html_raw(h, "<p class=\"note\">No run is recorded yet: no event has started one.</p>\n");
    for (size_t i = 0; i < o->n_rules; i++)
        rule_section(h, &o->rules[i], now_ms);
    html_raw(h, "</section>\n");
    dead_letters(h, o);
    html_raw(h, "<section id=\"models\">\n<h2>Models</h2>\n");
    if (o->n_models == 0)
        html_raw(h, "<p class=\"note\">No run has made a model version yet.</p>\n");
    for (size_t i = 0; i < o->n_models; i++)
        model_section(h, &o->models[i]);
    html_raw(h, "</section>\n");
    ui_page_close(h);
}
