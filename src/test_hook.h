/* test_hook — the crash points end-to-end tests arm through the environment. With
 * RETRAIN_TEST_HOOKS=1, the variable NAME holds "1" (every rule) or a comma-separated list of
 * rule names; a point armed for its rule SIGKILLs the process, so a test can show that what was
 * recorded before it is enough to converge. Off (and one getenv each) in production. */
#ifndef RT_TEST_HOOK_H
#define RT_TEST_HOOK_H

#include <stdbool.h>

/* Whether NAME arms the crash point for RULE (cached per NAME's first call site: pass a string
 * literal). */
bool test_hook_armed(const char *name, const char *rule);

/* SIGKILLs the process when test_hook_armed(NAME, RULE). */
void test_hook_crash(const char *name, const char *rule);

#endif
