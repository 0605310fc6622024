/*
 * Shared by the storage tests: scratch folders, journal payloads that are a
 * function of their sequence number (so any entry read back can be checked
 * without keeping a copy), and raw LMDB writes behind a store's back.
 */
#ifndef SIDIK_STORAGE_TEST_H
#define SIDIK_STORAGE_TEST_H

#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

/* A fresh folder under TMPDIR (or /tmp); the caller frees the path with
 * scratch_remove(). */
static inline char *scratch_create(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/sidik-journal-XXXXXX", base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline int scratch_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void scratch_remove(char *dir)
{
    nftw(dir, scratch_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Payload of entry seq: its length (up to max) and bytes both follow from
 * seq, so a reader can check any entry it meets. */
static inline size_t payload_len(uint64_t seq, size_t max)
{
    uint64_t s = seq * 7919;
    return (size_t)(sidik_test_rand(&s) % (max + 1));
}

static inline void payload_fill(uint64_t seq, uint8_t *p, size_t n)
{
    uint64_t s = seq;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(sidik_test_rand(&s) >> 56);
}

static inline int payload_check(uint64_t seq, const uint8_t *p, size_t n, size_t max)
{
    if (n != payload_len(seq, max))
        return -1;
    uint64_t s = seq;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(sidik_test_rand(&s) >> 56))
            return -1;
    return 0;
}

/* One round of a SIGKILL harness: runs child(ctx, ack, seed) in a forked
 * process, where it writes each sequence number it acknowledges to fd ack
 * and never returns; kills it after a random delay below max_ns; returns
 * the highest sequence acknowledged so far (acked included). A child that
 * exits by itself fails the test. */
static inline uint64_t crash_round(void (*child)(void *ctx, int ack, uint64_t seed), void *ctx,
                                   uint64_t *rng, long max_ns, uint64_t acked)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child(ctx, fds[1], sidik_test_rand(rng));
        _exit(2);
    }
    close(fds[1]);
    struct timespec d = {0, (long)(sidik_test_rand(rng) % (uint64_t)max_ns)};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        print_error("the child exited by itself (%d)\n", WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status));
    uint64_t a;
    while (read(fds[0], &a, sizeof a) == (ssize_t)sizeof a)
        acked = a > acked ? a : acked;
    close(fds[0]);
    return acked;
}

/* Writes val under key in named database db of the LMDB environment in
 * dir, as damage or an old version would; a NULL val deletes the key. */
static inline void raw_lmdb_put(const char *dir, const char *db, const void *key, size_t kn,
                                const void *val, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, 1ull << 40), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {kn, (void *)key}, v = {n, (void *)val};
    if (val != NULL)
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Copies the value under key in database db of the LMDB environment in dir
 * into out (at most cap bytes); returns its size, 0 when absent. */
static inline size_t raw_lmdb_get(const char *dir, const char *db, const void *key, size_t kn,
                                  void *out, size_t cap)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = {kn, (void *)key}, v;
    size_t n = 0;
    if (mdb_get(txn, dbi, &k, &v) == 0) {
        n = v.mv_size;
        memcpy(out, v.mv_data, n < cap ? n : cap);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

#endif
