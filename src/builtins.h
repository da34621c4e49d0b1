/* builtins — the functions this project ships (echo, retrain), registered by the binaries
 * (retrain-fcgi, retrainctl) and the tests before they look one up. The framework (function.c)
 * names none of them: a new function is a file and a line here. */
#ifndef RT_BUILTINS_H
#define RT_BUILTINS_H

/* Registers echo and retrain; a second call does nothing. */
void builtins_register(void);

#endif
