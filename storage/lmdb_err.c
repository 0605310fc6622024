/*
 * LMDB's result codes as sidik's (sidik/err.h), translated here once for
 * every LMDB environment in storage/.
 */
#include "lmdb_int.h"
#include "sidik/common.h"

#include <errno.h>

int sidik__lmdb_err(int rc)
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
