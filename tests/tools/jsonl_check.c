/* jsonl-check — is every line of these files one strict JSON object (RFC 8259)? For the tests:
 * a log a log pipeline cannot read is a bug.
 *
 *   jsonl-check [--quiet] FILE...      ("-" reads standard input)
 *
 * Each line (LF-terminated; a CR before the LF and no LF after the last line are allowed) must
 * be one JSON object and nothing else, parsed by jansson with nothing relaxed: valid UTF-8 only
 * (no overlong forms, no surrogates, in the raw bytes and in \u escapes alike), no raw control
 * character inside a string, no NUL anywhere (raw or \u0000), numbers as the grammar writes
 * them (so not 000, 01 or .5), no trailing text, and no key twice in one object (RFC 8259 only
 * says names SHOULD be unique, but readers then disagree about which value wins). An empty
 * line is an error too. Integers beyond 64 bits are refused (jansson cannot hold them); no log
 * of ours writes any.
 *
 * Exit 0 when every line of every file passes (a summary per file on stdout unless --quiet);
 * 1 at the first bad line, printed on stderr as "FILE:LINE: column C: what" with the line's
 * first bytes shown escaped; 2 for a usage error or a file that cannot be read. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first bytes of LINE, printable: anything else as \xHH. */
static void show(const char *line, size_t len)
{
    size_t n = len < 160 ? len : 160;
    fputs("  line: ", stderr);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputs(n < len ? "...\n" : "\n", stderr);
}

/* 0: every line of F (named NAME) passes; 1: a bad line, reported. */
static int check(FILE *f, const char *name, bool quiet)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        json_error_t e;
        /* json_loadb, not json_loads: a NUL byte must not end the line early. */
        json_t *v = len ? json_loadb(line, len, JSON_REJECT_DUPLICATES, &e) : NULL;
        const char *what = !len ? "an empty line" : !v ? e.text : NULL;
        int column = v ? 1 : len ? e.column : 0;
        if (!what && !json_is_object(v))
            what = "not a JSON object";
        json_decref(v);
        if (what) {
            fprintf(stderr, "%s:%ld: column %d: %s\n", name, lineno, column, what);
            show(line, len);
            rc = 1;
            break;
        }
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", name, strerror(errno));
        rc = 2;
    }
    if (!rc && !quiet)
        printf("%s: %ld lines, all strict JSON objects\n", name, lineno);
    free(line);
    return rc;
}

int main(int argc, char **argv)
{
    bool quiet = false;
    int i = 1;
    if (i < argc && strcmp(argv[i], "--quiet") == 0) {
        quiet = true;
        i++;
    }
    if (i >= argc || (argv[i][0] == '-' && argv[i][1] != '\0')) {
        fprintf(stderr, "usage: jsonl-check [--quiet] FILE...   (\"-\": standard input)\n");
        return 2;
    }
    for (; i < argc; i++) {
        bool std_in = strcmp(argv[i], "-") == 0;
        FILE *f = std_in ? stdin : fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        int rc = check(f, std_in ? "(stdin)" : argv[i], quiet);
        if (!std_in)
            fclose(f);
        if (rc)
            return rc;
    }
    return 0;
}
