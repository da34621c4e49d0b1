/* fdpass — a FastCGI connection handed from the master to a worker.
 *
 * Each worker has a channel to the master: a SOCK_SEQPACKET socketpair, one message per
 * connection, carrying the connection's entry in the table (conntab.h), the entry's
 * generation, whether the master reserved the worker for it, and the descriptor itself
 * (SCM_RIGHTS: the worker receives its own copy; the master keeps its). The master sends
 * without blocking; the worker reads without blocking. */
#ifndef POOL_FDPASS_H
#define POOL_FDPASS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t id;       /* the connection's entry in the table */
    uint32_t gen;      /* the entry's generation when it was sent */
    uint32_t reserved; /* 1: the master reserved the worker (CLAIM_RESERVED) for it */
} fdpass_msg;

/* Sends M and a copy of FD over CHAN. 0, or -1 with errno (EAGAIN: the channel is full). */
int fdpass_send(int chan, const fdpass_msg *m, int fd);

/* Takes one message from CHAN: 1 with *M and *FD (the caller's copy, close-on-exec) filled
 * in, 0 when none is waiting, -1 when the channel is closed or broken (the master is gone). */
int fdpass_recv(int chan, fdpass_msg *m, int *fd);

#endif
