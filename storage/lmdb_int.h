/*
 * Private to storage/: LMDB error translation and opening.
 */
#ifndef SIDIK_LMDB_INT_H
#define SIDIK_LMDB_INT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* LMDB's result codes (and the errno values it passes on) as sidik's. */
int sidik__lmdb_err(int rc);

typedef struct sidik__lmdb_db {
    const char *name;
    MDB_dbi *dbi;
} sidik__lmdb_db;

/* Creates folder dir if needed and opens the environment in it (map size,
 * flags plus MDB_NOTLS, dead readers' slots cleared), then opens or creates
 * the named databases dbs[0..n) in a first write transaction, left open in
 * *txn for the caller's format checks. The caller ends it with
 * sidik__lmdb_open_finish. On error nothing is left open (*why says what
 * LMDB refused). */
int sidik__lmdb_open(const char *dir, uint64_t map_bytes, unsigned flags, const sidik__lmdb_db *dbs,
                     size_t n, MDB_env **env, MDB_txn **txn, const char **why);

/* Commits *txn when rc is 0 (else aborts it), closes *env when anything
 * failed, and returns the outcome. */
int sidik__lmdb_open_finish(MDB_env **env, MDB_txn **txn, int rc);

#endif
