/* json_time — times and optional strings as the JSON that operators and notices read.
 *
 * A time is milliseconds since the epoch, shown as RFC 3339 in UTC with milliseconds
 * ("2026-11-26T07:00:00.123Z"). Every function returns a new jansson reference (NULL on OOM)
 * or writes into the caller's buffer. */
#ifndef RT_JSON_TIME_H
#define RT_JSON_TIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* MS as RFC 3339 into BUF (at least 32 bytes). */
void time_ms_rfc3339(int64_t ms, char *buf, size_t len);

/* An RFC 3339 time ("2026-11-26T07:00:00Z", a fraction of any length, an offset) in ms since
 * the epoch; -1 when malformed. */
int64_t time_parse_rfc3339(const char *s);

/* MS as an RFC 3339 string; JSON null for MS <= 0 (not yet). */
json_t *json_time_ms(int64_t ms);

/* S as a JSON string; null for NULL. */
json_t *json_string_or_null(const char *s);

#endif
