/* jwks — see jwks.h. The set in memory, the cache file and the lock file follow two rules, each
 * with its own clock. The regular refresh (at half of max-age, or when there is no set) is
 * attempted only when `refetch_interval_s` has passed since the last regular attempt (a failing
 * endpoint is not retried in a loop). A refetch because of an unknown kid is made only when
 * `unknown_kid_interval_s` has passed since the last such refetch. Neither clock moves the
 * other: before, one 30 s clock served unknown kids, forged and genuine alike, and a refetch
 * for a forged kid also counted as a fresh set, so a flood just before a rotation kept the new
 * key out for 30 s. With a cache file both clocks are read from the file under the lock, so
 * the bounds hold for the whole pool. */
#include "jwks.h"

#include "jwt.h"
#include "log.h"
#include "scoreboard.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a parsed key set ---------------------------------------------------------------------- */

typedef struct {
    char *kid;
    EVP_PKEY *key;
} jwks_entry;

struct jwks_keyset {
    jwks_entry *v;
    size_t n;
};

/* Builds an RSA public key from the big-endian modulus and exponent. */
static EVP_PKEY *rsa_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e,
                             size_t elen)
{
    EVP_PKEY *key = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), *bn_e = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (bn_n && bn_e && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return key;
}

static const char *member_string(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* One JWK to a key; NULL with *WHY set when it must be skipped. */
static EVP_PKEY *parse_jwk(const json_t *k, const char **why)
{
    const char *kty = member_string(k, "kty"), *kid = member_string(k, "kid");
    const char *n64 = member_string(k, "n"), *e64 = member_string(k, "e");
    const char *use = member_string(k, "use"), *alg = member_string(k, "alg");
    if (!json_is_object(k))
        return *why = "not an object", NULL;
    if (!kty || strcmp(kty, "RSA") != 0)
        return *why = "kty is not RSA", NULL;
    if (!kid || !*kid)
        return *why = "no kid", NULL;
    if ((json_object_get(k, "use") && (!use || strcmp(use, "sig") != 0)) ||
        (json_object_get(k, "alg") && (!alg || strcmp(alg, "RS256") != 0)))
        return *why = "not an RS256 signing key", NULL;
    if (!n64 || !e64)
        return *why = "no n or e", NULL;
    size_t nlen = 0, elen = 0;
    unsigned char *n = jwt_b64url_decode(n64, strlen(n64), &nlen);
    unsigned char *e = jwt_b64url_decode(e64, strlen(e64), &elen);
    EVP_PKEY *key = NULL;
    if (!n || !e || nlen == 0 || elen == 0 || elen > 8)
        *why = "n or e is not base64url";
    else if (nlen > JWKS_MAX_RSA_BITS / 8 + 1)
        *why = "modulus too large";
    else if (!(key = rsa_from_ne(n, nlen, e, elen)))
        *why = "not a valid RSA key";
    else if (EVP_PKEY_get_bits(key) < JWT_MIN_RSA_BITS ||
             EVP_PKEY_get_bits(key) > JWKS_MAX_RSA_BITS) {
        *why = "key size out of range (2048 to 8192 bits)";
        EVP_PKEY_free(key);
        key = NULL;
    }
    free(n);
    free(e);
    return key;
}

jwks_keyset *jwks_keyset_parse(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "not a JWK set: %s", root ? "no \"keys\" array" : je.text);
        json_decref(root);
        return NULL;
    }
    jwks_keyset *ks = calloc(1, sizeof *ks);
    if (ks && json_array_size(keys) && !(ks->v = calloc(json_array_size(keys), sizeof *ks->v))) {
        free(ks);
        ks = NULL;
    }
    if (!ks) {
        snprintf(err, errlen, "out of memory");
        json_decref(root);
        return NULL;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *why = NULL, *kid = member_string(k, "kid");
        EVP_PKEY *key = parse_jwk(k, &why);
        if (key && jwks_keyset_find(ks, kid)) {
            why = "repeated kid";
            EVP_PKEY_free(key);
            key = NULL;
        }
        char *kid_copy = key ? strdup(kid) : NULL;
        if (!kid_copy) {
            log_emit(LOG_WARNING, json_pack("{s:s?,s:I}", "kid", kid, "index", (json_int_t)i),
                     "jwks: key skipped: %s", why ? why : "out of memory");
            EVP_PKEY_free(key);
            continue;
        }
        ks->v[ks->n++] = (jwks_entry){kid_copy, key};
    }
    json_decref(root);
    return ks;
}

void jwks_keyset_free(jwks_keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        free(ks->v[i].kid);
        EVP_PKEY_free(ks->v[i].key);
    }
    free(ks->v);
    free(ks);
}

size_t jwks_keyset_count(const jwks_keyset *ks)
{
    return ks ? ks->n : 0;
}

EVP_PKEY *jwks_keyset_find(const jwks_keyset *ks, const char *kid)
{
    if (!ks || !kid)
        return NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->v[i].kid, kid) == 0)
            return ks->v[i].key;
    return NULL;
}

static json_t *bn_param_b64(EVP_PKEY *key, const char *name)
{
    BIGNUM *bn = NULL;
    json_t *out = NULL;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
        return NULL;
    int len = BN_num_bytes(bn);
    unsigned char *bin = malloc(len > 0 ? (size_t)len : 1);
    if (bin && BN_bn2bin(bn, bin) == len) {
        char *s = jwt_b64url_encode(bin, (size_t)len);
        out = s ? json_string(s) : NULL;
        free(s);
    }
    free(bin);
    BN_free(bn);
    return out;
}

json_t *jwks_key_to_jwk(EVP_PKEY *key, const char *kid)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || !kid)
        return NULL;
    json_t *n = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N),
           *e = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) {
        json_decref(n);
        json_decref(e);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "kty", "RSA", "alg", "RS256", "use", "sig", "kid",
                     kid, "n", n, "e", e);
}

/* Reads at most MAX bytes of PATH into a malloc'd NUL-terminated buffer. */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = malloc(max + 1);
    size_t n = p ? fread(p, 1, max + 1, f) : 0;
    int bad = !p || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(p);
        errno = n > max ? EFBIG : EIO;
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

int jwks_fetch_file(void *ctx, const char *url, jwks_body *out, char *err, size_t errlen)
{
    (void)ctx;
    size_t n;
    char *p = read_file(url, JWKS_MAX_BODY, &n);
    if (!p) {
        snprintf(err, errlen, "cannot read %s: %s", url, strerror(errno));
        return -1;
    }
    *out = (jwks_body){p, n, 86400};
    return 0;
}

/* ---- the cached, shared set ---------------------------------------------------------------- */

#define CACHE_MAGIC "retrain-jwks/2"

struct jwks {
    jwks_options o;
    char *url, *cache_path, *lock_path;
    jwks_keyset *set;
    char *body; /* the set's JSON, rewritten into the cache file */
    size_t body_len;
    int64_t fetched_at, max_age, attempted_at, kid_refetched_at;
};

const char *jwks_status_name(jwks_status s)
{
    switch (s) {
    case JWKS_OK:
        return "ok";
    case JWKS_UNKNOWN_KID:
        return "unknown_kid";
    case JWKS_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown";
}

void jwks_options_default(jwks_options *o)
{
    *o = (jwks_options){.fetch = jwks_fetch_http,
                        .refetch_interval_s = 30,
                        .unknown_kid_interval_s = 5,
                        .grace_s = 24 * 3600,
                        .default_max_age_s = 300,
                        .max_max_age_s = 24 * 3600};
}

jwks *jwks_new(const jwks_options *o)
{
    jwks *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->o = *o;
    if (!j->o.fetch)
        j->o.fetch = jwks_fetch_http;
    j->url = strdup(o->url ? o->url : "");
    j->attempted_at = j->kid_refetched_at = INT64_MIN / 2;
    if (o->cache_path) {
        j->cache_path = strdup(o->cache_path);
        if (asprintf(&j->lock_path, "%s.lock", o->cache_path) < 0)
            j->lock_path = NULL;
    }
    if (!j->url || (o->cache_path && (!j->cache_path || !j->lock_path))) {
        jwks_free(j);
        return NULL;
    }
    return j;
}

void jwks_free(jwks *j)
{
    if (!j)
        return;
    jwks_keyset_free(j->set);
    free(j->body);
    free(j->url);
    free(j->cache_path);
    free(j->lock_path);
    free(j);
}

/* Refreshed at half of max-age: see jwks.h for why that catches keys published ahead. */
static bool fresh(const jwks *j, int64_t now)
{
    return j->set && now < j->fetched_at + j->max_age / 2;
}

static bool usable(const jwks *j, int64_t now)
{
    return j->set && now < j->fetched_at + j->max_age + j->o.grace_s;
}

/* KID: the attempt is for an unknown kid (NULL: a stale or missing set). */
static bool may_attempt(const jwks *j, const char *kid, int64_t now)
{
    if (kid)
        return now - j->kid_refetched_at >= j->o.unknown_kid_interval_s;
    return now - j->attempted_at >= j->o.refetch_interval_s;
}

/* Makes BODY (taken) the current set when it parses to at least one key; else frees it. */
static int adopt(jwks *j, char *body, size_t len, int64_t fetched_at, int64_t max_age)
{
    char err[256];
    jwks_keyset *ks = jwks_keyset_parse(body, len, err, sizeof err);
    if (!ks || jwks_keyset_count(ks) == 0) {
        jwks_keyset_free(ks);
        free(body);
        return -1;
    }
    jwks_keyset_free(j->set);
    free(j->body);
    j->set = ks;
    j->body = body;
    j->body_len = len;
    j->fetched_at = fetched_at;
    j->max_age = max_age;
    scoreboard_jwks_in_use(fetched_at, (int)jwks_keyset_count(ks));
    return 0;
}

/* Reads the shared file: adopts its set when newer than ours, and learns its last attempt. */
static void cache_read(jwks *j)
{
    size_t n;
    char *text = read_file(j->cache_path, JWKS_MAX_BODY + 256, &n);
    if (!text)
        return;
    int64_t fetched_at, max_age, attempted_at, kid_refetched_at;
    int off = 0;
    if (sscanf(text, CACHE_MAGIC " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 "\n%n",
               &fetched_at, &max_age, &attempted_at, &kid_refetched_at, &off) != 4 ||
        off == 0 || max_age < 0) {
        log_warning("jwks: ignoring unreadable cache file %s", j->cache_path);
        free(text);
        return;
    }
    if (attempted_at > j->attempted_at)
        j->attempted_at = attempted_at;
    if (kid_refetched_at > j->kid_refetched_at)
        j->kid_refetched_at = kid_refetched_at;
    if ((j->set && fetched_at <= j->fetched_at) || (size_t)off >= n) {
        free(text);
        return;
    }
    size_t len = n - (size_t)off;
    char *body = malloc(len + 1);
    if (body) {
        memcpy(body, text + off, len);
        body[len] = '\0';
        adopt(j, body, len, fetched_at, max_age);
    }
    free(text);
}

/* Replaces the shared file atomically: a reader sees the old file or the new, never a part. */
static void cache_write(jwks *j)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld", j->cache_path, (long)getpid()) < 0)
        return;
    FILE *f = fopen(tmp, "wb");
    int ok = f && fprintf(f, CACHE_MAGIC " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                          j->set ? j->fetched_at : 0, j->set ? j->max_age : 0, j->attempted_at,
                          j->kid_refetched_at) > 0;
    if (ok && j->body_len)
        ok = fwrite(j->body, 1, j->body_len, f) == j->body_len;
    if (f) {
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok || rename(tmp, j->cache_path) != 0) {
        log_error("jwks: cannot write cache file %s: %s", j->cache_path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

/* One fetch attempt: the new set on success; on failure the old set stays (grace). */
static void fetch_now(jwks *j, const char *kid, int64_t now)
{
    jwks_body b = {NULL, 0, -1};
    char err[256] = "";
    if (kid)
        j->kid_refetched_at = now;
    else
        j->attempted_at = now;
    if (j->o.fetch(j->o.fetch_ctx, j->url, &b, err, sizeof err) == 0) {
        int64_t max_age = b.max_age_s < 0 ? j->o.default_max_age_s : b.max_age_s;
        if (max_age > j->o.max_max_age_s)
            max_age = j->o.max_max_age_s;
        if (adopt(j, b.body, b.len, now, max_age) == 0) {
            scoreboard_count_jwks_refresh(true);
            log_emit(LOG_INFO,
                     json_pack("{s:s,s:I,s:I}", "jwks_url", j->url, "keys",
                               (json_int_t)jwks_keyset_count(j->set), "max_age_s",
                               (json_int_t)max_age),
                     "jwks: key set fetched");
            return;
        }
        snprintf(err, sizeof err, "the response holds no usable key");
    }
    scoreboard_count_jwks_refresh(false);
    json_t *f = json_pack("{s:s,s:s}", "jwks_url", j->url, "error", err);
    if (usable(j, now))
        log_emit(LOG_ERROR, f, "jwks: fetch failed; serving cached keys until %" PRId64,
                 j->fetched_at + j->max_age + j->o.grace_s);
    else
        log_emit(LOG_ERROR, f, "jwks: fetch failed; no usable key set");
}

/* Refreshes the set when allowed. KID: refreshing because of an unknown kid (NULL: stale). */
static void refresh(jwks *j, const char *kid, int64_t now)
{
    if (!may_attempt(j, kid, now))
        return;
    int lock = -1;
    if (j->cache_path) {
        lock = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock < 0 || flock(lock, LOCK_EX) != 0)
            log_error("jwks: cannot lock %s: %s", j->lock_path, strerror(errno));
        cache_read(j); /* another worker may have fetched while we waited */
        if ((!kid || jwks_keyset_find(j->set, kid)) && fresh(j, now))
            goto out;
        if (!may_attempt(j, kid, now))
            goto out;
    }
    fetch_now(j, kid, now);
    if (j->cache_path)
        cache_write(j);
out:
    if (lock >= 0)
        close(lock); /* releases the flock */
}

/* Drops a set past its grace period, so that the caller answers "unavailable". */
static void expire(jwks *j, int64_t now)
{
    if (j->set && !usable(j, now)) {
        log_error("jwks: cached keys expired past the grace period; no usable key set");
        jwks_keyset_free(j->set);
        free(j->body);
        j->set = NULL;
        j->body = NULL;
        j->body_len = 0;
    }
}

jwks_status jwks_key_for_kid(jwks *j, const char *kid, int64_t now, EVP_PKEY **key)
{
    *key = NULL;
    if (!fresh(j, now))
        refresh(j, NULL, now);
    expire(j, now);
    if (!j->set)
        return JWKS_UNAVAILABLE;
    if (!kid)
        return JWKS_UNKNOWN_KID;
    if (!(*key = jwks_keyset_find(j->set, kid))) {
        refresh(j, kid, now);
        expire(j, now);
        if (!j->set)
            return JWKS_UNAVAILABLE;
        *key = jwks_keyset_find(j->set, kid);
    }
    return *key ? JWKS_OK : JWKS_UNKNOWN_KID;
}

bool jwks_ready(jwks *j, int64_t now)
{
    if (!usable(j, now))
        refresh(j, NULL, now);
    expire(j, now);
    return j->set != NULL;
}
