/* clk — the project's clock: monotonic milliseconds for deadlines, budgets and ages; the wall
 * clock for times that are stored or shown; and one sleep that finishes its time.
 *
 * Every deadline in the code is clk_mono_ms() + a budget, so a wall-clock step (NTP, an operator)
 * never shortens or stretches one. Wall time is only for what outlives the process (the
 * ledger's records on one host) or is shown to people. */
#ifndef RT_CLK_H
#define RT_CLK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds (a process-independent origin: shared-memory ages compare). */
int64_t clk_mono_ms(void);

/* CLOCK_MONOTONIC in microseconds, for timing a call. */
int64_t clk_mono_us(void);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t clk_wall_ms(void);

/* Sleeps MS milliseconds (<= 0: not at all), resuming after signals until the time is up. */
void clk_sleep_ms(long ms);

#endif
