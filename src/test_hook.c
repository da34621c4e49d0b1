/* test_hook — see test_hook.h. */
#include "test_hook.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

bool test_hook_armed(const char *name, const char *rule)
{
    const char *hooks = getenv("RETRAIN_TEST_HOOKS");
    const char *which = hooks && strcmp(hooks, "1") == 0 ? getenv(name) : NULL;
    if (!which || !*which || !rule)
        return false;
    size_t n = strlen(rule);
    for (const char *p = which; *p;) {
        size_t len = strcspn(p, ",");
        if ((len == 1 && *p == '1') || (len == n && strncmp(p, rule, n) == 0))
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

void test_hook_crash(const char *name, const char *rule)
{
    if (test_hook_armed(name, rule))
        raise(SIGKILL);
}
