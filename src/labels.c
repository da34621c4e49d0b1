/* labels — see labels.h. */
#include "labels.h"

#include <stdio.h>
#include <string.h>

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool label_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!label_char(s[i]))
            return false;
    return true;
}

bool labels_key_valid(const char *key)
{
    size_t n = strlen(key);
    return n >= 1 && n <= LABELS_MAX_LEN && key[0] >= 'a' && key[0] <= 'z' && label_chars(key, n) &&
           strncmp(key, "goog", 4) != 0;
}

bool labels_value_valid(const char *value)
{
    size_t n = strlen(value);
    return n <= LABELS_MAX_LEN && label_chars(value, n);
}

int labels_validate(const json_t *labels, char *err, size_t errlen)
{
    if (!json_is_object(labels)) {
        snprintf(err, errlen, "labels must be an object of strings");
        return -1;
    }
    if (json_object_size(labels) > LABELS_MAX) {
        snprintf(err, errlen, "at most %d labels are allowed", LABELS_MAX);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v)
    {
        if (!labels_key_valid(key)) {
            snprintf(err, errlen,
                     "label key \"%.63s\" must be 1-63 lower-case letters, digits, '_' or '-', "
                     "start with a letter, and not start with \"goog\"",
                     key);
            return -1;
        }
        if (!json_is_string(v) || !labels_value_valid(json_string_value(v))) {
            snprintf(err, errlen,
                     "label \"%.63s\": the value must be a string of 0-63 lower-case letters, "
                     "digits, '_' or '-'",
                     key);
            return -1;
        }
    }
    return 0;
}
