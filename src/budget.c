/* budget — see budget.h. */
#include "budget.h"

#include "ledger_backend.h"

ledger_status budget_take(ledger *l, const char *name, int per_minute, bool *granted)
{
    *granted = false;
    if (!name || !*name || per_minute <= 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "budget: a budget needs a name and a rate");
    double burst = per_minute / 12 > 1 ? per_minute / 12 : 1;
    return l->ops->budget_take(l, name, burst, per_minute / 60000.0, granted);
}

int budget_wait_ms(int per_minute)
{
    int ms = per_minute > 0 ? 60000 / per_minute : 1000;
    return ms < 10 ? 10 : ms;
}
