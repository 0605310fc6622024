/*
 * The Admin service (gRPC sidik.v1.Admin): a node's shards, its figures
 * and its settings, for callers with an admin certificate.
 *
 *  - ListShards: every gallery shard with its records, bytes and state
 *    ("active": every shard of a node takes new records and serves
 *    searches; "rebalancing" while a rebalance runs on the node, when
 *    records may be leaving or arriving).
 *  - AddShard: a new, empty shard (sidik_shardset_add), answered with it
 *    and audited (SIDIK_AUDIT_ADMIN, actor "admin:NAME", subject "shard N").
 *  - Rebalance (server-streaming): records move from fuller to emptier
 *    shards on a thread of their own while the server serves and searches
 *    (sidik_shardset_rebalance_with); RebalanceProgress {moved, total}
 *    messages come back on the caller's loop at most every progress_ms,
 *    then one with done = true and moved == total. max_moves caps the
 *    moves (0: as many as balance needs). One rebalance at a time per node:
 *    another is refused with SIDIK_ESTATE (FAILED_PRECONDITION) naming who
 *    started the running one. Audited when it starts and when it ends (the
 *    records moved, and how it ended).
 *  - Stats: gallery persons (the dedup stage's search gallery), the dedup
 *    queue (recorded RECEIVED, not yet decided), the review queue
 *    (ADJUDICATE), the print queue (authorisations waiting for a station),
 *    decisions a second over the last minute and the capacity a day at the
 *    current gallery size (below).
 *  - GetConfig: every setting in force, as `sidikd --check-config` prints
 *    it (sidik_config_format), paths included: there are no secrets in it.
 *
 * Capacity estimate: the dedup stage reports its cumulative decisions and
 * the time it spent busy deciding them (sidik_dedup_work). Over the last
 * minute's samples, busy seconds per decision is what one decision costs
 * at the current gallery size (a search's cost grows with the gallery, so
 * the recent figure is the one that counts); capacity_per_day = 86400 /
 * that, the decisions a day if the stage were never idle. With no decision
 * in the last minute the cumulative figures since start are used, and with
 * none at all it is 0 (not yet measured). The figure assumes the present
 * mix of work (batch sizes, probe quality) and the present sharing of the
 * cores with ingest and rebalancing.
 *
 * Threads: sidik_admin_answer, _sample and _rebalance_start may be called
 * from any thread; a rebalance job's callbacks run on the loop it was
 * started on, and sidik_admin_rebalance_cancel is called there too.
 */
#ifndef SIDIK_ADMIN_SERVICE_H
#define SIDIK_ADMIN_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sidik/authz.h"
#include "sidik/config.h"
#include "sidik/control.h"
#include "sidik/dedup.h"
#include "sidik/shardset.h"
#include "sidik/tls.h"

#define SIDIK_ADMIN_PROGRESS_MS    200   /* default interval of Rebalance progress */
#define SIDIK_ADMIN_RATE_WINDOW_MS 60000 /* decided_per_second is over this */

typedef struct sidik_admin sidik_admin;
typedef struct sidik_admin_job sidik_admin_job;

typedef struct sidik_admin_options {
    sidik_control *control;     /* borrowed; outlives the service */
    sidik_shardset *shards;     /* borrowed */
    sidik_dedup *dedup;         /* borrowed; NULL: gallery_persons counts the shards' records
                                   and the rates are 0 */
    const sidik_config *config; /* borrowed: what GetConfig answers */
    uint32_t progress_ms;       /* Rebalance progress at most this often; 0: 200 */
    int64_t (*now_ns)(void);    /* tests: a monotonic clock; NULL: CLOCK_MONOTONIC */
    int64_t (*now_ms)(void);    /* tests: the audit's wall clock; NULL: CLOCK_REALTIME */
    /* Tests and drills: called on the rebalance thread after the plan and
     * after each batch, once that progress was handed to the loop (every
     * time, the interval aside), to hold the thread at a chosen point or
     * slow the moves down (SIDIK_DRILL_SLOW_REBALANCE_MS in sidikd). */
    void (*after_batch)(void *ctx, uint64_t moved);
    void *test_ctx;
} sidik_admin_options;

/** Errors: SIDIK_EINVAL (control, shards or config missing), SIDIK_ENOMEM. */
int sidik_admin_create(const sidik_admin_options *o, sidik_admin **out);

/** Cancels a running rebalance and waits for its thread to leave the shard
 *  set (at most one batch), then frees a. The job's loop still runs its
 *  last callback (done with SIDIK_ESHUTDOWN, if its call is still there)
 *  and frees the job; a job never touches a afterwards. NULL is ignored. */
void sidik_admin_destroy(sidik_admin *a);

/** sidikd is stopping: a running rebalance stops after the batch in hand
 *  (its caller's done gets SIDIK_ESHUTDOWN) and a new one is refused with
 *  SIDIK_ESHUTDOWN. Returns at once; any thread. NULL is ignored. */
void sidik_admin_stop(sidik_admin *a);

/** Answers one unary call of method m (ListShards, AddShard, Stats,
 *  GetConfig) from who with request p[0..n); *out (sidik_free it) and *len
 *  get the encoded response. Errors: SIDIK_EFORMAT (the request does not
 *  parse), SIDIK_EDENIED (not an admin), SIDIK_EUNSUPPORTED (not one of
 *  those methods), SIDIK_EFULL (SIDIK_SHARDSET_MAX shards), SIDIK_ENOMEM,
 *  and the shard set's and control store's errors; why[0..cap) names what
 *  is wrong for the caller. */
int sidik_admin_answer(sidik_admin *a, sidik_method m, const sidik_identity *who, const uint8_t *p,
                       size_t n, uint8_t **out, size_t *len, char *why, size_t cap);

/** Takes one reading of the dedup stage's work counters for the rates
 *  (sidikd: every second, from a timer). Any thread. */
void sidik_admin_sample(sidik_admin *a);

typedef struct sidik_admin_rebalance_cb {
    /* An encoded RebalanceProgress (p borrowed for the call); the last one
     * has done = true and comes just before done(ctx, 0, NULL). */
    void (*progress)(void *ctx, const uint8_t *p, size_t n);
    /* The end, exactly once: 0, or the error (SIDIK_ESHUTDOWN when the
     * service is destroyed meanwhile, shard and control errors) with a
     * text for the caller. */
    void (*done)(void *ctx, int rc, const char *why);
} sidik_admin_rebalance_cb;

/** Starts Rebalance for who with request p[0..n) on its own thread; the
 *  callbacks in cb (borrowed until done) run on loop's thread with ctx,
 *  never from inside this call. Call it on loop's thread. *job identifies
 *  it for sidik_admin_rebalance_cancel. Errors (the callbacks then never
 *  run): SIDIK_EFORMAT, SIDIK_EDENIED, SIDIK_ESTATE (a rebalance is
 *  already running: why names who started it), SIDIK_ENOMEM, -errno (no
 *  thread), SIDIK_ESHUTDOWN (after sidik_admin_stop); why[0..cap). A
 *  failure to write the start's audit entry comes through done. */
int sidik_admin_rebalance_start(sidik_admin *a, uv_loop_t *loop, const sidik_identity *who,
                                const uint8_t *p, size_t n, const sidik_admin_rebalance_cb *cb,
                                void *ctx, sidik_admin_job **job, char *why, size_t cap);

/** On the job's loop, before its done callback ran: the caller is gone.
 *  No callback runs after this; the rebalance stops after the batch in
 *  hand, is audited as cancelled, and the job frees itself on its loop
 *  (the loop keeps running until then: at most one batch). */
void sidik_admin_rebalance_cancel(sidik_admin_job *job);

#endif
