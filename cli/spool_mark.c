/*
 * The spool's state changes (spool.h): sent, received, refused, failed, a
 * status seen later, and compaction. Each call is one write transaction
 * that loads a record, lets an op change a copy, and writes the copy back
 * with its pending entry and the counters, so the counters and the
 * `pending` index can never disagree with the records they describe.
 */
#include "spool_int.h"

#include "sidik/lmdb_env.h"
#include "sidik/common.h"

#include <string.h>

/* An op changes r in place: 0 changed, 1 nothing to change, < 0 an error
 * (the whole call is undone). */
typedef int (*rec_op)(sidik_spool *sp, spool_rec *r, void *arg);

static int update(sidik_spool *sp, const uint64_t *seqs, size_t n, rec_op op, void *arg)
{
    if (sp == NULL || (seqs == NULL && n != 0))
        return SIDIK_EINVAL;
    if (n == 0)
        return 0;
    MDB_txn *txn;
    spool_counts c;
    int rc = sidik_lmdb_err(mdb_txn_begin(sp->env, NULL, 0, &txn));
    if (rc != 0)
        return rc;
    bool changed = false;
    if ((rc = sidik__spool_counts_get(sp, txn, &c)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        spool_rec old, r;
        if ((rc = sidik__spool_rec_get(sp, txn, seqs[i], &old)) != 0)
            goto out;
        r = old;
        if ((rc = op(sp, &r, arg)) < 0)
            goto out;
        if (rc == 0) {
            if ((rc = sidik__spool_rec_put(sp, txn, seqs[i], &old, &r, &c)) != 0)
                goto out;
            changed = true;
        }
    }
    rc = changed ? sidik__spool_counts_put(sp, txn, &c) : 0;
out:
    if (rc != 0 || !changed) {
        mdb_txn_abort(txn);
        return rc > 0 ? 0 : rc;
    }
    return sidik_lmdb_err(mdb_txn_commit(txn));
}

/* ---- sent, failed ---------------------------------------------------------------- */

typedef struct sent_arg {
    int64_t now_ms, lease_ms;
} sent_arg;

static int sent_op(sidik_spool *sp, spool_rec *r, void *arg)
{
    (void)sp;
    const sent_arg *a = arg;
    if (!sidik__spool_due(r))
        return 1; /* a receipt or a refusal came first */
    r->h.status = SIDIK_STATUS_SENT;
    r->h.changed_ms[SIDIK_STATUS_SENT] = a->now_ms;
    r->h.next_attempt_ms = a->now_ms + a->lease_ms;
    return 0;
}

int sidik_spool_mark_sent(sidik_spool *sp, const uint64_t *seqs, size_t n, int64_t now_ms,
                          int64_t lease_ms)
{
    if (lease_ms < 0)
        return SIDIK_EINVAL;
    sent_arg a = {now_ms, lease_ms};
    return update(sp, seqs, n, sent_op, &a);
}

typedef struct failed_arg {
    int64_t now_ms, earliest;
} failed_arg;

/* Full jitter (Brooker, "Exponential Backoff And Jitter", AWS
 * Architecture Blog, 2015): a delay uniform in [0, window] spreads the
 * retries of thousands of offices whose link came back at the same moment,
 * where "window plus a little noise" would bring them back in step. */
static int failed_op(sidik_spool *sp, spool_rec *r, void *arg)
{
    failed_arg *a = arg;
    if (!sidik__spool_due(r))
        return 1;
    if (r->h.attempts < UINT32_MAX)
        r->h.attempts++;
    uint32_t e = r->h.attempts - 1;
    uint64_t cap = (uint64_t)sp->cap_ms, base = (uint64_t)sp->base_ms;
    uint64_t window = e >= 62 || base > (cap >> e) ? cap : base << e;
    int64_t delay = (int64_t)(sidik__spool_rand(sp) % (window + 1));
    r->h.next_attempt_ms = a->now_ms + delay;
    if (a->earliest == 0 || r->h.next_attempt_ms < a->earliest)
        a->earliest = r->h.next_attempt_ms;
    return 0;
}

int sidik_spool_mark_failed(sidik_spool *sp, const uint64_t *seqs, size_t n, int64_t now_ms,
                            int64_t *next_ms)
{
    failed_arg a = {now_ms, 0};
    int rc = update(sp, seqs, n, failed_op, &a);
    if (rc == 0 && next_ms != NULL)
        *next_ms = a.earliest;
    return rc;
}

/* ---- received, refused, a later status -------------------------------------------- */

typedef struct received_arg {
    const sidik_spool_receipt *r;
    int64_t now_ms;
} received_arg;

static int received_op(sidik_spool *sp, spool_rec *r, void *arg)
{
    (void)sp;
    const received_arg *a = arg;
    static const uint8_t zero[32];
    bool has_sha = memcmp(a->r->content_sha256, zero, 32) != 0;
    if (r->h.status == SIDIK_STATUS_REJECTED && !(r->h.flags & SPOOL_F_CENTRE))
        return SIDIK_ESTATE;
    if (has_sha && memcmp(a->r->content_sha256, r->h.sha256, 32) != 0)
        return SIDIK_ECORRUPT; /* the centre holds other bytes than ours */
    if (r->h.flags & SPOOL_F_RECEIPT) {
        bool same = r->h.journal_seq == a->r->journal_seq &&
                    r->h.received_time_ms == a->r->received_time_ms &&
                    (!has_sha || memcmp(r->h.centre_sha256, a->r->content_sha256, 32) == 0);
        return same ? 1 : SIDIK_EEXISTS;
    }
    r->h.journal_seq = a->r->journal_seq;
    r->h.received_time_ms = a->r->received_time_ms;
    memcpy(r->h.centre_sha256, a->r->content_sha256, 32);
    r->h.flags |= SPOOL_F_RECEIPT | SPOOL_F_CENTRE;
    if (sidik__spool_due(r))
        r->h.status = SIDIK_STATUS_RECEIVED;
    if (r->h.changed_ms[SIDIK_STATUS_RECEIVED] == 0)
        r->h.changed_ms[SIDIK_STATUS_RECEIVED] = a->now_ms;
    return 0;
}

int sidik_spool_mark_received(sidik_spool *sp, uint64_t seq, const sidik_spool_receipt *r,
                              int64_t now_ms)
{
    /* journal_seq 0 is how a record says "no receipt": never a real one. */
    if (r == NULL || r->journal_seq == 0)
        return SIDIK_EINVAL;
    received_arg a = {r, now_ms};
    return update(sp, &seq, 1, received_op, &a);
}

typedef struct refused_arg {
    int32_t code;
    const char *reason;
    int64_t now_ms;
} refused_arg;

static int refused_op(sidik_spool *sp, spool_rec *r, void *arg)
{
    (void)sp;
    const refused_arg *a = arg;
    if (r->h.flags & SPOOL_F_CENTRE)
        return SIDIK_ESTATE;
    if (r->h.status == SIDIK_STATUS_REJECTED)
        return 1;
    r->h.status = SIDIK_STATUS_REJECTED;
    r->h.refusal_code = a->code;
    r->h.changed_ms[SIDIK_STATUS_REJECTED] = a->now_ms;
    size_t n = a->reason != NULL ? strnlen(a->reason, SIDIK_SPOOL_REASON_MAX) : 0;
    memcpy(r->reason, a->reason != NULL ? a->reason : "", n);
    r->reason[n] = '\0';
    r->h.reason_len = (uint8_t)n;
    return 0;
}

int sidik_spool_mark_refused(sidik_spool *sp, uint64_t seq, int32_t code, const char *reason,
                             int64_t now_ms)
{
    if (code == 0)
        return SIDIK_EINVAL;
    refused_arg a = {code, reason, now_ms};
    return update(sp, &seq, 1, refused_op, &a);
}

/* How far along its path a status is. Not the enum's order: ADJUDICATE (6)
 * comes before the decision a person makes of it (4, 5 or 7). */
static int rank(uint8_t s)
{
    switch (s) {
    case SIDIK_STATUS_CAPTURED:
        return 1;
    case SIDIK_STATUS_SENT:
        return 2;
    case SIDIK_STATUS_RECEIVED:
        return 3;
    case SIDIK_STATUS_ADJUDICATE:
        return 4;
    case SIDIK_STATUS_PRINTED:
        return 6;
    default:
        return 5; /* PRINT_READY, DUPLICATE, REJECTED */
    }
}

typedef struct status_arg {
    sidik_status status;
    int64_t time_ms;
} status_arg;

static int status_op(sidik_spool *sp, spool_rec *r, void *arg)
{
    (void)sp;
    const status_arg *a = arg;
    /* An older answer than what we know (polls can cross), or the same. */
    if (rank((uint8_t)a->status) < rank(r->h.status) || a->status == r->h.status)
        return 1;
    r->h.status = (uint8_t)a->status;
    r->h.changed_ms[a->status] = a->time_ms;
    r->h.flags |= SPOOL_F_CENTRE;
    if (r->h.changed_ms[SIDIK_STATUS_RECEIVED] == 0)
        r->h.changed_ms[SIDIK_STATUS_RECEIVED] = a->time_ms;
    return 0;
}

int sidik_spool_set_status(sidik_spool *sp, uint64_t seq, sidik_status status, int64_t time_ms)
{
    if (status < SIDIK_STATUS_RECEIVED || status > SIDIK_STATUS_PRINTED)
        return SIDIK_EINVAL;
    status_arg a = {status, time_ms};
    return update(sp, &seq, 1, status_op, &a);
}

/* ---- compaction ---------------------------------------------------------------------- */

#define COMPACT_SCAN  65536 /* records read per transaction */
#define COMPACT_BATCH 256   /* records changed per transaction */

enum { KEEP, DROP_BODY, DROP_RECORD };

static int verdict(const spool_rec *r, const sidik_spool_policy *p, int64_t now_ms)
{
    uint8_t s = r->h.status;
    bool end =
        s == SIDIK_STATUS_PRINTED || s == SIDIK_STATUS_DUPLICATE || s == SIDIK_STATUS_REJECTED;
    if (end && now_ms - r->h.changed_ms[s] >= p->record_keep_ms)
        return DROP_RECORD;
    if ((r->h.flags & (SPOOL_F_CENTRE | SPOOL_F_BODY)) == (SPOOL_F_CENTRE | SPOOL_F_BODY) &&
        now_ms - r->h.changed_ms[SIDIK_STATUS_RECEIVED] >= p->body_keep_ms)
        return DROP_BODY;
    return KEEP;
}

static int drop(sidik_spool *sp, MDB_txn *txn, uint64_t seq, int what, spool_counts *c,
                sidik_spool_compacted *done)
{
    spool_rec old, r;
    uint8_t kb[8];
    MDB_val k = sidik__spool_key(seq, kb);
    int rc = sidik__spool_rec_get(sp, txn, seq, &old);
    if (rc != 0)
        return rc;
    r = old;
    if (old.h.flags & SPOOL_F_BODY) {
        if ((rc = sidik_lmdb_err(mdb_del(txn, sp->body, &k, NULL))) != 0)
            return rc;
        r.h.flags &= (uint8_t)~SPOOL_F_BODY;
        done->bodies_dropped++;
        done->bytes_freed += old.h.bytes;
    }
    if (what == DROP_BODY)
        return sidik__spool_rec_put(sp, txn, seq, &old, &r, c);
    MDB_val ik = {old.h.id_len, old.id};
    if ((rc = sidik_lmdb_err(mdb_del(txn, sp->rec, &k, NULL))) != 0 ||
        (rc = sidik_lmdb_err(mdb_del(txn, sp->id, &ik, NULL))) != 0)
        return rc == SIDIK_ENOTFOUND ? SIDIK_ECORRUPT : rc;
    sidik__spool_count(c, &old, -1);
    done->records_dropped++;
    return 0;
}

/* One transaction: from sequence *from, reads up to COMPACT_SCAN records
 * and applies the policy to up to COMPACT_BATCH of them; *from moves past
 * what was read, *more says whether records remain. */
static int compact_step(sidik_spool *sp, const sidik_spool_policy *p, int64_t now_ms,
                        uint64_t *from, bool *more, sidik_spool_compacted *done)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    spool_counts c;
    int rc = sidik_lmdb_err(mdb_txn_begin(sp->env, NULL, 0, &txn));
    if (rc != 0)
        return rc;
    if ((rc = sidik__spool_counts_get(sp, txn, &c)) != 0 ||
        (rc = sidik_lmdb_err(mdb_cursor_open(txn, sp->rec, &cur))) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    uint64_t seqs[COMPACT_BATCH];
    int what[COMPACT_BATCH];
    size_t n = 0, scanned = 0;
    uint8_t kb[8];
    MDB_val k = sidik__spool_key(*from, kb), v;
    int mrc;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (scanned == COMPACT_SCAN || n == COMPACT_BATCH)
            break;
        spool_rec r;
        uint64_t seq = sidik__spool_key_seq(&k);
        if ((rc = sidik__spool_rec_decode(&v, &r)) != 0)
            break;
        scanned++;
        *from = seq + 1;
        int w = verdict(&r, p, now_ms);
        if (w != KEEP) {
            seqs[n] = seq;
            what[n++] = w;
        }
    }
    *more = mrc == 0;
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sidik_lmdb_err(mrc);
    /* The cursor is closed before the deletes, which move LMDB's pages
     * under it. */
    mdb_cursor_close(cur);
    sidik_spool_compacted step = {0};
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = drop(sp, txn, seqs[i], what[i], &c, &step);
    if (rc == 0 && n != 0)
        rc = sidik__spool_counts_put(sp, txn, &c);
    if (rc != 0 || n == 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = sidik_lmdb_err(mdb_txn_commit(txn))) == 0) {
        done->bodies_dropped += step.bodies_dropped;
        done->bytes_freed += step.bytes_freed;
        done->records_dropped += step.records_dropped;
    }
    return rc;
}

int sidik_spool_compact(sidik_spool *sp, const sidik_spool_policy *p, int64_t now_ms,
                        sidik_spool_compacted *out)
{
    sidik_spool_policy pol = p != NULL ? *p : SIDIK_SPOOL_POLICY_DEFAULT;
    sidik_spool_compacted done = {0};
    if (out != NULL)
        *out = done;
    if (sp == NULL || pol.body_keep_ms < 0 || pol.record_keep_ms < 0)
        return SIDIK_EINVAL;
    uint64_t from = 1;
    bool more = true;
    int rc = 0;
    while (rc == 0 && more)
        rc = compact_step(sp, &pol, now_ms, &from, &more, &done);
    if (out != NULL)
        *out = done;
    return rc;
}
