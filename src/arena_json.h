/* arena_json — jansson references that die with an arena.
 *
 * arena_json(a, j) takes the reference J (a new one the caller owns) and releases it when A is
 * reset or freed (arena.h's cleanups). Until then J stays valid and the caller may read it,
 * store it in other arena-lived structs, or json_incref it to keep it longer. This is how the
 * request path holds what the Vertex client and the body builder hand it: nothing is
 * json_decref'd by hand. */
#ifndef RT_ARENA_JSON_H
#define RT_ARENA_JSON_H

#include <jansson.h>

#include "arena.h"

/* J, now A's (NULL J: NULL). NULL when memory ran out: J has then been released already. */
json_t *arena_json(arena *a, json_t *j);

#endif
