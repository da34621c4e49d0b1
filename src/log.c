/* log — see log.h.
 *
 * The backstop: jansson refuses to make a string of bytes that are not UTF-8 (json_pack fails,
 * and the whole line with it) and writes broken JSON for such a string made with its nocheck
 * setters. So the message is checked before it becomes a string, and every string and key of
 * the caller's fields is checked before the line is written; what is not UTF-8 is replaced by
 * its rendering under the printable policy (printable.h). JSON_ENSURE_ASCII then escapes every
 * control and non-ASCII character, so a line is printable ASCII and valid JSON, whatever bytes
 * went in; if even that fails, a fixed line says a line was lost. */
#include "log.h"

#include "clk.h"

#include "printable.h"
#include "trace.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *component = "retrain";
static log_severity min_severity = LOG_INFO;
static char trace[128];

static const char *const names[] = {
    [LOG_DEBUG] = "DEBUG",     [LOG_INFO] = "INFO",   [LOG_NOTICE] = "NOTICE",
    [LOG_WARNING] = "WARNING", [LOG_ERROR] = "ERROR", [LOG_CRITICAL] = "CRITICAL"};
_Static_assert(sizeof names / sizeof names[0] == LOG_CRITICAL + 1, "a name for every severity");

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

void log_set_trace(const char *traceparent, const char *x_cloud_trace, const char *project)
{
    trace_begin(traceparent, x_cloud_trace);
    const char *id = trace_id();
    if (!id)
        trace[0] = '\0';
    else if (project && *project)
        snprintf(trace, sizeof trace, "projects/%.60s/traces/%s", project, id);
    else
        snprintf(trace, sizeof trace, "%s", id);
}

void log_clear_trace(void)
{
    trace_end();
    trace[0] = '\0';
}

const char *log_trace(void)
{
    return trace[0] ? trace : NULL;
}

#define RENDER_MAX 4096 /* a string that is not UTF-8 is shown as at most this much */

/* A JSON string of N bytes at S: as they are when they are UTF-8, else their rendering.
 * NULL only on OOM. */
static json_t *text_value(const char *s, size_t n)
{
    if (prt_utf8_valid(s, n))
        return json_stringn(s, n);
    char *out = malloc(RENDER_MAX);
    json_t *v = out ? json_string(prt_text(out, RENDER_MAX, s, n)) : NULL;
    free(out);
    return v;
}

/* Replaces, in place, every string and key under V that is not UTF-8. */
static void repair(json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!prt_utf8_valid(s, n)) {
            json_t *fixed = text_value(s, n);
            if (fixed)
                json_string_set(v, json_string_value(fixed));
            else
                json_string_set(v, "(unprintable)");
            json_decref(fixed);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            repair(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, val)
        {
            repair(val);
            if (prt_utf8_valid(key, strlen(key)))
                continue;
            char fixed[PRT_ECHO_SIZE];
            prt_str(fixed, sizeof fixed, key);
            json_object_set(v, fixed, val);
            json_object_del(v, key);
        }
    }
}

/* The message vsnprintf() made: a cut at the buffer's end may have split a character, which
 * is dropped rather than shown as bytes. */
static size_t trim_cut_character(const char *msg, size_t n, bool cut)
{
    if (!cut)
        return n;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)msg[n - back];
        if ((c & 0xc0) == 0x80)
            continue; /* a continuation byte: look further back for its lead */
        uint32_t cp;
        return c >= 0xc0 && prt_utf8_next(msg + n - back, back, &cp) == 0 ? n - back : n;
    }
    return n;
}

static void write_line(const char *text, size_t len)
{
    ssize_t w = write(STDERR_FILENO, text, len);
    (void)w;
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
    int made = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t mlen = made < 0 ? 0 : strlen(msg);
    mlen = trim_cut_character(msg, mlen, made >= (int)sizeof msg);

    int64_t now = clk_wall_ms();
    time_t sec = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03dZ", (int)(now % 1000));

    json_t *line = json_pack("{s:s, s:o*, s:s, s:s, s:i}", "severity", log_severity_name(s),
                             "message", text_value(msg, mlen), "time", when, "component", component,
                             "pid", (int)getpid());
    if (!line) {
        json_decref(fields);
        static const char lost[] = "{\"severity\":\"ERROR\",\"message\":\"a log line was lost "
                                   "(out of memory)\",\"component\":\"log\"}\n";
        write_line(lost, sizeof lost - 1);
        return;
    }
    if (trace[0])
        json_object_set_new(line, "logging.googleapis.com/trace", json_string(trace));
    if (fields && json_is_object(fields)) {
        repair(fields);
        json_object_update_missing(line, fields);
    }
    json_decref(fields);

    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (!text) {
        static const char lost[] = "{\"severity\":\"ERROR\",\"message\":\"a log line was lost "
                                   "(it could not be serialized)\",\"component\":\"log\"}\n";
        write_line(lost, sizeof lost - 1);
        return;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* overwrite the terminator: one write for the whole line */
    write_line(text, len + 1);
    free(text);
}
