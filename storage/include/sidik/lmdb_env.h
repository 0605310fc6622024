/*
 * LMDB environments the sidik way: one error translation and one opening
 * helper, for storage's control store and gallery shards and for the
 * office spool behind `sidik upload` (cli/spool.c), so every LMDB file
 * sidik writes is opened, sized and checked the same way.
 *
 * Thread safety: as LMDB's; environments are opened with MDB_NOTLS, so a
 * read transaction may move between threads.
 */
#ifndef SIDIK_LMDB_ENV_H
#define SIDIK_LMDB_ENV_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* LMDB's result codes (and the errno values it passes on) as sidik's. */
int sidik_lmdb_err(int rc);

typedef struct sidik_lmdb_db {
    const char *name;
    MDB_dbi *dbi;
} sidik_lmdb_db;

/* Creates folder dir if needed and opens the environment in it (map size,
 * flags plus MDB_NOTLS, dead readers' slots cleared), then opens or creates
 * the named databases dbs[0..n) in a first write transaction, left open in
 * *txn for the caller's format checks. The caller ends it with
 * sidik_lmdb_open_finish. On error nothing is left open (*why says what
 * LMDB refused). */
int sidik_lmdb_open(const char *dir, uint64_t map_bytes, unsigned flags, const sidik_lmdb_db *dbs,
                     size_t n, MDB_env **env, MDB_txn **txn, const char **why);

/* Commits *txn when rc is 0 (else aborts it), closes *env when anything
 * failed, and returns the outcome. */
int sidik_lmdb_open_finish(MDB_env **env, MDB_txn **txn, int rc);

/* Numbers in keys are big-endian, so LMDB's byte order is their order. */
static inline void sidik_lmdb_put_be64(uint64_t x, uint8_t out[8])
{
    for (int i = 7; i >= 0; i--, x >>= 8)
        out[i] = (uint8_t)x;
}

static inline uint64_t sidik_lmdb_get_be64(const uint8_t p[8])
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | p[i];
    return x;
}

/* An 8-byte key of x in buf. */
static inline MDB_val sidik_lmdb_be64_key(uint64_t x, uint8_t buf[8])
{
    sidik_lmdb_put_be64(x, buf);
    return (MDB_val){8, buf};
}

#endif
