/* arena_json — see arena_json.h. */
#include "arena_json.h"

static void decref(void *p)
{
    json_decref(p);
}

json_t *arena_json(arena *a, json_t *j)
{
    if (!j)
        return NULL;
    return arena_on_reset(a, decref, j) == 0 ? j : NULL;
}
