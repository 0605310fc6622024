/*
 * Who the gallery's persons are (sidik/control.h): each record id names the
 * enrollment that made it UNIQUE, and each NIK names the first record that
 * holds it, so the dedup stage can flag a NIK already enrolled and name the
 * enrollment behind a matched record.
 *
 * Databases:
 *   person  record id (u64 big-endian) -> enrollment id
 *   nik     NIK (16 digits) -> record id (u64 big-endian)
 */
#include "control_int.h"
#include "sidik/common.h"

#include <string.h>

int sidik_control_person_put(sidik_control_txn *t, uint64_t record_id, const char *id,
                             const char *nik)
{
    if (t == NULL || record_id == 0 || id == NULL || nik == NULL ||
        !sidik__control_valid_id(id) || !sidik__control_valid_nik(nik))
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    if (!write)
        return SIDIK_ESTATE;
    MDB_dbi person, nikdb;
    sidik__control_person_dbis(t, &person, &nikdb);
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(record_id, kb), v = {strlen(id), (void *)id};
    int rc = mdb_put(txn, person, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) { /* the same again is no change; another enrollment is */
        if (v.mv_size != strlen(id) || memcmp(v.mv_data, id, v.mv_size) != 0)
            return SIDIK_EEXISTS;
        rc = 0;
    }
    if (rc != 0 || nik[0] == 0)
        return sidik_lmdb_err(rc);
    MDB_val nk = {SIDIK_NIK_LEN, (void *)nik}, nv = {8, kb};
    rc = mdb_put(txn, nikdb, &nk, &nv, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? 0 : sidik_lmdb_err(rc); /* the first holder stays */
}

int sidik_control_person_id(sidik_control_txn *t, uint64_t record_id, sidik_enroll_id id)
{
    if (t == NULL || record_id == 0 || id == NULL)
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    MDB_dbi person, nikdb;
    sidik__control_person_dbis(t, &person, &nikdb);
    uint8_t kb[8];
    MDB_val k = sidik_lmdb_be64_key(record_id, kb), v;
    int rc = mdb_get(txn, person, &k, &v);
    if (rc != 0)
        return sidik_lmdb_err(rc);
    if (v.mv_size == 0 || v.mv_size > SIDIK_ENROLL_ID_MAX)
        return SIDIK_ECORRUPT;
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = 0;
    return 0;
}

int sidik_control_person_by_nik(sidik_control_txn *t, const char *nik, uint64_t *record_id)
{
    if (t == NULL || nik == NULL || record_id == NULL || nik[0] == 0 ||
        !sidik__control_valid_nik(nik))
        return SIDIK_EINVAL;
    bool write;
    MDB_txn *txn = sidik__control_txn(t, &write);
    MDB_dbi person, nikdb;
    sidik__control_person_dbis(t, &person, &nikdb);
    MDB_val k = {SIDIK_NIK_LEN, (void *)nik}, v;
    int rc = mdb_get(txn, nikdb, &k, &v);
    if (rc != 0)
        return sidik_lmdb_err(rc);
    if (v.mv_size != 8)
        return SIDIK_ECORRUPT;
    *record_id = sidik_lmdb_get_be64(v.mv_data);
    return *record_id != 0 ? 0 : SIDIK_ECORRUPT;
}
