/*
 * The control store's format-2 indexes (sidik/control.h): decisions in
 * decision order, the review queue, and the UNIQUE verdicts waiting for the
 * dedup stage. Each is a range of keys whose order is the order a reader
 * wants, so a page is one range read from its resume point, however large
 * the store.
 *
 * Databases (integers big-endian, times with the sign bit flipped so that
 * signed order is byte order):
 *   dfind    'T', time, seq, index                    -> enrollment id
 *            'O', office code, 0x00, time, seq, index -> enrollment id
 *            'N', NIK (16 digits), time, seq, index   -> enrollment id
 *            (time: i64 decision time; seq: u64 the enrollment's journal
 *            sequence; index: u8 its place among the enrollment's decisions)
 *   review   time, seq -> enrollment id  (time: when it became ADJUDICATE)
 *   pending  seq -> enrollment id        (a UNIQUE verdict not yet carried out)
 */
#include "control_int.h"
#include "sidik/common.h"

#include <string.h>

#define SUFFIX       17 /* time, seq, index */
#define RSUFFIX      16 /* time, seq */
#define FIND_KEY_MAX (1 + SIDIK_OFFICE_MAX + 1 + SUFFIX)

static void put_time(int64_t t, uint8_t *out)
{
    sidik_lmdb_put_be64((uint64_t)t ^ (1ull << 63), out);
}

static int64_t get_time(const uint8_t *p)
{
    return (int64_t)(sidik_lmdb_get_be64(p) ^ (1ull << 63));
}

/* The prefix of a decision-order range into buf; its length, 0 when key
 * is not one this order takes. */
static size_t find_prefix(sidik_decisions_by by, const char *key, uint8_t buf[FIND_KEY_MAX])
{
    switch (by) {
    case SIDIK_DECISIONS_ALL:
        buf[0] = 'T';
        return 1;
    case SIDIK_DECISIONS_OF_OFFICE: {
        if (key == NULL || !sidik_control_valid_office(key))
            return 0;
        size_t n = strlen(key);
        buf[0] = 'O';
        memcpy(buf + 1, key, n);
        buf[1 + n] = 0;
        return n + 2;
    }
    case SIDIK_DECISIONS_OF_NIK:
        if (key == NULL || key[0] == 0 || !sidik__control_valid_nik(key))
            return 0;
        buf[0] = 'N';
        memcpy(buf + 1, key, SIDIK_NIK_LEN);
        return 1 + SIDIK_NIK_LEN;
    }
    return 0;
}

static void put_suffix(int64_t time_ms, uint64_t seq, uint32_t index, uint8_t *out)
{
    put_time(time_ms, out);
    sidik_lmdb_put_be64(seq, out + 8);
    out[16] = (uint8_t)index;
}

static int put_id(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t kn, const char *id)
{
    MDB_val key = {kn, (void *)k}, v = {strlen(id), (void *)id};
    return sidik_lmdb_err(mdb_put(txn, dbi, &key, &v, 0));
}

/* The enrollment id an index value holds. */
static int value_id(const MDB_val *v, char id[SIDIK_ENROLL_ID_MAX + 1])
{
    if (v->mv_size == 0 || v->mv_size > SIDIK_ENROLL_ID_MAX)
        return SIDIK_ECORRUPT;
    memcpy(id, v->mv_data, v->mv_size);
    id[v->mv_size] = 0;
    return 0;
}

typedef struct dbs {
    MDB_txn *txn;
    bool write;
    MDB_dbi dfind, review, pending;
} dbs;

static dbs get_dbs(sidik_control_txn *t)
{
    dbs d;
    d.txn = sidik__control_txn(t, &d.write);
    sidik__control_find_dbis(t, &d.dfind, &d.review, &d.pending);
    return d;
}

/* ---- decisions in decision order ------------------------------------------------------ */

int sidik__control_decision_index(sidik_control_txn *t, const sidik_enrollment *e, uint32_t index,
                                  int64_t time_ms)
{
    dbs d = get_dbs(t);
    uint8_t k[FIND_KEY_MAX];
    size_t n = find_prefix(SIDIK_DECISIONS_ALL, NULL, k);
    put_suffix(time_ms, e->journal_seq, index, k + n);
    int rc = put_id(d.txn, d.dfind, k, n + SUFFIX, e->id);
    if (rc == 0 && (n = find_prefix(SIDIK_DECISIONS_OF_OFFICE, e->office, k)) != 0) {
        put_suffix(time_ms, e->journal_seq, index, k + n);
        rc = put_id(d.txn, d.dfind, k, n + SUFFIX, e->id);
    }
    if (rc == 0 && (n = find_prefix(SIDIK_DECISIONS_OF_NIK, e->nik, k)) != 0) {
        put_suffix(time_ms, e->journal_seq, index, k + n);
        rc = put_id(d.txn, d.dfind, k, n + SUFFIX, e->id);
    }
    return rc;
}

int sidik_control_decision_walk(sidik_control_txn *t, sidik_decisions_by by, const char *key,
                                int64_t from_ms, int64_t to_ms, const sidik_decision_ref *after,
                                int (*fn)(void *ctx, const sidik_decision_ref *r), void *ctx)
{
    if (t == NULL || fn == NULL)
        return SIDIK_EINVAL;
    uint8_t start[FIND_KEY_MAX], resume[SUFFIX];
    size_t n = find_prefix(by, key, start);
    if (n == 0)
        return SIDIK_EINVAL;
    bool skip_first = after != NULL && after->time_ms >= from_ms;
    if (skip_first) {
        put_suffix(after->time_ms, after->journal_seq, after->index, start + n);
        memcpy(resume, start + n, SUFFIX);
    } else {
        put_suffix(from_ms, 0, 0, start + n);
    }
    dbs d = get_dbs(t);
    MDB_val k = {n + SUFFIX, start}, v;
    sidik__range r;
    int rc = sidik__range_open(&r, d.txn, d.dfind, &k, SUFFIX);
    if (rc != 0)
        return rc;
    for (bool first = true; (rc = sidik__range_step(&r, first, &k, &v)) == 0; first = false) {
        const uint8_t *s = (const uint8_t *)k.mv_data + n;
        if (first && skip_first && memcmp(s, resume, SUFFIX) == 0)
            continue; /* the last one the caller saw */
        sidik_decision_ref ref = {
            .time_ms = get_time(s), .journal_seq = sidik_lmdb_get_be64(s + 8), .index = s[16]};
        if (to_ms != 0 && ref.time_ms >= to_ms)
            break;
        if ((rc = value_id(&v, ref.id)) != 0)
            break;
        int stop = fn(ctx, &ref);
        if (stop != 0) {
            mdb_cursor_close(r.cur);
            return stop;
        }
    }
    mdb_cursor_close(r.cur);
    return rc == 1 ? 0 : rc;
}

/* ---- the review queue ------------------------------------------------------------------ */

static MDB_val review_key(int64_t time_ms, uint64_t seq, uint8_t buf[RSUFFIX])
{
    put_time(time_ms, buf);
    sidik_lmdb_put_be64(seq, buf + 8);
    return (MDB_val){RSUFFIX, buf};
}

int sidik__control_review_put(sidik_control_txn *t, const sidik_enrollment *e, int64_t time_ms)
{
    dbs d = get_dbs(t);
    uint8_t kb[RSUFFIX];
    MDB_val k = review_key(time_ms, e->journal_seq, kb);
    return put_id(d.txn, d.review, k.mv_data, k.mv_size, e->id);
}

int sidik__control_review_del(sidik_control_txn *t, const sidik_enrollment *e, int64_t time_ms)
{
    dbs d = get_dbs(t);
    uint8_t kb[RSUFFIX];
    MDB_val k = review_key(time_ms, e->journal_seq, kb);
    int rc = sidik_lmdb_err(mdb_del(d.txn, d.review, &k, NULL));
    /* Absent only if the index was damaged; leaving the queue must not be
     * refused for that (the listing would only have missed it). */
    return rc == SIDIK_ENOTFOUND ? 0 : rc;
}

int sidik_control_review_count(sidik_control_txn *t, uint64_t *n)
{
    if (t == NULL || n == NULL)
        return SIDIK_EINVAL;
    dbs d = get_dbs(t);
    MDB_stat st;
    int rc = sidik_lmdb_err(mdb_stat(d.txn, d.review, &st));
    if (rc == 0)
        *n = st.ms_entries;
    return rc;
}

int sidik_control_review_walk(sidik_control_txn *t, int64_t from_ms, int64_t to_ms,
                              const sidik_review_ref *after,
                              int (*fn)(void *ctx, const sidik_review_ref *r), void *ctx)
{
    if (t == NULL || fn == NULL)
        return SIDIK_EINVAL;
    bool skip_first = after != NULL && after->time_ms >= from_ms;
    uint8_t start[RSUFFIX];
    MDB_val k = skip_first ? review_key(after->time_ms, after->journal_seq, start)
                           : review_key(from_ms, 0, start),
            v;
    dbs d = get_dbs(t);
    sidik__range r;
    int rc = sidik__range_open(&r, d.txn, d.review, &k, RSUFFIX);
    if (rc != 0)
        return rc;
    for (bool first = true; (rc = sidik__range_step(&r, first, &k, &v)) == 0; first = false) {
        if (first && skip_first && memcmp(k.mv_data, start, RSUFFIX) == 0)
            continue;
        const uint8_t *s = k.mv_data;
        sidik_review_ref ref = {.time_ms = get_time(s), .journal_seq = sidik_lmdb_get_be64(s + 8)};
        if (to_ms != 0 && ref.time_ms >= to_ms)
            break;
        if ((rc = value_id(&v, ref.id)) != 0)
            break;
        int stop = fn(ctx, &ref);
        if (stop != 0) {
            mdb_cursor_close(r.cur);
            return stop;
        }
    }
    mdb_cursor_close(r.cur);
    return rc == 1 ? 0 : rc;
}

/* The office index's keys are office, 0x00, status byte, sequence: for each
 * office, seek its ADJUDICATE keys, then jump past the office. */
int sidik__control_review_rebuild(sidik_control_txn *t)
{
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    MDB_dbi enroll, office;
    sidik__control_dbis(t, &enroll, &office);
    MDB_cursor *cur;
    int rc = sidik_lmdb_err(mdb_cursor_open(txn, office, &cur));
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    uint64_t added = 0;
    while (mrc == 0 && rc == 0) {
        const uint8_t *p = k.mv_data;
        const uint8_t *nul = memchr(p, 0, k.mv_size);
        size_t on = nul != NULL ? (size_t)(nul - p) : 0;
        if (nul == NULL || on == 0 || on > SIDIK_OFFICE_MAX || k.mv_size != on + 10) {
            rc = SIDIK_ECORRUPT;
            break;
        }
        uint8_t seek[SIDIK_OFFICE_MAX + 2];
        memcpy(seek, p, on + 1);
        seek[on + 1] = SIDIK_STATUS_ADJUDICATE;
        k = (MDB_val){on + 2, seek};
        for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
             mrc == 0 && k.mv_size == on + 10 && memcmp(k.mv_data, seek, on + 2) == 0;
             mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            sidik_enrollment e;
            char id[SIDIK_ENROLL_ID_MAX + 1];
            if ((rc = value_id(&v, id)) != 0 || (rc = sidik_control_enroll_get(t, id, &e)) != 0)
                break;
            if (e.status != SIDIK_STATUS_ADJUDICATE || e.nhistory == 0) {
                rc = SIDIK_ECORRUPT;
                break;
            }
            if ((rc = sidik__control_review_put(t, &e, e.history[e.nhistory - 1].time_ms)) != 0)
                break;
            added++;
        }
        if (rc != 0 || mrc != 0)
            break;
        seek[on + 1] = 0xff; /* past every status of this office */
        k = (MDB_val){on + 2, seek};
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    if (rc == 0 && added > 0)
        SIDIK_LOG_INFO("review queue rebuilt", "enrollments=%llu", (unsigned long long)added);
    return rc;
}

/* ---- UNIQUE verdicts waiting for the dedup stage -------------------------------------- */

static int pending_key(sidik_control_txn *t, const char *id, sidik_enrollment *e, uint8_t kb[8],
                       MDB_val *k)
{
    if (t == NULL || id == NULL)
        return SIDIK_EINVAL;
    int rc = sidik_control_enroll_get(t, id, e);
    if (rc != 0)
        return rc;
    sidik_lmdb_put_be64(e->journal_seq, kb);
    *k = (MDB_val){8, kb};
    return 0;
}

int sidik_control_pending_put(sidik_control_txn *t, const char *id)
{
    sidik_enrollment e;
    uint8_t kb[8];
    MDB_val k;
    int rc = pending_key(t, id, &e, kb, &k);
    if (rc != 0)
        return rc;
    dbs d = get_dbs(t);
    if (!d.write || e.status != SIDIK_STATUS_ADJUDICATE)
        return SIDIK_ESTATE;
    MDB_val v = {strlen(e.id), e.id};
    return sidik_lmdb_err(mdb_put(d.txn, d.pending, &k, &v, MDB_NOOVERWRITE));
}

int sidik_control_pending_get(sidik_control_txn *t, const char *id)
{
    sidik_enrollment e;
    uint8_t kb[8];
    MDB_val k, v;
    int rc = pending_key(t, id, &e, kb, &k);
    if (rc != 0)
        return rc;
    dbs d = get_dbs(t);
    return sidik_lmdb_err(mdb_get(d.txn, d.pending, &k, &v));
}

int sidik_control_pending_del(sidik_control_txn *t, const char *id)
{
    sidik_enrollment e;
    uint8_t kb[8];
    MDB_val k;
    int rc = pending_key(t, id, &e, kb, &k);
    if (rc != 0)
        return rc;
    dbs d = get_dbs(t);
    if (!d.write)
        return SIDIK_ESTATE;
    return sidik_lmdb_err(mdb_del(d.txn, d.pending, &k, NULL));
}

int sidik_control_pending_list(sidik_control_txn *t, uint64_t after_seq, uint32_t max,
                               sidik_enroll_id *ids, uint64_t *seqs, uint32_t *n)
{
    if (t == NULL || ids == NULL || seqs == NULL || n == NULL)
        return SIDIK_EINVAL;
    *n = 0;
    if (after_seq == UINT64_MAX || max == 0)
        return 0;
    dbs d = get_dbs(t);
    uint8_t kb[8];
    sidik_lmdb_put_be64(after_seq + 1, kb);
    MDB_val k = {8, kb}, v;
    sidik__range r;
    int rc = sidik__range_open(&r, d.txn, d.pending, &k, 8);
    if (rc != 0)
        return rc;
    for (bool first = true; *n < max && (rc = sidik__range_step(&r, first, &k, &v)) == 0;
         first = false) {
        if ((rc = value_id(&v, ids[*n])) != 0)
            break;
        seqs[(*n)++] = sidik_lmdb_get_be64(k.mv_data);
    }
    mdb_cursor_close(r.cur);
    return rc == 1 || rc == 0 ? 0 : rc;
}
