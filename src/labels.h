/* labels — Google Cloud resource labels, validated as Vertex AI does.
 *
 * A key is 1..63 characters: lower-case letters, digits, '_' and '-', starting with a lower-case
 * letter (international lower-case letters are allowed by Google; we accept ASCII only, which is
 * what we generate). A value is 0..63 characters of the same set. At most 64 labels; keys
 * starting with "goog" are reserved. */
#ifndef RT_LABELS_H
#define RT_LABELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define LABELS_MAX 64
#define LABELS_MAX_LEN 63

bool labels_key_valid(const char *key);
bool labels_value_valid(const char *value);

/* Checks a JSON object of labels. Returns 0, or -1 with a message naming the bad key (never
 * more than its first 63 bytes) in ERR. */
int labels_validate(const json_t *labels, char *err, size_t errlen);

#endif
