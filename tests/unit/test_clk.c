/* clk: the monotonic clock never goes back, the wall clock is the epoch's, and a sleep that a
 * signal interrupts still lasts its whole time. */
#include "clk.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <cmocka.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_sleep_outlasts_signals(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep returns EINTR */
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval every = {{0, 20000}, {0, 20000}};
    assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
    int64_t t0 = clk_mono_ms();
    clk_sleep_ms(150);
    int64_t slept = clk_mono_ms() - t0;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    assert_true(alarms >= 2);  /* it was interrupted... */
    assert_true(slept >= 150); /* ...and slept its whole time all the same */
    t0 = clk_mono_ms();
    clk_sleep_ms(0);
    clk_sleep_ms(-5);
    assert_true(clk_mono_ms() - t0 < 1000);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t last = clk_mono_ms();
    for (int i = 0; i < 1000; i++) {
        int64_t now = clk_mono_ms();
        assert_true(now >= last);
        last = now;
    }
    int64_t wall = clk_wall_ms();
    int64_t epoch_ms = (int64_t)time(NULL) * 1000;
    assert_true(wall > epoch_ms - 2000 && wall < epoch_ms + 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_outlasts_signals),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests_name("clk", tests, NULL, NULL);
}
