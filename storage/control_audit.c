/*
 * The audit log in the control store: append-only, each entry chained to
 * the one before by SHA-256, so an edit anywhere shows up as the first entry
 * whose hash no longer holds.
 *
 * Key: sequence number (u64 big-endian). Value (little-endian): the head
 * below, then actor, subject and detail bytes, then the previous entry's
 * hash and this entry's hash (32 bytes each). The hash is SHA-256 over the
 * previous hash, then the value's bytes up to (not including) the two hashes
 * with the sequence number prepended (u64 little-endian), so moving an entry
 * to another key breaks it too.
 *
 * The meta record `audit_head` (u64 sequence, 32-byte hash) is rewritten
 * with every append in the same transaction: cutting entries off the end is
 * then visible as a head with no entry behind it. (Someone able to rewrite
 * the head as well can truncate undetected; publishing the head elsewhere,
 * for instance in each day's report, closes that.)
 */
#include "control_int.h"
#include "sidik/common.h"

#include <openssl/evp.h>
#include <string.h>

#define AUDIT_VERSION 1u

typedef struct audit_head {
    uint8_t version; /* AUDIT_VERSION */
    uint8_t kind;
    uint8_t actor_len;
    uint8_t subject_len;
    uint16_t detail_len;
    uint16_t reserved;
    int64_t time_ms;
} audit_head;
_Static_assert(sizeof(audit_head) == 16, "audit head is 16 bytes on disk");

typedef struct head_record {
    uint64_t seq;
    uint8_t hash[32];
} head_record;
_Static_assert(sizeof(head_record) == 40, "audit_head meta record is 40 bytes");

#define VALUE_MAX (sizeof(audit_head) + 2 * SIDIK_AUDIT_TEXT_MAX + SIDIK_AUDIT_DETAIL_MAX + 64)

static bool text_ok(const char *s, size_t max, size_t *len)
{
    *len = strnlen(s, max + 1);
    if (*len > max)
        return false;
    for (size_t i = 0; i < *len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* SHA-256(prev || seq || body[0..n)). */
static int chain_hash(const uint8_t prev[32], uint64_t seq, const uint8_t *body, size_t n,
                      uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, prev, 32) == 1 && EVP_DigestUpdate(md, &seq, sizeof seq) == 1 &&
             EVP_DigestUpdate(md, body, n) == 1 && EVP_DigestFinal_ex(md, out, &len) == 1;
    EVP_MD_CTX_free(md);
    return ok && len == 32 ? 0 : SIDIK_ENOMEM;
}

static int read_head(MDB_txn *txn, MDB_dbi meta, head_record *h)
{
    MDB_val k = {10, "audit_head"}, v;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        memset(h, 0, sizeof *h);
        return 0;
    }
    if (rc != 0)
        return sidik_lmdb_err(rc);
    if (v.mv_size != sizeof *h)
        return SIDIK_ECORRUPT;
    memcpy(h, v.mv_data, sizeof *h);
    return 0;
}

/* The transaction, the databases and the head record, as every operation
 * on the chain starts. */
typedef struct chain {
    MDB_txn *txn;
    bool write;
    MDB_dbi audit, meta;
    head_record head;
} chain;

static int chain_open(sidik_control_txn *t, chain *ch)
{
    ch->txn = sidik__control_txn(t, &ch->write);
    sidik__control_audit_dbis(t, &ch->audit, &ch->meta);
    return read_head(ch->txn, ch->meta, &ch->head);
}

/* A key's sequence number; 0 for a key of the wrong size (never valid). */
static uint64_t key_seq(const MDB_val *k)
{
    return k->mv_size == 8 ? sidik_lmdb_get_be64(k->mv_data) : 0;
}

/* Decodes value v of entry seq into *e (prev and hash as stored). */
static int decode(uint64_t seq, const MDB_val *v, sidik_audit_entry *e)
{
    audit_head h;
    if (v->mv_size < sizeof h)
        return SIDIK_ECORRUPT;
    memcpy(&h, v->mv_data, sizeof h);
    size_t body = sizeof h + h.actor_len + h.subject_len + h.detail_len;
    if (h.version != AUDIT_VERSION || h.kind < SIDIK_AUDIT_DECISION || h.kind > SIDIK_AUDIT_PRINT ||
        h.actor_len > SIDIK_AUDIT_TEXT_MAX || h.subject_len > SIDIK_AUDIT_TEXT_MAX ||
        h.detail_len > SIDIK_AUDIT_DETAIL_MAX || v->mv_size != body + 64)
        return SIDIK_ECORRUPT;
    memset(e, 0, sizeof *e);
    const uint8_t *p = (const uint8_t *)v->mv_data + sizeof h;
    e->seq = seq;
    e->kind = (sidik_audit_kind)h.kind;
    e->time_ms = h.time_ms;
    memcpy(e->actor, p, h.actor_len);
    p += h.actor_len;
    memcpy(e->subject, p, h.subject_len);
    p += h.subject_len;
    memcpy(e->detail, p, h.detail_len);
    p += h.detail_len;
    memcpy(e->prev, p, 32);
    memcpy(e->hash, p + 32, 32);
    return 0;
}

int sidik_control_audit_append(sidik_control_txn *t, const sidik_audit_entry *e,
                               sidik_audit_entry *out)
{
    size_t an, sn, dn;
    if (t == NULL || e == NULL || e->kind < SIDIK_AUDIT_DECISION || e->kind > SIDIK_AUDIT_PRINT ||
        !text_ok(e->actor, SIDIK_AUDIT_TEXT_MAX, &an) ||
        !text_ok(e->subject, SIDIK_AUDIT_TEXT_MAX, &sn) ||
        !text_ok(e->detail, SIDIK_AUDIT_DETAIL_MAX, &dn))
        return SIDIK_EINVAL;
    chain ch;
    int rc = chain_open(t, &ch);
    if (rc != 0)
        return rc;
    if (!ch.write)
        return SIDIK_ESTATE;
    MDB_txn *txn = ch.txn;
    MDB_dbi audit = ch.audit, meta = ch.meta;
    head_record head = ch.head;
    /* The head must name the last entry: anything else is damage, and
     * chaining onto it would hide that. */
    MDB_cursor *cur;
    if ((rc = sidik_lmdb_err(mdb_cursor_open(txn, audit, &cur))) != 0)
        return rc;
    MDB_val lk, lv;
    int mrc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return sidik_lmdb_err(mrc);
    uint64_t last = mrc == 0 ? key_seq(&lk) : 0;
    if (mrc == 0 && last == 0)
        return SIDIK_ECORRUPT;
    if (last != head.seq)
        return SIDIK_ECORRUPT;

    uint8_t buf[VALUE_MAX];
    audit_head h = {.version = AUDIT_VERSION,
                    .kind = (uint8_t)e->kind,
                    .actor_len = (uint8_t)an,
                    .subject_len = (uint8_t)sn,
                    .detail_len = (uint16_t)dn,
                    .time_ms = e->time_ms};
    size_t n = 0;
    memcpy(buf, &h, sizeof h);
    n += sizeof h;
    memcpy(buf + n, e->actor, an);
    n += an;
    memcpy(buf + n, e->subject, sn);
    n += sn;
    memcpy(buf + n, e->detail, dn);
    n += dn;
    uint64_t seq = head.seq + 1;
    uint8_t hash[32];
    if ((rc = chain_hash(head.hash, seq, buf, n, hash)) != 0)
        return rc;
    memcpy(buf + n, head.hash, 32);
    memcpy(buf + n + 32, hash, 32);
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(seq, kb), v = {n + 64, buf};
    rc = sidik_lmdb_err(mdb_put(txn, audit, &k, &v, MDB_NOOVERWRITE | MDB_APPEND));
    head_record nh = {.seq = seq};
    memcpy(nh.hash, hash, 32);
    MDB_val hk = {10, "audit_head"}, hv = {sizeof nh, &nh};
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_put(txn, meta, &hk, &hv, 0));
    if (rc == 0 && out != NULL)
        rc = decode(seq, &v, out);
    return rc;
}

int sidik_control_audit_get(sidik_control_txn *t, uint64_t seq, sidik_audit_entry *out)
{
    if (t == NULL || out == NULL || seq == 0)
        return SIDIK_EINVAL;
    chain ch;
    int rc = chain_open(t, &ch);
    if (rc != 0)
        return rc;
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(seq, kb), v;
    rc = sidik_lmdb_err(mdb_get(ch.txn, ch.audit, &k, &v));
    return rc != 0 ? rc : decode(seq, &v, out);
}

int sidik_control_audit_head(sidik_control_txn *t, uint64_t *seq, uint8_t hash[32])
{
    if (t == NULL || seq == NULL || hash == NULL)
        return SIDIK_EINVAL;
    chain ch;
    int rc = chain_open(t, &ch);
    if (rc != 0)
        return rc;
    *seq = ch.head.seq;
    memcpy(hash, ch.head.hash, 32);
    return 0;
}

int sidik_control_audit_verify(sidik_control_txn *t, uint64_t *checked, uint64_t *first_bad)
{
    if (t == NULL || checked == NULL || first_bad == NULL)
        return SIDIK_EINVAL;
    *checked = 0;
    *first_bad = 0;
    chain ch;
    int rc = chain_open(t, &ch);
    if (rc != 0)
        return rc;
    head_record head = ch.head;
    MDB_cursor *cur;
    if ((rc = sidik_lmdb_err(mdb_cursor_open(ch.txn, ch.audit, &cur))) != 0)
        return rc;
    uint8_t prev[32] = {0};
    uint64_t expect = 1;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), expect++) {
        uint64_t seq = key_seq(&k);
        sidik_audit_entry e;
        uint8_t hash[32];
        bool ok = seq == expect && decode(seq, &v, &e) == 0 &&
                  memcmp(e.prev, prev, 32) == 0 &&
                  chain_hash(prev, seq, v.mv_data, v.mv_size - 64, hash) == 0 &&
                  memcmp(hash, e.hash, 32) == 0;
        if (!ok) {
            *first_bad = expect; /* the entry that fails, or the one missing */
            mdb_cursor_close(cur);
            return SIDIK_ECORRUPT;
        }
        memcpy(prev, hash, 32);
        (*checked)++;
    }
    mdb_cursor_close(cur);
    if (mrc != MDB_NOTFOUND)
        return sidik_lmdb_err(mrc);
    if (head.seq != *checked || memcmp(head.hash, prev, 32) != 0) {
        /* Entries cut off the end (or the head itself edited). */
        *first_bad = *checked + 1;
        return SIDIK_ECORRUPT;
    }
    return 0;
}
