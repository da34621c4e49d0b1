/* echo — the built-in function that answers an event's attributes and data (see echo.c). */
#ifndef RT_ECHO_H
#define RT_ECHO_H

#include "function.h"

extern const fn_def echo_function;

#endif
