/* log — see log.h. */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *component = "retrain";
static log_severity min_severity = LOG_INFO;
static char trace[128];

static const char *const names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"};

void log_init(const char *comp, log_severity min)
{
    component = comp;
    min_severity = min;
}

const char *log_severity_name(log_severity s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "DEFAULT";
}

int log_severity_parse(const char *name, log_severity *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = (log_severity)i;
            return 0;
        }
    return -1;
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

void log_set_trace(const char *traceparent, const char *x_cloud_trace, const char *project)
{
    char id[33] = "";
    /* W3C: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>" */
    if (traceparent && strlen(traceparent) >= 55 && traceparent[2] == '-' &&
        traceparent[35] == '-' && all_hex(traceparent + 3, 32)) {
        memcpy(id, traceparent + 3, 32);
    } else if (x_cloud_trace) { /* "TRACE_ID/SPAN_ID;o=1" */
        size_t n = strcspn(x_cloud_trace, "/;");
        if (n == 32 && all_hex(x_cloud_trace, 32))
            memcpy(id, x_cloud_trace, 32);
    }
    id[32] = '\0';
    if (!id[0]) {
        trace[0] = '\0';
        return;
    }
    if (project && *project)
        snprintf(trace, sizeof trace, "projects/%.60s/traces/%s", project, id);
    else
        snprintf(trace, sizeof trace, "%s", id);
}

void log_clear_trace(void)
{
    trace[0] = '\0';
}

const char *log_trace(void)
{
    return trace[0] ? trace : NULL;
}

void log_emit(log_severity s, json_t *fields, const char *fmt, ...)
{
    if (s < min_severity) {
        json_decref(fields);
        return;
    }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_t *line =
        json_pack("{s:s, s:s, s:s, s:s, s:i}", "severity", log_severity_name(s), "message", msg,
                  "time", when, "component", component, "pid", (int)getpid());
    if (!line) {
        json_decref(fields);
        return;
    }
    if (trace[0])
        json_object_set_new(line, "logging.googleapis.com/trace", json_string(trace));
    if (fields && json_is_object(fields))
        json_object_update_missing(line, fields);
    json_decref(fields);

    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* overwrite the terminator: one write for the whole line */
    ssize_t w = write(STDERR_FILENO, text, len + 1);
    (void)w;
    free(text);
}
