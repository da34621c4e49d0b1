/* emu — the local stand-in for Google: one HTTP server on loopback, several services.
 *
 * main.c owns the server (libmicrohttpd, a thread pool), the command line, fault injection and
 * the routing: it hands each request to the services in turn until one claims it. A service is a
 * handler that returns true when the request's path is its own. Handlers run on several threads
 * at once: each service guards its own state with its own mutex.
 *
 * Memory: the request's strings belong to main.c for the call; a handler puts a malloc'd body
 * into the response, which main.c frees after sending. */
#ifndef EMU_H
#define EMU_H

#include <stdbool.h>
#include <stddef.h>

typedef struct emu_request {
    const char *method; /* "GET" */
    const char *path;   /* "/v1/projects/p/locations/l/customJobs", no query */
    const char *body;   /* NUL-terminated; "" when empty */
    size_t body_len;
    /* Header and query lookup (NULL when absent). */
    const char *(*header)(const struct emu_request *r, const char *name);
    const char *(*query)(const struct emu_request *r, const char *name);
    void *impl;
} emu_request;

#define EMU_MAX_HEADERS 4

typedef struct {
    int status;
    const char *content_type; /* static string; default application/json */
    char *body;               /* malloc'd, freed by main.c; NULL for empty */
    size_t body_len;          /* 0: strlen(body) */
    struct {
        const char *name;
        char value[128];
    } headers[EMU_MAX_HEADERS];
    int n_headers;
} emu_response;

/* A service: answers the requests whose path it owns. */
typedef bool (*emu_handler)(const emu_request *req, emu_response *resp);

/* Sets a JSON body (takes ownership of TEXT, from json_dumps). */
void emu_respond_json(emu_response *resp, int status, char *text);
/* A google.rpc.Status error body: {"error":{"code":..,"message":..,"status":..}}. */
void emu_respond_error(emu_response *resp, int status, const char *status_name,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void emu_add_header(emu_response *resp, const char *name, const char *value);

/* The base URL the emulator serves on ("http://127.0.0.1:PORT"), for links in answers. */
const char *emu_base_url(void);

#endif
