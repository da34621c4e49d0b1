/* mint — `gcp-emulator mint`: asks a running emulator's OIDC issuer for a token and prints it.
 *
 * A thin client over POST /emulator/oidc/mint, so shell tests get a token in one line:
 *   gcp-emulator mint --url http://127.0.0.1:N [--claims JSON] [--header JSON] [--sign MODE]
 *                     [--ttl S]
 * Exit 0 with the token on stdout; 1 when the emulator refuses; 2 for usage errors. */
#include "emu.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len;
} mint_buf;

static size_t on_data(char *data, size_t size, size_t n, void *userp)
{
    mint_buf *b = userp;
    size_t add = size * n;
    if (b->len + add > 1024 * 1024)
        return 0;
    char *nb = realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, data, add);
    b->buf = nb;
    b->len += add;
    b->buf[b->len] = '\0';
    return add;
}

static json_t *parse_object_arg(const char *what, const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!json_is_object(v)) {
        fprintf(stderr, "gcp-emulator mint: --%s is not a JSON object\n", what);
        json_decref(v);
        return NULL;
    }
    return v;
}

static int build_request(int argc, char **argv, const char **url, json_t *req)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},    {"claims", required_argument, NULL, 'c'},
        {"header", required_argument, NULL, 'H'}, {"sign", required_argument, NULL, 's'},
        {"ttl", required_argument, NULL, 't'},    {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        json_t *v;
        switch (ch) {
        case 'u':
            *url = optarg;
            break;
        case 'c':
        case 'H':
            if (!(v = parse_object_arg(ch == 'c' ? "claims" : "header", optarg)))
                return -1;
            json_object_set_new(req, ch == 'c' ? "claims" : "header", v);
            break;
        case 's':
            json_object_set_new(req, "sign", json_string(optarg));
            break;
        case 't':
            json_object_set_new(req, "ttl_s", json_integer(strtoll(optarg, NULL, 10)));
            break;
        default:
            return -1;
        }
    }
    return *url && optind == argc ? 0 : -1;
}

int emu_mint_cli(int argc, char **argv)
{
    const char *url = NULL;
    json_t *req = json_object();
    if (build_request(argc, argv, &url, req) != 0) {
        fputs("usage: gcp-emulator mint --url http://127.0.0.1:N [--claims JSON] [--header JSON]"
              " [--sign MODE] [--ttl S]\n",
              stderr);
        json_decref(req);
        return 2;
    }
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char endpoint[512];
    snprintf(endpoint, sizeof endpoint, "%s/emulator/oidc/mint", url);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    mint_buf out = {0};
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (curl && body) {
        curl_easy_setopt(curl, CURLOPT_URL, endpoint);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
        rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    int exit_code = 1;
    json_t *answer = out.buf ? json_loads(out.buf, 0, NULL) : NULL;
    const json_t *token = json_object_get(answer, "token");
    if (rc != CURLE_OK)
        fprintf(stderr, "gcp-emulator mint: %s\n", curl_easy_strerror(rc));
    else if (status != 200 || !json_is_string(token))
        fprintf(stderr, "gcp-emulator mint: HTTP %ld %s\n", status, out.buf ? out.buf : "");
    else {
        printf("%s\n", json_string_value(token));
        exit_code = 0;
    }
    json_decref(answer);
    free(out.buf);
    free(body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return exit_code;
}
