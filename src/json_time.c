/* json_time — see json_time.h. */
#include "json_time.h"

#include <stdio.h>
#include <time.h>

void time_ms_rfc3339(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

json_t *json_time_ms(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[48];
    time_ms_rfc3339(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *json_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}
