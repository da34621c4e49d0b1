/* builtins — see builtins.h. */
#include "builtins.h"

#include "echo.h"
#include "function.h"
#include "retrain.h"

void builtins_register(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    fn_register(&echo_function);
    fn_register(&retrain_function);
}
