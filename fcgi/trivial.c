/* fcgi-trivial — the smallest useful FastCGI responder: answers every request with a fixed
 * 200 JSON body. It is the ceiling the benchmarks compare the service against: the same nginx,
 * TLS and FastCGI hop, with no work behind them. Usage: fcgi-trivial SOCKET_PATH [WORKERS] */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char answer[] = "Status: 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: 16\r\n\r\n{\"status\":\"ok\"}\n";

static void serve(int fd)
{
    FCGX_Request req;
    FCGX_InitRequest(&req, fd, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        char buf[4096];
        while (FCGX_GetStr(buf, sizeof buf, req.in) > 0)
            ;
        FCGX_PutStr(answer, sizeof answer - 1, req.out);
        FCGX_Finish_r(&req);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: fcgi-trivial SOCKET_PATH [WORKERS]\n");
        return 2;
    }
    int workers = argc > 2 ? atoi(argv[2]) : 2;
    if (FCGX_Init() != 0)
        return 1;
    unlink(argv[1]);
    int fd = FCGX_OpenSocket(argv[1], 1024);
    if (fd < 0 || chmod(argv[1], 0666) != 0) {
        perror("fcgi-trivial");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < workers; i++)
        if (fork() == 0) {
            serve(fd);
            _exit(0);
        }
    signal(SIGTERM, SIG_IGN); /* the group's SIGTERM reaches the children */
    while (wait(NULL) > 0)
        ;
    return 0;
}
