/* echo — the built-in function that answers the event's attributes and data as JSON, so the
 * whole path (TLS, auth, parsing, ledger, answer) is testable without any Google service.
 *
 * For the end-to-end tests it has hooks that exist only when RETRAIN_TEST_HOOKS=1 is in the
 * environment: the extension attribute `testsleepms` makes it sleep (to drive request timeouts
 * and graceful stops), `testcrash` kills the worker, and RETRAIN_TEST_RUNLOG names a file where
 * each run appends the event key (so tests count how many times the function really ran). */
#include "echo.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clk.h"

static void test_hooks(const cloudevent *ev, const char *key)
{
    const char *runlog = getenv("RETRAIN_TEST_RUNLOG");
    if (runlog && *runlog) {
        int fd = open(runlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[80];
            int n = snprintf(line, sizeof line, "%s\n", key);
            if (n > 0 && write(fd, line, (size_t)n) < 0)
                n = 0;
            close(fd);
        }
    }
    const char *sleep_ms = ce_extension(ev, "testsleepms");
    if (sleep_ms) {
        clk_sleep_ms(strtol(sleep_ms, NULL, 10));
    }
    if (ce_extension(ev, "testcrash"))
        raise(SIGKILL);
}

static void echo_handle(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    static int hooks = -1;
    if (hooks < 0) {
        const char *h = getenv("RETRAIN_TEST_HOOKS");
        hooks = h && strcmp(h, "1") == 0;
    }
    if (hooks)
        test_hooks(ev, ctx->event_key);
    json_t *attrs = ce_to_json(ev);
    out->status = FN_DONE;
    out->outcome = json_pack("{s:s, s:o}", "status", "echoed", "echo", attrs ? attrs : json_null());
    if (!out->outcome) {
        out->status = FN_RETRY;
        out->error = "out of memory";
    }
}

const fn_def echo_function = {
    .name = "echo",
    .summary = "answers the event's attributes and data as JSON",
    .handle = echo_handle,
};
