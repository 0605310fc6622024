/*
 * A node's gallery: its shards (`shard-NNNN` folders under one folder) and
 * the control store's directory of record id -> shard, kept in step.
 *
 * Records are stable for life; where they live may change. Adding a shard
 * and rebalancing move records between shards while searches run:
 *  - a move copies a batch to the new shard, flips their directory entries
 *    in one transaction, then deletes them from the old shard;
 *  - sidik_shardset_fetch reads the directory, then the shard it names, and
 *    reads the directory again if the record just left (a move's delete
 *    only ever follows its flip), so a search's lookup never misses;
 *  - sidik_shardset_each counts a record only in the shard one directory
 *    snapshot names, and holds deletes off while it runs, so a walk sees
 *    every record exactly once.
 * A crash between the steps leaves a copy the directory does not name (an
 * orphan): invisible to fetch and each, and removed by the next rebalance.
 *
 * Threads: every function may be called from any thread, rebalance
 * alongside fetch, each and put (one rebalance at a time).
 */
#ifndef SIDIK_SHARDSET_H
#define SIDIK_SHARDSET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/control.h"
#include "sidik/search.h"
#include "sidik/shard.h"

typedef struct sidik_shardset sidik_shardset;

#define SIDIK_SHARDSET_MAX 4096

typedef struct sidik_shard_info {
    uint32_t number;
    uint64_t records; /* the shard's own count, orphans included */
    uint64_t bytes;   /* LMDB pages in use */
} sidik_shard_info;

typedef struct sidik_shardset_options {
    /* Tests: called by fetch between reading the directory and reading the
     * shard, to widen the window a move can fall into. */
    void (*fetch_gap)(void *ctx);
    void *ctx;
    /* Every shard's I/O seam (sidik_shard_options; NULL in production),
     * also of shards added later. */
    int (*fault)(void *ctx);
    void *fault_ctx;
} sidik_shardset_options;

/** Opens every shard in folder dir (created if needed; a node with no shard
 *  gets shard 0). control is borrowed until close; o may be NULL. Errors:
 *  those of sidik_shard_open for the shard named in *why, SIDIK_ENOMEM,
 *  -errno. */
int sidik_shardset_open(const char *dir, sidik_control *control, const sidik_shardset_options *o,
                        sidik_shardset **out, const char **why);
void sidik_shardset_close(sidik_shardset *set);

/** Creates the next shard (numbered one above the highest) and returns its
 *  number. Errors: SIDIK_EFULL (SIDIK_SHARDSET_MAX shards), shard errors. */
int sidik_shardset_add(sidik_shardset *set, uint32_t *number);

/** Fills out[0..*n) with up to cap shards in number order. */
int sidik_shardset_list(sidik_shardset *set, sidik_shard_info *out, uint32_t cap, uint32_t *n);

/** Stores a batch in the emptiest shard and names it in the directory.
 *  Safe to repeat after a crash: SIDIK_EEXISTS (with *bad) means an id is
 *  already stored and named; a copy left unnamed is replaced. Errors: those
 *  of sidik_shard_put (with *bad), and of the control store. */
int sidik_shardset_put(sidik_shardset *set, const sidik_shard_record *r, size_t n, size_t *bad);

/** The templates of record id, wherever it lives; shaped as the search's
 *  fetch callback (ctx is the set). Errors: SIDIK_ENOTFOUND, SIDIK_ECORRUPT,
 *  control store errors. */
int sidik_shardset_fetch(void *set, uint64_t id, sidik_fmr *out);

/** The most records one call of sidik_shardset_each's fn is given. */
#define SIDIK_SHARDSET_EACH_BATCH 64

/** Calls fn with every record the directory names, ids[i] with signature
 *  sigs[i], in batches of 1 to SIDIK_SHARDSET_EACH_BATCH records of one
 *  shard (a search gallery takes a batch in one
 *  sidik_gallery_insert_many), until fn returns nonzero (returned: the
 *  first failure in shard order). Each shard is walked as 8 ranges of ids
 *  (sidik_shard_each_range), one task each on pool (NULL: one after the
 *  other in the caller's thread), so fn may run on several threads at
 *  once; computing the signatures is most of a walk's time. Each walk reads
 *  the directory from a snapshot of its own, taken under the lock that
 *  keeps rebalancing out. */
int sidik_shardset_each(sidik_shardset *set, const sidik_pool *pool,
                        int (*fn)(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs,
                                  size_t n, uint32_t shard),
                        void *ctx);

/** Moves records from fuller to emptier shards until no two differ by more
 *  than one, and removes orphans met on the way. progress (may be NULL) is
 *  called after each batch with records moved and the total to move.
 *  *moved (may be NULL) gets the count. Errors: shard and control errors
 *  (what was moved stays moved and consistent). */
int sidik_shardset_rebalance(sidik_shardset *set,
                             void (*progress)(void *ctx, uint64_t moved, uint64_t total),
                             void *ctx, uint64_t *moved);

typedef struct sidik_rebalance_options {
    /* Stop once this many records have moved; 0: as many as balance needs. */
    uint64_t max_moves;
    /* May be NULL. Called on the rebalancing thread once the moves are
     * planned (moved 0; only when there is something to move) and after
     * each batch: records moved so far and the moves planned, at most
     * max_moves and never below moved. The plan is the fewest moves that
     * leave no two shards more than one record apart, counted at the
     * start; records put or moved meanwhile can make it grow. */
    void (*progress)(void *ctx, uint64_t moved, uint64_t total);
    void *ctx;
    /* May be NULL. Read between batches (any thread may set it): nonzero
     * stops the rebalance after the batch in hand, every record still in
     * exactly one shard, with SIDIK_ECANCELLED. */
    const _Atomic int *cancel;
} sidik_rebalance_options;

/** sidik_shardset_rebalance with a cap, a cancel flag and the plan in its
 *  progress calls (o may be NULL). Waits while another rebalance of set
 *  runs. *moved (may be NULL) gets the count also on error. Errors:
 *  SIDIK_ECANCELLED (*cancel was set), shard and control errors (what was
 *  moved stays moved and consistent). */
int sidik_shardset_rebalance_with(sidik_shardset *set, const sidik_rebalance_options *o,
                                  uint64_t *moved);

#endif
