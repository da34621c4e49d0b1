/* util — the small helpers every service shares: answers in Google's shapes, clocks, base64url.
 * See emu.h. */
#include "emu.h"

#include <sodium.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void emu_respond_json(emu_response *resp, int status, char *text)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json; charset=UTF-8";
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
}

void emu_respond_value(emu_response *resp, int status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (!text) {
        emu_respond_error(resp, 500, "INTERNAL", "could not encode the answer");
        return;
    }
    emu_respond_json(resp, status, text);
}

void emu_respond_error(emu_response *resp, int status, const char *status_name, const char *fmt,
                       ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", status, "message", msg,
                            "status", status_name);
    char *text = err ? json_dumps(err, JSON_COMPACT) : NULL;
    json_decref(err);
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json; charset=UTF-8";
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
}

void emu_add_header(emu_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= EMU_MAX_HEADERS)
        return;
    resp->headers[resp->n_headers].name = name;
    snprintf(resp->headers[resp->n_headers].value, sizeof resp->headers[0].value, "%s", value);
    resp->n_headers++;
}

void emu_respond_gcs_error(emu_response *resp, int status, const char *domain, const char *reason,
                           const char *location_type, const char *location, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *item = json_pack("{s:s, s:s, s:s}", "message", msg, "domain",
                             domain ? domain : "global", "reason", reason);
    if (item && location_type)
        json_object_set_new(item, "locationType", json_string(location_type));
    if (item && location)
        json_object_set_new(item, "location", json_string(location));
    json_t *err = item ? json_pack("{s:{s:i, s:s, s:[o]}}", "error", "code", status, "message", msg,
                                   "errors", item)
                       : NULL;
    char *text = err ? json_dumps(err, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(err);
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json; charset=UTF-8";
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
}

json_t *emu_body_object(const emu_request *req, emu_response *resp)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                          "Invalid JSON payload received. %s at line %d column %d", jerr.text,
                          jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                          "Invalid JSON payload received. Expected an object.");
        return NULL;
    }
    return body;
}

int64_t emu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t emu_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_rfc3339(int64_t wall_ms, char *out, size_t n)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03dZ", (int)(wall_ms % 1000));
}

char *emu_b64url(const unsigned char *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

unsigned char *emu_b64url_decode(const char *text, size_t len, size_t *out_len)
{
    while (len > 0 && text[len - 1] == '=')
        len--;
    unsigned char *out = malloc(len * 3 / 4 + 1);
    if (!out)
        return NULL;
    const char *end = NULL;
    if (sodium_base642bin(out, len * 3 / 4 + 1, text, len, NULL, out_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + len) {
        free(out);
        return NULL;
    }
    return out;
}

char *emu_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}
