/* case_token — see case_token.h. */
#include "case_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwks.h"
#include "jwt.h"
#include "jwt_mint.h"

const char *const case_token_keys[] = {"sign",         "header", "header-text",   "claims",
                                       "payload-text", "iat",    "exp",           "pad",
                                       "mutate",       "token",  "authorization", NULL};

void case_keys_make(case_keys *k)
{
    k->ours = mint_rsa_key(2048);
    k->other = mint_rsa_key(2048);
    k->weak = mint_rsa_key(1024);
    EVP_PKEY *keys[] = {k->ours, k->weak};
    const char *kids[] = {"k1", "weak"};
    k->jwks = mint_jwks(keys, kids, 2);
}

void case_keys_free(case_keys *k)
{
    EVP_PKEY_free(k->ours);
    EVP_PKEY_free(k->other);
    EVP_PKEY_free(k->weak);
    free(k->jwks);
}

/* Members of the JSON object TEXT over OBJ (a null member removes one, or with KEEP_NULLS is
 * set as null: the emulator's mint request removes it there). -1 when TEXT is no object. */
static int apply_overrides(json_t *obj, const char *text, bool keep_nulls)
{
    json_t *over = json_loads(text, 0, NULL);
    if (!json_is_object(over)) {
        json_decref(over);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(over, key, v)
    {
        if (json_is_null(v) && !keep_nulls)
            json_object_del(obj, key);
        else
            json_object_set(obj, key, v);
    }
    json_decref(over);
    return 0;
}

/* NOW plus the relative time TEXT ("+600", "-3600", "+100.5"): a number, or NULL. */
static json_t *relative_time(const char *text, int64_t now)
{
    char *end;
    double d = strtod(text, &end);
    if (end == text || *end)
        return NULL;
    if (strchr(text, '.'))
        return json_real((double)now + d);
    return json_integer((json_int_t)(now + (int64_t)d));
}

/* The claims C asks for over a valid token's, as the emulator's issuer makes them. With
 * OVERRIDES_ONLY, only what C changes (for the emulator's mint request). */
static json_t *claims_of(const case_file *c, int64_t now, bool overrides_only, const char **bad)
{
    json_t *p = overrides_only ? json_object()
                               : json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:s}", "iss",
                                           "https://accounts.google.com", "aud", CASE_AUDIENCE,
                                           "azp", "112233445566778899001", "email", CASE_ACCOUNT,
                                           "email_verified", 1, "iat", (json_int_t)now, "exp",
                                           (json_int_t)now + 300, "sub", "112233445566778899001");
    const char *names[] = {"iat", "exp"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = case_value(c, names[i]);
        json_t *t = v ? relative_time(v, now) : NULL;
        if (v && !t) {
            *bad = "iat and exp are seconds relative to now: +N or -N";
            json_decref(p);
            return NULL;
        }
        if (t)
            json_object_set_new(p, names[i], t);
    }
    const char *over = case_value(c, "claims");
    if (over && apply_overrides(p, over, overrides_only) != 0) {
        *bad = "claims: must be a JSON object";
        json_decref(p);
        return NULL;
    }
    const char *pad = case_value(c, "pad");
    if (pad) {
        size_t n = strtoul(pad, NULL, 10);
        char *x = malloc(n + 1);
        memset(x, 'x', n);
        x[n] = '\0';
        json_object_set_new(p, "pad", json_string(x));
        free(x);
    }
    return p;
}

typedef struct {
    const char *name, *alg, *kid;
} sign_mode;

static const sign_mode modes[] = {
    {"rs256", "RS256", "k1"}, {"other-key", "RS256", "k1"},    {"small-key", "RS256", "weak"},
    {"none", "none", "k1"},   {"hs256-pubkey", "HS256", "k1"}, {"hs256-pubkey-der", "HS256", "k1"},
};

static const sign_mode *mode_of(const case_file *c)
{
    const char *sign = case_value(c, "sign");
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(modes[i].name, sign ? sign : "rs256") == 0)
            return &modes[i];
    return NULL;
}

char *case_token_mint(const case_file *c, const case_keys *k, int64_t now, const char **bad)
{
    const char *literal = case_value(c, "token");
    if (literal)
        return strdup(literal);
    const sign_mode *m = mode_of(c);
    if (!m) {
        *bad = "sign: rs256, other-key, small-key, none, hs256-pubkey or hs256-pubkey-der";
        return NULL;
    }
    char *header = NULL, *payload = NULL, *token = NULL;
    if (case_value(c, "header-text")) {
        header = strdup(case_value(c, "header-text"));
    } else {
        json_t *h = json_pack("{s:s, s:s, s:s}", "alg", m->alg, "kid", m->kid, "typ", "JWT");
        const char *over = case_value(c, "header");
        if (over && apply_overrides(h, over, false) != 0)
            *bad = "header: must be a JSON object";
        else
            header = json_dumps(h, JSON_COMPACT);
        json_decref(h);
    }
    if (case_value(c, "payload-text")) {
        payload = strdup(case_value(c, "payload-text"));
    } else {
        json_t *p = claims_of(c, now, false, bad);
        payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
    }
    if (header && payload) {
        if (strcmp(m->name, "none") == 0) {
            token = mint_token_raw(header, payload, "");
        } else if (strcmp(m->name, "hs256-pubkey") == 0) {
            char *pem = mint_public_pem(k->ours);
            token = mint_token_hs256(pem, strlen(pem), header, payload);
            free(pem);
        } else if (strcmp(m->name, "hs256-pubkey-der") == 0) {
            size_t len;
            unsigned char *der = mint_public_der(k->ours, &len);
            token = mint_token_hs256(der, len, header, payload);
            free(der);
        } else {
            EVP_PKEY *key = strcmp(m->name, "other-key") == 0   ? k->other
                            : strcmp(m->name, "small-key") == 0 ? k->weak
                                                                : k->ours;
            token = mint_token_rs256(key, header, payload);
        }
    }
    free(header);
    free(payload);
    return token;
}

json_t *case_token_mint_request(const case_file *c, int64_t now, const char **why)
{
    const sign_mode *m = mode_of(c);
    if (case_value(c, "token")) {
        *why = "a literal token";
        return NULL;
    }
    if (!m || strcmp(m->name, "hs256-pubkey-der") == 0 || case_value(c, "header-text") ||
        case_value(c, "payload-text")) {
        *why = "the emulator signs JSON objects, with its own keys";
        return NULL;
    }
    json_t *req = json_pack("{s:s}", "sign", m->name);
    json_t *claims = claims_of(c, now, true, why);
    if (!claims) {
        json_decref(req);
        return NULL;
    }
    json_object_set_new(req, "claims", claims);
    const char *over = case_value(c, "header");
    json_t *h = over ? json_loads(over, 0, NULL) : NULL; /* its nulls remove members there too */
    if (over && !json_is_object(h)) {
        *why = "header: must be a JSON object";
        json_decref(h);
        json_decref(req);
        return NULL;
    }
    if (h)
        json_object_set_new(req, "header", h);
    return req;
}

/* ---- mutations ----------------------------------------------------------------------------- */

/* The bounds of segment NAME ("header", "payload", "signature") of T: [*FROM, *TO). */
static int segment(const char *t, const char *name, size_t *from, size_t *to)
{
    const char *d1 = strchr(t, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return -1;
    size_t a = (size_t)(d1 - t), b = (size_t)(d2 - t);
    const char *d3 = strchr(d2 + 1, '.');
    size_t end = d3 ? (size_t)(d3 - t) : strlen(t);
    if (strcmp(name, "header") == 0)
        *from = 0, *to = a;
    else if (strcmp(name, "payload") == 0)
        *from = a + 1, *to = b;
    else if (strcmp(name, "signature") == 0)
        *from = b + 1, *to = end;
    else
        return -1;
    return 0;
}

/* T with [FROM, TO) replaced by WITH (malloc'd). */
static char *splice(const char *t, size_t from, size_t to, const char *with)
{
    char *out;
    if (asprintf(&out, "%.*s%s%s", (int)from, t, with, t + to) < 0)
        return NULL;
    return out;
}

static char *mutate_one(const char *t, const char *op, const char **bad)
{
    char seg[16] = "", from_text[256] = "", to_text[256] = "";
    size_t from, to, index;
    const char *sig = strrchr(t, '.');
    if (strcmp(op, "drop-signature") == 0 && sig)
        return strndup(t, (size_t)(sig - t));
    if (strcmp(op, "repeat-signature") == 0 && sig)
        return splice(t, strlen(t), strlen(t), sig);
    if (strcmp(op, "trailing-dot") == 0)
        return splice(t, strlen(t), strlen(t), ".");
    if (strcmp(op, "drop-header") == 0 && strchr(t, '.'))
        return strdup(strchr(t, '.'));
    if (sscanf(op, "pad %15s", seg) == 1 && segment(t, seg, &from, &to) == 0) {
        /* The padding standard base64 would carry ("==" where it carries none). */
        size_t n = (4 - (to - from) % 4) % 4;
        return splice(t, to, to, n == 1 ? "=" : n == 3 ? "===" : "==");
    }
    if (sscanf(op, "flip-char %15s %zu", seg, &index) == 2 && segment(t, seg, &from, &to) == 0 &&
        from + index < to) {
        char c[2] = {t[from + index] == 'A' ? 'B' : 'A', '\0'};
        return splice(t, from + index, from + index + 1, c);
    }
    if (sscanf(op, "set-char %15s %zu", seg, &index) == 2 && segment(t, seg, &from, &to) == 0 &&
        from + index < to) {
        const char *c = strrchr(op, ' ') + 1; /* one byte, "\x20" for a blank */
        char one[2] = {*c ? *c : ' ', '\0'};
        return splice(t, from + index, from + index + 1, one);
    }
    if (sscanf(op, "edit-payload %255s %255s", from_text, to_text) == 2 &&
        segment(t, "payload", &from, &to) == 0) {
        size_t len;
        unsigned char *json = jwt_b64url_decode(t + from, to - from, &len);
        char *text = json ? strndup((char *)json, len) : NULL;
        free(json);
        char *at = text ? strstr(text, from_text) : NULL;
        char *edited =
            at ? splice(text, (size_t)(at - text), (size_t)(at - text) + strlen(from_text), to_text)
               : NULL;
        char *b64 = edited ? jwt_b64url_encode(edited, strlen(edited)) : NULL;
        char *out = b64 ? splice(t, from, to, b64) : NULL;
        free(text);
        free(edited);
        free(b64);
        if (!out)
            *bad = "edit-payload: the payload does not hold that text";
        return out;
    }
    *bad = "mutate: an operation it does not know, or a token without that segment";
    return NULL;
}

char *case_token_mutate(const case_file *c, const char *token, const char **bad)
{
    char *t = strdup(token);
    for (size_t i = 0; t && i < c->n_items; i++) {
        if (strcmp(c->items[i].key, "mutate") != 0)
            continue;
        char *next = mutate_one(t, c->items[i].value, bad);
        free(t);
        t = next;
    }
    return t;
}

char *case_token_authorization(const case_file *c, const char *token)
{
    const char *tmpl = case_value(c, "authorization");
    if (!tmpl)
        tmpl = "Bearer ${token}";
    if (strcmp(tmpl, "(none)") == 0)
        return NULL;
    size_t cap = strlen(tmpl) + 1;
    for (const char *p = strstr(tmpl, "${token}"); p; p = strstr(p + 8, "${token}"))
        cap += strlen(token);
    char *out = malloc(cap), *w = out;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "${token}", 8) == 0) {
            w = stpcpy(w, token);
            p += 8;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return out;
}
