/*
 * The print queue in the control store: authorisations wait per print
 * region in journal order, are leased to a print station for a while, and
 * are either acknowledged (the enrollment becomes PRINTED, which the status
 * rules allow once) or return to the queue when the lease runs out.
 *
 * Databases:
 *   printq     region, 0x00, journal sequence (u64 big-endian) -> enrollment id
 *   lease      enrollment id -> lease record (below)
 *   lease_exp  lease end (i64 big-endian, offset so order holds), enrollment id -> ""
 */
#include "control_int.h"
#include "sidik/common.h"

#include <string.h>

typedef struct lease_record {
    int64_t until_ms;
    uint64_t seq;
    char region[SIDIK_REGION_MAX + 1];
    char station[SIDIK_STATION_MAX + 1];
    uint8_t reserved[5];
} lease_record;
_Static_assert(sizeof(lease_record) == 104, "lease record is 104 bytes on disk");

#define QKEY_MAX (SIDIK_REGION_MAX + 1 + 8)
#define EKEY_MAX (8 + SIDIK_ENROLL_ID_MAX)

static bool valid_code(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool sidik_control_valid_region(const char *s)
{
    return s != NULL && valid_code(s, SIDIK_REGION_MAX);
}

static MDB_val queue_key(const char *region, uint64_t seq, uint8_t buf[QKEY_MAX])
{
    size_t n = strlen(region);
    memcpy(buf, region, n);
    buf[n] = 0;
    sidik_lmdb_put_be64(seq, buf + n + 1);
    return (MDB_val){n + 9, buf};
}

static MDB_val exp_key(int64_t until_ms, const char *id, uint8_t buf[EKEY_MAX])
{
    sidik_lmdb_put_be64((uint64_t)until_ms ^ (1ull << 63), buf); /* signed order as unsigned */
    size_t n = strlen(id);
    memcpy(buf + 8, id, n);
    return (MDB_val){8 + n, buf};
}

typedef struct dbs {
    MDB_txn *txn;
    bool write;
    MDB_dbi printq, lease, lease_exp;
} dbs;

static dbs get_dbs(sidik_control_txn *t)
{
    dbs d;
    d.txn = sidik__control_txn(t, &d.write);
    sidik__control_print_dbis(t, &d.printq, &d.lease, &d.lease_exp);
    return d;
}

int sidik_control_print_enqueue(sidik_control_txn *t, const char *id, const char *region)
{
    if (t == NULL || id == NULL || region == NULL || !valid_code(region, SIDIK_REGION_MAX))
        return SIDIK_EINVAL;
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, id, &e);
    if (rc != 0)
        return rc;
    dbs d = get_dbs(t);
    if (!d.write || e.status != SIDIK_STATUS_PRINT_READY)
        return SIDIK_ESTATE;
    MDB_val lk = {strlen(id), (void *)id}, lv;
    if (mdb_get(d.txn, d.lease, &lk, &lv) == 0)
        return SIDIK_EEXISTS;
    uint8_t kb[QKEY_MAX];
    MDB_val k = queue_key(region, e.journal_seq, kb), v = {strlen(id), (void *)id};
    return sidik_lmdb_err(mdb_put(d.txn, d.printq, &k, &v, MDB_NOOVERWRITE));
}

int sidik_control_print_expire(sidik_control_txn *t, int64_t now_ms, uint32_t *returned)
{
    uint32_t ignore;
    if (returned == NULL)
        returned = &ignore;
    *returned = 0;
    if (t == NULL)
        return SIDIK_EINVAL;
    dbs d = get_dbs(t);
    if (!d.write)
        return SIDIK_ESTATE;
    MDB_cursor *cur;
    int rc = sidik_lmdb_err(mdb_cursor_open(d.txn, d.lease_exp, &cur));
    if (rc != 0)
        return rc;
    uint8_t limit[8];
    sidik_lmdb_put_be64((uint64_t)now_ms ^ (1ull << 63), limit);
    MDB_val k, v;
    int mrc;
    while (rc == 0 && (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size <= 8 || k.mv_size > EKEY_MAX || memcmp(k.mv_data, limit, 8) > 0)
            break; /* the earliest lease still runs */
        sidik_enroll_id id = {0};
        memcpy(id, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
        MDB_val lk = {strlen(id), id}, lv;
        lease_record l;
        rc = sidik_lmdb_err(mdb_get(d.txn, d.lease, &lk, &lv));
        if (rc == 0 && lv.mv_size != sizeof l)
            rc = SIDIK_ECORRUPT;
        if (rc == SIDIK_ENOTFOUND)
            rc = SIDIK_ECORRUPT; /* the index names a lease that is not there */
        if (rc != 0)
            break;
        memcpy(&l, lv.mv_data, sizeof l);
        uint8_t qb[QKEY_MAX];
        MDB_val qk = queue_key(l.region, l.seq, qb), qv = {strlen(id), id};
        rc = sidik_lmdb_err(mdb_put(d.txn, d.printq, &qk, &qv, 0));
        if (rc == 0)
            rc = sidik_lmdb_err(mdb_del(d.txn, d.lease, &lk, NULL));
        if (rc == 0)
            rc = sidik_lmdb_err(mdb_cursor_del(cur, 0));
        if (rc == 0)
            (*returned)++;
    }
    mdb_cursor_close(cur);
    return rc;
}

int sidik_control_print_lease(sidik_control_txn *t, const char *region, const char *station,
                              int64_t now_ms, int64_t lease_ms, uint32_t max, sidik_enroll_id *ids,
                              uint32_t *n)
{
    if (t == NULL || region == NULL || station == NULL || ids == NULL || n == NULL ||
        !valid_code(region, SIDIK_REGION_MAX) || !valid_code(station, SIDIK_STATION_MAX) ||
        lease_ms <= 0 || lease_ms > 7LL * 86400 * 1000)
        return SIDIK_EINVAL;
    *n = 0;
    int rc = sidik_control_print_expire(t, now_ms, NULL);
    if (rc != 0)
        return rc;
    dbs d = get_dbs(t);
    uint8_t kb[QKEY_MAX];
    MDB_val k = queue_key(region, 0, kb), v;
    size_t prefix = k.mv_size - 8;
    sidik__range r;
    if ((rc = sidik__range_open(&r, d.txn, d.printq, &k, 8)) != 0)
        return rc;
    /* After each delete, LMDB's NEXT lands on the entry that followed. */
    for (bool first = true; *n < max && (rc = sidik__range_step(&r, first, &k, &v)) == 0;
         first = false) {
        if (v.mv_size == 0 || v.mv_size > SIDIK_ENROLL_ID_MAX) {
            rc = SIDIK_ECORRUPT;
            break;
        }
        lease_record l = {.until_ms = now_ms + lease_ms,
                          .seq = sidik_lmdb_get_be64((const uint8_t *)k.mv_data + prefix)};
        strcpy(l.region, region);
        strcpy(l.station, station);
        char *id = ids[*n];
        memset(id, 0, sizeof(sidik_enroll_id));
        memcpy(id, v.mv_data, v.mv_size);
        MDB_val lk = {strlen(id), id}, lv = {sizeof l, &l};
        uint8_t eb[EKEY_MAX];
        MDB_val ek = exp_key(l.until_ms, id, eb), ev = {0, ""};
        rc = sidik_lmdb_err(mdb_put(d.txn, d.lease, &lk, &lv, MDB_NOOVERWRITE));
        if (rc == 0)
            rc = sidik_lmdb_err(mdb_put(d.txn, d.lease_exp, &ek, &ev, 0));
        if (rc == 0)
            rc = sidik_lmdb_err(mdb_cursor_del(r.cur, 0));
        if (rc != 0)
            break;
        (*n)++;
    }
    mdb_cursor_close(r.cur);
    return rc == 1 ? 0 : rc;
}

int sidik_control_print_count(sidik_control_txn *t, uint64_t *queued, uint64_t *leased)
{
    if (t == NULL || queued == NULL)
        return SIDIK_EINVAL;
    dbs d = get_dbs(t);
    MDB_stat st;
    int rc = sidik_lmdb_err(mdb_stat(d.txn, d.printq, &st));
    if (rc != 0)
        return rc;
    *queued = st.ms_entries;
    if (leased != NULL) {
        if ((rc = sidik_lmdb_err(mdb_stat(d.txn, d.lease, &st))) != 0)
            return rc;
        *leased = st.ms_entries;
    }
    return 0;
}

int sidik_control_print_ack(sidik_control_txn *t, const char *id, const char *station,
                            int64_t now_ms)
{
    if (t == NULL || id == NULL || station == NULL || !valid_code(station, SIDIK_STATION_MAX) ||
        !sidik__control_valid_id(id))
        return SIDIK_EINVAL;
    dbs d = get_dbs(t);
    if (!d.write)
        return SIDIK_ESTATE;
    MDB_val lk = {strlen(id), (void *)id}, lv;
    lease_record l;
    int rc = sidik_lmdb_err(mdb_get(d.txn, d.lease, &lk, &lv));
    if (rc != 0)
        return rc;
    if (lv.mv_size != sizeof l)
        return SIDIK_ECORRUPT;
    memcpy(&l, lv.mv_data, sizeof l);
    if (strncmp(l.station, station, sizeof l.station) != 0)
        return SIDIK_EDENIED;
    rc = sidik_control_enroll_status(t, id, SIDIK_STATUS_PRINTED, now_ms, 0);
    uint8_t eb[EKEY_MAX];
    MDB_val ek = exp_key(l.until_ms, id, eb);
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_del(d.txn, d.lease, &lk, NULL));
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_del(d.txn, d.lease_exp, &ek, NULL));
    return rc;
}
