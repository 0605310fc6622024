/*
 * What every LMDB environment in storage/ shares: its error codes as
 * sidik's (translated here once) and the way it is opened.
 */
#include "sidik/lmdb_env.h"
#include "sidik/common.h"

#include <errno.h>
#include <sys/stat.h>

int sidik_lmdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return SIDIK_ENOTFOUND;
    case MDB_KEYEXIST:
        return SIDIK_EEXISTS;
    case MDB_MAP_FULL:
    case ENOSPC:
    case EDQUOT:
        return SIDIK_EFULL;
    case MDB_TXN_FULL:
        return SIDIK_ETOOBIG;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return SIDIK_ECORRUPT;
    case MDB_VERSION_MISMATCH:
        return SIDIK_EVERSION;
    case MDB_READERS_FULL:
        return SIDIK_EBUSY;
    case ENOMEM:
        return SIDIK_ENOMEM;
    default:
        /* LMDB's own codes sit in [MDB_KEYEXIST, MDB_LAST_ERRCODE]; the
         * rest (bad transaction, bad DBI, ...) are our bugs. */
        return rc > 0 ? -rc : SIDIK_EINTERNAL;
    }
}

int sidik_lmdb_open(const char *dir, uint64_t map_bytes, unsigned flags, const sidik_lmdb_db *dbs,
                    size_t n, MDB_env **env, MDB_txn **txn, const char **why)
{
    *env = NULL;
    *txn = NULL;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        *why = "cannot create the folder";
        return -errno;
    }
    int rc = sidik_lmdb_err(mdb_env_create(env));
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_env_set_maxdbs(*env, (MDB_dbi)n));
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_env_set_mapsize(*env, (size_t)map_bytes));
    /* NOTLS: read transactions are not tied to a thread's slot, so one
     * thread may hold several (a walk that looks records up) and a worker
     * pool may begin and end them on any thread. */
    if (rc == 0 && (rc = sidik_lmdb_err(mdb_env_open(*env, dir, flags | MDB_NOTLS, 0640))) != 0)
        *why = "LMDB refused to open the folder";
    /* Reader slots of processes that died (SIGKILL) would otherwise stay
     * taken until the table is full. */
    int dead;
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_reader_check(*env, &dead));
    if (rc == 0)
        rc = sidik_lmdb_err(mdb_txn_begin(*env, NULL, 0, txn));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sidik_lmdb_err(mdb_dbi_open(*txn, dbs[i].name, MDB_CREATE, dbs[i].dbi));
    if (rc != 0)
        sidik_lmdb_open_finish(env, txn, rc);
    return rc;
}

int sidik_lmdb_open_finish(MDB_env **env, MDB_txn **txn, int rc)
{
    if (rc == 0 && *txn != NULL)
        rc = sidik_lmdb_err(mdb_txn_commit(*txn));
    else if (*txn != NULL)
        mdb_txn_abort(*txn);
    *txn = NULL;
    if (rc != 0 && *env != NULL) {
        mdb_env_close(*env);
        *env = NULL;
    }
    return rc;
}
