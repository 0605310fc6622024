/*
 * Enrollment records in the control store: their encoding, the status
 * rules, and the per-office index that answers "where are my enrollments"
 * without reading every record.
 */
#include "control_int.h"
#include "sidik/common.h"

#include <string.h>

#define RECORD_VERSION 1u

/* The value stored under an enrollment id; then the office and NIK bytes,
 * then nhistory history entries. */
typedef struct record_head {
    uint8_t version; /* RECORD_VERSION */
    uint8_t status;
    uint8_t nhistory;
    uint8_t office_len;
    uint8_t nik_len;
    uint8_t reserved[3];
    uint64_t journal_seq;
    uint64_t record_id;
    uint8_t sha256[32];
} record_head;
_Static_assert(sizeof(record_head) == 56, "enrollment record head is 56 bytes on disk");

typedef struct record_change {
    int64_t time_ms;
    uint32_t status;
    uint32_t reserved;
} record_change;
_Static_assert(sizeof(record_change) == 16, "status change is 16 bytes on disk");

#define RECORD_MAX (sizeof(record_head) + SIDIK_OFFICE_MAX + SIDIK_NIK_LEN + \
                    SIDIK_HISTORY_MAX * sizeof(record_change))

bool sidik__control_valid_status(uint32_t s)
{
    return s >= SIDIK_STATUS_CAPTURED && s <= SIDIK_STATUS_PRINTED;
}

static size_t encode(const sidik_enrollment *e, uint8_t out[RECORD_MAX])
{
    record_head h = {.version = RECORD_VERSION,
                     .status = (uint8_t)e->status,
                     .nhistory = (uint8_t)e->nhistory,
                     .office_len = (uint8_t)strlen(e->office),
                     .nik_len = (uint8_t)strlen(e->nik),
                     .journal_seq = e->journal_seq,
                     .record_id = e->record_id};
    memcpy(h.sha256, e->sha256, sizeof h.sha256);
    size_t n = 0;
    memcpy(out, &h, sizeof h);
    n += sizeof h;
    memcpy(out + n, e->office, h.office_len);
    n += h.office_len;
    memcpy(out + n, e->nik, h.nik_len);
    n += h.nik_len;
    for (uint32_t i = 0; i < e->nhistory; i++) {
        record_change c = {.time_ms = e->history[i].time_ms, .status = e->history[i].status};
        memcpy(out + n, &c, sizeof c);
        n += sizeof c;
    }
    return n;
}

static int decode(const MDB_val *key, const MDB_val *v, sidik_enrollment *e)
{
    record_head h;
    if (key->mv_size == 0 || key->mv_size > SIDIK_ENROLL_ID_MAX || v->mv_size < sizeof h)
        return SIDIK_ECORRUPT;
    memcpy(&h, v->mv_data, sizeof h);
    if (h.version != RECORD_VERSION || h.office_len > SIDIK_OFFICE_MAX ||
        h.nik_len > SIDIK_NIK_LEN || h.nhistory == 0 || h.nhistory > SIDIK_HISTORY_MAX ||
        !sidik__control_valid_status(h.status) ||
        v->mv_size != sizeof h + h.office_len + h.nik_len + h.nhistory * sizeof(record_change))
        return SIDIK_ECORRUPT;
    memset(e, 0, sizeof *e);
    memcpy(e->id, key->mv_data, key->mv_size);
    const uint8_t *p = (const uint8_t *)v->mv_data + sizeof h;
    memcpy(e->office, p, h.office_len);
    p += h.office_len;
    memcpy(e->nik, p, h.nik_len);
    p += h.nik_len;
    e->status = (sidik_status)h.status;
    e->journal_seq = h.journal_seq;
    e->record_id = h.record_id;
    memcpy(e->sha256, h.sha256, sizeof e->sha256);
    e->nhistory = h.nhistory;
    for (uint32_t i = 0; i < h.nhistory; i++, p += sizeof(record_change)) {
        record_change c;
        memcpy(&c, p, sizeof c);
        if (!sidik__control_valid_status(c.status))
            return SIDIK_ECORRUPT;
        e->history[i] = (sidik_status_change){(sidik_status)c.status, c.time_ms};
    }
    return 0;
}

/* ---- field rules ------------------------------------------------------------ */

bool sidik__control_valid_id(const char *s)
{
    size_t n = strnlen(s, SIDIK_ENROLL_ID_MAX + 1);
    if (n == 0 || n > SIDIK_ENROLL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

bool sidik_control_valid_office(const char *s)
{
    size_t n = strnlen(s, SIDIK_OFFICE_MAX + 1);
    if (n == 0 || n > SIDIK_OFFICE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool sidik__control_valid_nik(const char *s)
{
    size_t n = strnlen(s, SIDIK_NIK_LEN + 1);
    if (n != 0 && n != SIDIK_NIK_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool transition_allowed(sidik_status from, sidik_status to)
{
    switch (from) {
    case SIDIK_STATUS_RECEIVED:
        return to == SIDIK_STATUS_PRINT_READY || to == SIDIK_STATUS_DUPLICATE ||
               to == SIDIK_STATUS_ADJUDICATE || to == SIDIK_STATUS_REJECTED;
    case SIDIK_STATUS_ADJUDICATE:
        return to == SIDIK_STATUS_PRINT_READY || to == SIDIK_STATUS_DUPLICATE;
    case SIDIK_STATUS_PRINT_READY:
        return to == SIDIK_STATUS_PRINTED;
    default:
        return false;
    }
}

/* ---- the office index: office, 0, status (0 = the all-statuses list),
 * journal sequence big-endian -> enrollment id ----------------------------- */

#define OFFICE_KEY_MAX (SIDIK_OFFICE_MAX + 2 + 8)

static MDB_val office_key(const char *office, uint8_t status, uint64_t seq,
                          uint8_t buf[OFFICE_KEY_MAX])
{
    size_t n = strlen(office);
    memcpy(buf, office, n);
    buf[n] = 0;
    buf[n + 1] = status;
    sidik_lmdb_put_be64(seq, buf + n + 2);
    return (MDB_val){n + 10, buf};
}

static int office_put(MDB_txn *txn, MDB_dbi dbi, const sidik_enrollment *e, uint8_t status)
{
    uint8_t kb[OFFICE_KEY_MAX];
    MDB_val k = office_key(e->office, status, e->journal_seq, kb);
    MDB_val v = {strlen(e->id), (void *)e->id};
    return sidik_lmdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* ---- the sequence index: journal sequence big-endian -> enrollment id ----- */

static int seq_put(sidik_control_txn *t, MDB_txn *txn, uint64_t seq, const char *id)
{
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(seq, kb), v = {strlen(id), (void *)id};
    return sidik_lmdb_err(mdb_put(txn, sidik__control_seq_dbi(t), &k, &v, 0));
}

static int seq_put_ref(void *ctx, const sidik_review_ref *r)
{
    sidik_control_txn *t = ctx;
    bool write;
    return seq_put(t, sidik__control_txn(t, &write), r->journal_seq, r->id);
}

int sidik__control_seq_rebuild(sidik_control_txn *t)
{
    return sidik_control_review_walk(t, 0, 0, NULL, seq_put_ref, t);
}

int sidik_control_enroll_at(sidik_control_txn *t, uint64_t journal_seq, sidik_enroll_id id)
{
    if (t == NULL || journal_seq == 0 || id == NULL)
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(journal_seq, kb), v;
    int rc = sidik_lmdb_err(mdb_get(txn, sidik__control_seq_dbi(t), &k, &v));
    if (rc != 0)
        return rc;
    if (v.mv_size == 0 || v.mv_size > SIDIK_ENROLL_ID_MAX)
        return SIDIK_ECORRUPT;
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = 0;
    return 0;
}

/* ---- the operations ----------------------------------------------------------- */

int sidik_control_enroll_put(sidik_control_txn *t, const sidik_enrollment *e)
{
    if (t == NULL || e == NULL || !sidik__control_valid_id(e->id) || !sidik_control_valid_office(e->office) ||
        !sidik__control_valid_nik(e->nik) || e->status != SIDIK_STATUS_RECEIVED || e->journal_seq == 0 ||
        e->nhistory != 1 || e->history[0].status != e->status)
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    if (!write)
        return SIDIK_ESTATE;
    MDB_dbi enroll, office;
    sidik__control_dbis(t, &enroll, &office);
    uint8_t buf[RECORD_MAX];
    MDB_val k = {strlen(e->id), (void *)e->id}, v = {encode(e, buf), buf};
    int rc = sidik_lmdb_err(mdb_put(txn, enroll, &k, &v, MDB_NOOVERWRITE));
    if (rc == 0)
        rc = office_put(txn, office, e, 0);
    if (rc == 0)
        rc = office_put(txn, office, e, (uint8_t)e->status);
    if (rc == 0)
        rc = seq_put(t, txn, e->journal_seq, e->id);
    return rc;
}

int sidik_control_enroll_get(sidik_control_txn *t, const char *id, sidik_enrollment *out)
{
    if (t == NULL || id == NULL || out == NULL || !sidik__control_valid_id(id))
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    MDB_dbi enroll, office;
    sidik__control_dbis(t, &enroll, &office);
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = sidik_lmdb_err(mdb_get(txn, enroll, &k, &v));
    return rc != 0 ? rc : decode(&k, &v, out);
}

int sidik_control_enroll_status(sidik_control_txn *t, const char *id, sidik_status s,
                                int64_t time_ms, uint64_t record_id)
{
    if (!sidik__control_valid_status(s))
        return SIDIK_EINVAL;
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, id, &e);
    if (rc != 0)
        return rc;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    if (!write || !transition_allowed(e.status, s) || e.nhistory == SIDIK_HISTORY_MAX)
        return SIDIK_ESTATE;
    MDB_dbi enroll, office;
    sidik__control_dbis(t, &enroll, &office);
    uint8_t kb[OFFICE_KEY_MAX];
    MDB_val ok = office_key(e.office, (uint8_t)e.status, e.journal_seq, kb);
    rc = sidik_lmdb_err(mdb_del(txn, office, &ok, NULL));
    if (rc == SIDIK_ENOTFOUND)
        rc = SIDIK_ECORRUPT; /* the index lost a record it must have */
    /* The review queue follows ADJUDICATE in and out, in this transaction. */
    if (rc == 0 && e.status == SIDIK_STATUS_ADJUDICATE)
        rc = sidik__control_review_del(t, &e, e.history[e.nhistory - 1].time_ms);
    if (rc == 0 && s == SIDIK_STATUS_ADJUDICATE)
        rc = sidik__control_review_put(t, &e, time_ms);
    e.history[e.nhistory++] = (sidik_status_change){s, time_ms};
    e.status = s;
    if (record_id != 0)
        e.record_id = record_id;
    if (rc == 0)
        rc = office_put(txn, office, &e, (uint8_t)s);
    uint8_t buf[RECORD_MAX];
    MDB_val k = {strlen(id), (void *)id}, v = {encode(&e, buf), buf};
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_put(txn, enroll, &k, &v, 0));
    return rc;
}

int sidik_control_enroll_list(sidik_control_txn *t, const char *office_code, sidik_status s,
                              uint64_t after_seq, uint32_t limit,
                              int (*fn)(void *ctx, const sidik_enrollment *e), void *ctx)
{
    if (t == NULL || office_code == NULL || fn == NULL || !sidik_control_valid_office(office_code) ||
        (s != 0 && !sidik__control_valid_status(s)))
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    MDB_dbi enroll, office;
    sidik__control_dbis(t, &enroll, &office);
    if (after_seq == UINT64_MAX)
        return 0; /* nothing comes after the last sequence */
    uint8_t kb[OFFICE_KEY_MAX];
    MDB_val k = office_key(office_code, (uint8_t)s, after_seq + 1, kb), v;
    sidik__range r;
    int rc = sidik__range_open(&r, txn, office, &k, 8);
    if (rc != 0)
        return rc;
    uint32_t calls = 0;
    for (bool first = true; (limit == 0 || calls < limit) &&
                            (rc = sidik__range_step(&r, first, &k, &v)) == 0;
         first = false) {
        sidik_enrollment e;
        MDB_val ek = v, ev;
        rc = sidik_lmdb_err(mdb_get(txn, enroll, &ek, &ev));
        if (rc == SIDIK_ENOTFOUND)
            rc = SIDIK_ECORRUPT; /* the index names a record that is not there */
        if (rc == 0)
            rc = decode(&ek, &ev, &e);
        calls++;
        if (rc != 0)
            break;
        int stop = fn(ctx, &e);
        if (stop != 0) {
            mdb_cursor_close(r.cur);
            return stop; /* the callback's own value, whatever it is */
        }
    }
    mdb_cursor_close(r.cur);
    return rc == 1 ? 0 : rc;
}
