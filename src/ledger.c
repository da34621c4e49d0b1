/* ledger — the public contract over two backends (see ledger.h and ledger_backend.h).
 *
 * The claim protocol lives here so both backends share it: a plain read first, because most
 * duplicate deliveries hit a finished record and a read costs no synchronous write (on SQLite,
 * whose clock is ours, a live lease seen by that read is BUSY at once as well); then one atomic
 * upsert that either inserts the record or takes over an expired lease (the store's own clock
 * decides expiry, so hosts agree); then, when the upsert took nothing, a read to tell a live
 * lease (BUSY) from a record that became final meanwhile (DONE). A record deleted by gc between
 * two steps sends the protocol round again. */
#include "ledger_backend.h"

#include "clk.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_ROUNDS 4

void ledger_key(const char *source, const char *id, char out[LEDGER_KEY_HEX + 1])
{
    /* Each part is prefixed with its length (8 bytes, big-endian) so no two (source, id) pairs
     * hash the same input. */
    const char *parts[2] = {source ? source : "", id ? id : ""};
    unsigned char digest[32];
    crypto_generichash_state st;
    if (sodium_init() < 0)
        abort();
    crypto_generichash_init(&st, NULL, 0, sizeof digest);
    for (int i = 0; i < 2; i++) {
        uint64_t n = strlen(parts[i]);
        unsigned char len[8];
        for (int b = 0; b < 8; b++)
            len[b] = (unsigned char)(n >> (56 - 8 * b));
        crypto_generichash_update(&st, len, sizeof len);
        crypto_generichash_update(&st, (const unsigned char *)parts[i], n);
    }
    crypto_generichash_final(&st, digest, sizeof digest);
    sodium_bin2hex(out, LEDGER_KEY_HEX + 1, digest, sizeof digest);
}

static bool key_valid(const char *key)
{
    if (!key || strlen(key) != LEDGER_KEY_HEX)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool ledger_status_replayable(const char *status)
{
    return status && (strcmp(status, "failed") == 0 || strcmp(status, "expired") == 0);
}

bool ledger_status_is_final(const char *status)
{
    static const char *const final[] = {"done", "failed", "coalesced", "ignored", "expired"};
    for (size_t i = 0; status && i < sizeof final / sizeof final[0]; i++)
        if (strcmp(status, final[i]) == 0)
            return true;
    return false;
}

static bool status_valid(const char *status)
{
    return status && (strcmp(status, "claimed") == 0 || ledger_status_is_final(status));
}

int64_t ledger_now_ms(void)
{
    return clk_wall_ms();
}

ledger_status ledger_fail(ledger *l, ledger_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    return status;
}

int ledger_col_dup(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int ledger_record_fill(ledger_record *rec, const char *const cols[LEDGER_NCOLUMNS])
{
    memset(rec, 0, sizeof *rec);
    snprintf(rec->key, sizeof rec->key, "%s", cols[0] ? cols[0] : "");
    snprintf(rec->status, sizeof rec->status, "%s", cols[6] ? cols[6] : "");
    rec->first_seen_ms = cols[7] ? strtoll(cols[7], NULL, 10) : 0;
    rec->last_seen_ms = cols[8] ? strtoll(cols[8], NULL, 10) : 0;
    rec->lease_until_ms = cols[9] ? strtoll(cols[9], NULL, 10) : 0;
    rec->attempts = cols[10] ? (int)strtol(cols[10], NULL, 10) : 0;
    if (ledger_col_dup(&rec->source, cols[1]) || ledger_col_dup(&rec->id, cols[2]) ||
        ledger_col_dup(&rec->type, cols[3]) || ledger_col_dup(&rec->subject, cols[4]) ||
        ledger_col_dup(&rec->event_time, cols[5]) || ledger_col_dup(&rec->last_error, cols[11]) ||
        ledger_col_dup(&rec->outcome, cols[12]) || ledger_col_dup(&rec->event_json, cols[13]) ||
        ledger_col_dup(&rec->run_id, cols[14])) {
        ledger_record_clear(rec);
        return -1;
    }
    return 0;
}

void ledger_record_clear(ledger_record *rec)
{
    if (!rec)
        return;
    free(rec->source);
    free(rec->id);
    free(rec->type);
    free(rec->subject);
    free(rec->event_time);
    free(rec->last_error);
    free(rec->outcome);
    free(rec->event_json);
    free(rec->run_id);
    memset(rec, 0, sizeof *rec);
}

static ledger_status open_url(const char *url, bool create, ledger **out, char err[LEDGER_ERR_MAX])
{
    *out = NULL;
    err[0] = '\0';
    if (!url || !*url) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: no URL given");
        return LEDGER_ERR_INVALID;
    }
    ledger *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: out of memory");
        return LEDGER_ERR_UNAVAILABLE;
    }
    ledger_status st;
    if (strncmp(url, "sqlite://", 9) == 0) {
        st = ledger_sqlite_open(l, url, create, err);
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        st = ledger_pg_open(l, url, err);
    } else {
        /* The URL may carry a password: name only what the scheme is not. */
        snprintf(err, LEDGER_ERR_MAX, "ledger: URL must start with sqlite:// or postgres://");
        st = LEDGER_ERR_INVALID;
    }
    if (st != LEDGER_OK) {
        free(l);
        return st;
    }
    *out = l;
    return LEDGER_OK;
}

ledger_status ledger_open(const char *url, ledger **out, char err[LEDGER_ERR_MAX])
{
    return open_url(url, false, out, err);
}

ledger_status ledger_create(const char *url, ledger **out, char err[LEDGER_ERR_MAX])
{
    return open_url(url, true, out, err);
}

void ledger_close(ledger *l)
{
    if (!l)
        return;
    l->ops->close(l);
    free(l);
}

bool ledger_lost(const ledger *l)
{
    return (l && l->lost) || ledger_sqlite_faulted();
}

static void hand_over(ledger_record *cur, ledger_record *rec)
{
    if (rec)
        *rec = *cur;
    else
        ledger_record_clear(cur);
    memset(cur, 0, sizeof *cur);
}

ledger_status ledger_claim(ledger *l, const char *key, const ledger_event *ev, int lease_s,
                           ledger_claim_result *result, ledger_record *rec)
{
    if (rec)
        memset(rec, 0, sizeof *rec);
    if (!key_valid(key) || !ev || !ev->source || !ev->id || lease_s <= 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: claim needs a key, source, id, lease");
    ledger_record cur = {0};
    for (int round = 0; round < CLAIM_ROUNDS; round++) {
        ledger_status st = l->ops->get(l, key, &cur);
        if (st == LEDGER_OK && ledger_status_is_final(cur.status)) {
            if (ledger_now_ms() - cur.last_seen_ms > LEDGER_TOUCH_MS &&
                l->ops->touch(l, key) != LEDGER_OK) {
                ledger_record_clear(&cur);
                return LEDGER_ERR_UNAVAILABLE;
            }
            *result = LEDGER_DONE;
            hand_over(&cur, rec);
            return LEDGER_OK;
        }
        if (st == LEDGER_OK && l->ops->local_clock && cur.lease_until_ms > ledger_now_ms()) {
            *result = LEDGER_BUSY;
            hand_over(&cur, rec);
            return LEDGER_OK;
        }
        ledger_record_clear(&cur);
        if (st != LEDGER_OK && st != LEDGER_ERR_NOT_FOUND)
            return st;

        bool taken = false;
        ledger_event with_json = *ev;
        char *made = NULL;
        if (!ev->event_json && ev->event_json_fn)
            with_json.event_json = made = ev->event_json_fn(ev->event_json_arg);
        st = l->ops->upsert(l, key, &with_json, lease_s, &cur, &taken);
        free(made);
        if (st != LEDGER_OK)
            return st;
        if (taken) {
            *result = cur.attempts == 1 ? LEDGER_NEW : LEDGER_RECLAIMED;
            hand_over(&cur, rec);
            return LEDGER_OK;
        }
        st = l->ops->get(l, key, &cur);
        if (st == LEDGER_ERR_NOT_FOUND)
            continue;
        if (st != LEDGER_OK)
            return st;
        *result = ledger_status_is_final(cur.status) ? LEDGER_DONE : LEDGER_BUSY;
        hand_over(&cur, rec);
        return LEDGER_OK;
    }
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: claim did not settle, retry");
}

/* A conditional update that changed nothing: say whether the record is missing or merely in
 * another status. */
static ledger_status explain_miss(ledger *l, const ledger_hold *h, ledger_status st,
                                  const char *what)
{
    if (st != LEDGER_ERR_STATE)
        return st;
    ledger_record cur;
    ledger_status got = l->ops->get(l, h->key, &cur);
    if (got == LEDGER_ERR_NOT_FOUND)
        return ledger_fail(l, LEDGER_ERR_NOT_FOUND, "ledger: %s: no record %s", what, h->key);
    if (got != LEDGER_OK)
        return got;
    if (h->attempt > 0 && strcmp(cur.status, "claimed") == 0 && cur.attempts != h->attempt)
        ledger_fail(l, LEDGER_ERR_STATE,
                    "ledger: %s: record %s was taken over (attempt %d, not %d)", what, h->key,
                    cur.attempts, h->attempt);
    else
        ledger_fail(l, LEDGER_ERR_STATE, "ledger: %s: record %s is %s", what, h->key, cur.status);
    ledger_record_clear(&cur);
    return LEDGER_ERR_STATE;
}

ledger_hold ledger_hold_of(const ledger_record *rec)
{
    ledger_hold h = {.attempt = rec->attempts};
    memcpy(h.key, rec->key, sizeof h.key);
    return h;
}

static bool hold_valid(const ledger_hold *h)
{
    return h && key_valid(h->key) && h->attempt > 0;
}

ledger_status ledger_finish(ledger *l, const ledger_hold *hold, const char *status,
                            const char *outcome, const char *error)
{
    if (!hold_valid(hold) || !ledger_status_is_final(status))
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "ledger: finish needs a hold and done, failed, coalesced or ignored");
    return explain_miss(l, hold, l->ops->finish(l, hold, status, outcome, error), "finish");
}

ledger_status ledger_release(ledger *l, const ledger_hold *hold, const char *error)
{
    if (!hold_valid(hold))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: release needs a hold");
    return explain_miss(l, hold, l->ops->release(l, hold, error), "release");
}

ledger_status ledger_renew(ledger *l, ledger_hold *hold, int lease_s)
{
    if (!hold_valid(hold) || lease_s <= 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: renew needs a hold and a lease");
    int64_t before = clk_mono_ms();
    ledger_status st = explain_miss(l, hold, l->ops->renew(l, hold, lease_s), "renew");
    hold->until_ms = st == LEDGER_OK ? before + (int64_t)lease_s * 1000 : 0;
    return st;
}

ledger_status ledger_reopen(ledger *l, const char *key, int lease_s, ledger_hold *hold)
{
    if (!key_valid(key) || lease_s <= 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: reopen needs a key and a lease");
    ledger_hold h = {.attempt = 0};
    memcpy(h.key, key, sizeof h.key);
    int64_t before = clk_mono_ms();
    ledger_status st = explain_miss(l, &h, l->ops->reopen(l, key, lease_s), "reopen");
    if (st != LEDGER_OK || !hold)
        return st;
    /* The lease just taken is live: no other claim can change attempts before we read it. */
    ledger_record rec;
    if ((st = l->ops->get(l, key, &rec)) != LEDGER_OK)
        return st;
    *hold = ledger_hold_of(&rec);
    hold->until_ms = before + (int64_t)lease_s * 1000;
    ledger_record_clear(&rec);
    return LEDGER_OK;
}

ledger_status ledger_get(ledger *l, const char *key, ledger_record *rec)
{
    memset(rec, 0, sizeof *rec);
    if (!key_valid(key))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: not a ledger key");
    return l->ops->get(l, key, rec);
}

ledger_status ledger_count_status(ledger *l, const char *status, int64_t *n)
{
    *n = 0;
    if (!status || !status_valid(status))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: no such status to count");
    return l->ops->count_status(l, status, n);
}

ledger_status ledger_list(ledger *l, const ledger_query *q, ledger_record *recs, size_t cap,
                          size_t *n)
{
    *n = 0;
    if (!q || (q->status && !status_valid(q->status)) || (q->after_key && !key_valid(q->after_key)))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: bad query (status or after_key)");
    if (cap == 0)
        return LEDGER_OK;
    ledger_query full = *q;
    if (full.limit <= 0)
        full.limit = 100;
    if ((size_t)full.limit > cap)
        full.limit = (int)(cap > 100000 ? 100000 : cap);
    return l->ops->list(l, &full, recs, cap, n);
}

ledger_status ledger_gc(ledger *l, int64_t older_than_s, int64_t *removed)
{
    *removed = 0;
    if (older_than_s < 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: gc age must not be negative");
    return l->ops->gc(l, older_than_s, removed);
}

ledger_status ledger_ping(ledger *l)
{
    return l->ops->ping(l);
}

/* ---- rule slots ---------------------------------------------------------------------------- */

static bool rule_valid(const char *rule)
{
    return rule && *rule && strlen(rule) <= LEDGER_SLOT_RULE_MAX;
}

int ledger_slot_fill(ledger_slot *slot, const char *const cols[4])
{
    memset(slot, 0, sizeof *slot);
    snprintf(slot->event_key, sizeof slot->event_key, "%s", cols[0] ? cols[0] : "");
    slot->submitted_ms = cols[2] ? strtoll(cols[2], NULL, 10) : 0;
    slot->age_ms = cols[3] ? strtoll(cols[3], NULL, 10) : 0;
    return ledger_col_dup(&slot->resource, cols[1]);
}

void ledger_slot_clear(ledger_slot *slot)
{
    if (!slot)
        return;
    free(slot->resource);
    memset(slot, 0, sizeof *slot);
}

static void slot_cleanup(void *p)
{
    ledger_slot_clear(p);
}

ledger_slot *ledger_slot_in(arena *a)
{
    return arena_zalloc_owned(a, sizeof(ledger_slot), slot_cleanup);
}

/* The same protocol as the claim: one atomic upsert decides; when it took nothing, a read tells
 * who holds the slot. A slot freed between the two sends the protocol round again. */
ledger_status ledger_rule_slot(ledger *l, const char *rule, int min_interval_s,
                               const char *event_key, const char *replace,
                               ledger_slot_result *result, ledger_slot *slot)
{
    if (slot)
        memset(slot, 0, sizeof *slot);
    if (!rule_valid(rule) || !key_valid(event_key) || min_interval_s < 0 ||
        (replace && !key_valid(replace)))
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "ledger: rule slot needs a rule name, an event key and an interval");
    ledger_slot cur = {0};
    for (int round = 0; round < CLAIM_ROUNDS; round++) {
        bool taken = false;
        ledger_status st =
            l->ops->slot_take(l, rule, min_interval_s, event_key, replace, &cur, &taken);
        if (st != LEDGER_OK)
            return st;
        if (!taken && (st = l->ops->slot_get(l, rule, &cur)) == LEDGER_ERR_NOT_FOUND)
            continue;
        if (st != LEDGER_OK)
            return st;
        *result = taken ? LEDGER_SLOT_TAKEN : LEDGER_SLOT_HELD;
        if (slot)
            *slot = cur;
        else
            ledger_slot_clear(&cur);
        return LEDGER_OK;
    }
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: rule slot did not settle, retry");
}

ledger_status ledger_rule_slot_set_resource(ledger *l, const char *rule, const char *event_key,
                                            const char *resource)
{
    if (!rule_valid(rule) || !key_valid(event_key) || !resource || !*resource)
        return ledger_fail(l, LEDGER_ERR_INVALID,
                           "ledger: slot resource needs a rule, an event key and a resource");
    ledger_status st = l->ops->slot_set_resource(l, rule, event_key, resource);
    if (st != LEDGER_ERR_STATE)
        return st;
    ledger_slot cur;
    st = l->ops->slot_get(l, rule, &cur);
    if (st == LEDGER_ERR_NOT_FOUND)
        return ledger_fail(l, LEDGER_ERR_NOT_FOUND, "ledger: the slot of %.64s is free", rule);
    if (st != LEDGER_OK)
        return st;
    ledger_fail(l, LEDGER_ERR_STATE, "ledger: the slot of %.64s is held by %s", rule,
                cur.event_key);
    ledger_slot_clear(&cur);
    return LEDGER_ERR_STATE;
}

ledger_status ledger_rule_slot_free(ledger *l, const char *rule, const char *event_key)
{
    if (!rule_valid(rule) || !key_valid(event_key))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: slot free needs a rule and a key");
    return l->ops->slot_free(l, rule, event_key);
}

ledger_status ledger_rule_slot_get(ledger *l, const char *rule, ledger_slot *slot)
{
    memset(slot, 0, sizeof *slot);
    if (!rule_valid(rule))
        return ledger_fail(l, LEDGER_ERR_INVALID, "ledger: not a rule name");
    return l->ops->slot_get(l, rule, slot);
}

const char *ledger_slot_result_name(ledger_slot_result r)
{
    return r == LEDGER_SLOT_TAKEN ? "taken" : r == LEDGER_SLOT_HELD ? "held" : "unknown";
}

const char *ledger_last_error(const ledger *l)
{
    return l ? l->err : "";
}

const char *ledger_claim_result_name(ledger_claim_result r)
{
    switch (r) {
    case LEDGER_NEW:
        return "new";
    case LEDGER_DONE:
        return "done";
    case LEDGER_BUSY:
        return "busy";
    case LEDGER_RECLAIMED:
        return "reclaimed";
    }
    return "unknown";
}

const char *ledger_status_name(ledger_status s)
{
    switch (s) {
    case LEDGER_OK:
        return "ok";
    case LEDGER_ERR_UNAVAILABLE:
        return "unavailable";
    case LEDGER_ERR_NOT_FOUND:
        return "not found";
    case LEDGER_ERR_STATE:
        return "wrong state";
    case LEDGER_ERR_INVALID:
        return "invalid";
    }
    return "unknown";
}
