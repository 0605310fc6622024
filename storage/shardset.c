/*
 * A node's shards and the directory (sidik/shardset.h): placement, lookups
 * that survive moves, and rebalancing.
 */
#include "sidik/common.h"
#include "sidik/shardset.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MOVE_BATCH    256
#define FETCH_RETRIES 4

struct sidik_shardset {
    char *dir;
    sidik_control *control;
    sidik_shardset_options o;
    pthread_mutex_t shards_mu; /* guards n and adding to shard[] */
    uint32_t n;                /* shard numbers are 0 .. n-1; gaps are NULL */
    sidik_shard *shard[SIDIK_SHARDSET_MAX];
    pthread_rwlock_t move_lock; /* each: read; a move's delete: write */
    /* Puts (read) against what takes a record unnamed by the directory for
     * an orphan (write): a put's record is in its shard a moment before
     * the directory names it. Each holds it too (read): its walks read the
     * directory from snapshots taken at different moments, so no move may
     * rename a record between them. */
    pthread_rwlock_t put_lock;
    pthread_mutex_t rebalance_mu;
};

static sidik_shard *shard_at(sidik_shardset *set, uint32_t number)
{
    pthread_mutex_lock(&set->shards_mu);
    sidik_shard *s = number < set->n ? set->shard[number] : NULL;
    pthread_mutex_unlock(&set->shards_mu);
    return s;
}

static uint32_t shard_count(sidik_shardset *set)
{
    pthread_mutex_lock(&set->shards_mu);
    uint32_t n = set->n;
    pthread_mutex_unlock(&set->shards_mu);
    return n;
}

static int open_one(sidik_shardset *set, uint32_t number, const char **why)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/shard-%04u", set->dir, number) >= (int)sizeof path)
        return SIDIK_EINVAL;
    sidik_shard *s;
    sidik_shard_options so = {.fault = set->o.fault, .fault_ctx = set->o.fault_ctx};
    int rc = sidik_shard_open(path, number, &so, &s, why);
    if (rc != 0)
        return rc;
    set->shard[number] = s;
    if (number >= set->n)
        set->n = number + 1;
    return 0;
}

/* "shard-" and at least four digits, exactly as open_one names them. */
static int parse_shard_name(const char *name, uint32_t *number)
{
    unsigned v;
    char back[32];
    if (strncmp(name, "shard-", 6) != 0 || sscanf(name + 6, "%u", &v) != 1 ||
        v >= SIDIK_SHARDSET_MAX)
        return -1;
    snprintf(back, sizeof back, "shard-%04u", v);
    if (strcmp(back, name) != 0)
        return -1;
    *number = v;
    return 0;
}

int sidik_shardset_open(const char *dir, sidik_control *control, const sidik_shardset_options *o,
                        sidik_shardset **out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (dir == NULL || control == NULL || out == NULL)
        return SIDIK_EINVAL;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        *why = "cannot create the gallery folder";
        return -errno;
    }
    sidik_shardset *set = sidik_trycalloc(1, sizeof *set);
    if (set == NULL || (set->dir = sidik_trystrdup(dir)) == NULL) {
        sidik_free(set);
        return SIDIK_ENOMEM;
    }
    set->control = control;
    if (o != NULL)
        set->o = *o;
    pthread_mutex_init(&set->shards_mu, NULL);
    pthread_mutex_init(&set->rebalance_mu, NULL);
    pthread_rwlock_init(&set->move_lock, NULL);
    pthread_rwlock_init(&set->put_lock, NULL);
    int rc = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        rc = -errno;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        uint32_t number;
        if (parse_shard_name(e->d_name, &number) == 0)
            rc = open_one(set, number, why);
    }
    if (d != NULL)
        closedir(d);
    if (rc == 0 && set->n == 0)
        rc = open_one(set, 0, why);
    if (rc != 0) {
        sidik_shardset_close(set);
        return rc;
    }
    *out = set;
    return 0;
}

void sidik_shardset_close(sidik_shardset *set)
{
    if (set == NULL)
        return;
    for (uint32_t i = 0; i < set->n; i++)
        sidik_shard_close(set->shard[i]);
    pthread_rwlock_destroy(&set->put_lock);
    pthread_rwlock_destroy(&set->move_lock);
    pthread_mutex_destroy(&set->rebalance_mu);
    pthread_mutex_destroy(&set->shards_mu);
    sidik_free(set->dir);
    sidik_free(set);
}

int sidik_shardset_add(sidik_shardset *set, uint32_t *number)
{
    if (set == NULL || number == NULL)
        return SIDIK_EINVAL;
    pthread_mutex_lock(&set->shards_mu);
    int rc = set->n >= SIDIK_SHARDSET_MAX ? SIDIK_EFULL : 0;
    if (rc == 0) {
        *number = set->n;
        rc = open_one(set, set->n, NULL);
    }
    pthread_mutex_unlock(&set->shards_mu);
    if (rc == 0)
        SIDIK_LOG_INFO("shard added", "shard=%u", *number);
    return rc;
}

int sidik_shardset_list(sidik_shardset *set, sidik_shard_info *out, uint32_t cap, uint32_t *n)
{
    if (set == NULL || out == NULL || n == NULL)
        return SIDIK_EINVAL;
    *n = 0;
    uint32_t count = shard_count(set);
    for (uint32_t i = 0; i < count && *n < cap; i++) {
        sidik_shard *s = shard_at(set, i);
        if (s == NULL)
            continue;
        sidik_shard_info *info = &out[(*n)++];
        info->number = i;
        int rc = sidik_shard_stats(s, &info->records, &info->bytes);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The shard with the fewest and the one with the most records. */
static int extremes(sidik_shardset *set, uint32_t *least, uint32_t *most, uint64_t *nl,
                    uint64_t *nm, uint64_t *total)
{
    sidik_shard_info info[64];
    *nl = UINT64_MAX;
    *nm = 0;
    *total = 0;
    uint32_t count = shard_count(set);
    for (uint32_t first = 0; first < count; first += 64) {
        uint32_t n = 0;
        for (uint32_t i = first; i < count && i < first + 64; i++) {
            sidik_shard *s = shard_at(set, i);
            if (s == NULL)
                continue;
            info[n].number = i;
            int rc = sidik_shard_stats(s, &info[n].records, &info[n].bytes);
            if (rc != 0)
                return rc;
            n++;
        }
        for (uint32_t i = 0; i < n; i++) {
            *total += info[i].records;
            if (info[i].records < *nl) {
                *nl = info[i].records;
                *least = info[i].number;
            }
            if (info[i].records >= *nm) {
                *nm = info[i].records;
                *most = info[i].number;
            }
        }
    }
    return 0;
}

/* Names ids[0..n) as living in shard `to`, in one transaction. */
static int dir_name(sidik_shardset *set, const uint64_t *ids, size_t n, uint32_t to)
{
    sidik_control_txn *t;
    int rc = sidik_control_begin(set->control, true, &t);
    if (rc != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sidik_control_dir_put(t, ids[i], to);
    if (rc != 0) {
        sidik_control_abort(t);
        return rc;
    }
    return sidik_control_commit(t);
}

/* SIDIK_EEXISTS (with *bad) when the directory already names one of ids. */
static int dir_absent(sidik_shardset *set, const uint64_t *ids, size_t n, size_t *bad)
{
    sidik_control_txn *t;
    int rc = sidik_control_begin(set->control, false, &t);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t named;
        rc = sidik_control_dir_get(t, ids[i], &named);
        if (rc == 0) {
            *bad = i;
            rc = SIDIK_EEXISTS;
        } else if (rc == SIDIK_ENOTFOUND) {
            rc = 0;
        }
    }
    sidik_control_abort(t);
    return rc;
}

int sidik_shardset_put(sidik_shardset *set, const sidik_shard_record *r, size_t n, size_t *bad)
{
    size_t ignore;
    if (bad == NULL)
        bad = &ignore;
    if (set == NULL || (r == NULL && n > 0))
        return SIDIK_EINVAL;
    uint64_t *ids = sidik_trymalloc(n * sizeof *ids + 1);
    if (ids == NULL)
        return SIDIK_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = r[i].id;
    uint32_t least = 0, most = 0;
    uint64_t nl, nm, total;
    int rc = extremes(set, &least, &most, &nl, &nm, &total);
    sidik_shard *s = shard_at(set, least);
    pthread_rwlock_rdlock(&set->put_lock);
    if (rc == 0)
        rc = dir_absent(set, ids, n, bad);
    if (rc == 0) {
        rc = sidik_shard_put(s, r, n, bad);
        if (rc == SIDIK_EEXISTS) {
            /* In the shard but named nowhere: left by a put a crash cut
             * short before its naming. Replace it. */
            for (size_t i = 0; i < n; i++)
                sidik_shard_del(s, &ids[i], 1);
            rc = sidik_shard_put(s, r, n, bad);
        }
        if (rc == 0) {
            rc = dir_name(set, ids, n, least);
            /* Not named: take the copies back (left behind, they would be
             * orphans, invisible but taking room until a rebalance). */
            if (rc != 0)
                sidik_shard_del(s, ids, n);
        }
    }
    pthread_rwlock_unlock(&set->put_lock);
    sidik_free(ids);
    return rc;
}

int sidik_shardset_fetch(void *ctx, uint64_t id, sidik_fmr *out)
{
    sidik_shardset *set = ctx;
    if (set == NULL || out == NULL)
        return SIDIK_EINVAL;
    int rc = SIDIK_ENOTFOUND;
    for (int attempt = 0; attempt < FETCH_RETRIES && rc == SIDIK_ENOTFOUND; attempt++) {
        sidik_control_txn *t;
        uint32_t number;
        if ((rc = sidik_control_begin(set->control, false, &t)) != 0)
            return rc;
        rc = sidik_control_dir_get(t, id, &number);
        sidik_control_abort(t);
        if (rc != 0)
            return rc; /* not in the directory: not enrolled */
        sidik_shard *s = shard_at(set, number);
        if (s == NULL)
            return SIDIK_ECORRUPT; /* the directory names a shard this node lacks */
        if (set->o.fetch_gap != NULL)
            set->o.fetch_gap(set->o.ctx);
        /* ENOTFOUND here: moved between the two reads; read the directory again. */
        rc = sidik_shard_get(s, id, out);
    }
    return rc;
}

typedef int (*each_fn)(void *ctx, const uint64_t *ids, const sidik_person_sig *sigs, size_t n,
                       uint32_t shard);

/* Each shard is walked as this many id ranges, one pool task each: with
 * a task per shard, the thread that drew the last shards worked on alone
 * for seconds (a million-person cold start on 2 threads: one idle for 5 s
 * of 31). */
#define EACH_PARTS 8

typedef struct each_walk {
    sidik_shardset *set;
    each_fn fn;
    void *ctx;
    uint64_t (*span)[2]; /* each shard's first and last id; 1, 0 when empty */
    int *rc;             /* each task's outcome */
    _Atomic int failed;  /* set by the first failure: the other walks stop */
} each_walk;

/* One shard's walk: its snapshot and the batch it is filling. */
typedef struct each_ctx {
    each_walk *w;
    sidik_control_txn *snapshot;
    uint32_t shard;
    size_t n;
    uint64_t ids[SIDIK_SHARDSET_EACH_BATCH];
    sidik_person_sig sigs[SIDIK_SHARDSET_EACH_BATCH];
} each_ctx;

static int each_flush(each_ctx *e)
{
    int rc = e->n > 0 ? e->w->fn(e->w->ctx, e->ids, e->sigs, e->n, e->shard) : 0;
    e->n = 0;
    return rc;
}

static int each_named(void *arg, uint64_t id, const sidik_person_sig *sig)
{
    each_ctx *e = arg;
    if (atomic_load_explicit(&e->w->failed, memory_order_relaxed))
        return SIDIK_ECANCELLED;
    uint32_t named;
    int rc = sidik_control_dir_get(e->snapshot, id, &named);
    if (rc == SIDIK_ENOTFOUND || (rc == 0 && named != e->shard))
        return 0; /* an orphan, or a copy the snapshot does not name here */
    if (rc != 0)
        return rc;
    e->ids[e->n] = id;
    e->sigs[e->n++] = *sig;
    return e->n == SIDIK_SHARDSET_EACH_BATCH ? each_flush(e) : 0;
}

/* Task i walks range i % EACH_PARTS of shard i / EACH_PARTS, with a
 * snapshot of the directory of its own: an LMDB read transaction belongs
 * to the thread that began it (put_lock keeps the snapshots in agreement
 * on where each record lives, and the spans true). */
static void each_range(void *arg, uint32_t i)
{
    each_walk *w = arg;
    const uint32_t shard = i / EACH_PARTS;
    sidik_shard *s = shard_at(w->set, shard);
    uint64_t lo, hi;
    if (s == NULL || !sidik_shard_slice(w->span[shard][0], w->span[shard][1], i % EACH_PARTS,
                                        EACH_PARTS, &lo, &hi))
        return;
    each_ctx *e = sidik_trymalloc(sizeof *e); /* 330 KB: not on a pool thread's stack */
    int rc = e == NULL ? SIDIK_ENOMEM : sidik_control_begin(w->set->control, false, &e->snapshot);
    if (rc == 0) {
        e->w = w;
        e->shard = shard;
        e->n = 0;
        rc = sidik_shard_each_range(s, lo, hi, each_named, e);
        if (rc == 0)
            rc = each_flush(e);
        sidik_control_abort(e->snapshot);
    }
    sidik_free(e);
    w->rc[i] = rc;
    if (rc != 0)
        atomic_store(&w->failed, 1);
}

static void run_in_caller(void *ctx, uint32_t n, void (*task)(void *arg, uint32_t i), void *arg)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++)
        task(arg, i);
}

int sidik_shardset_each(sidik_shardset *set, const sidik_pool *pool, each_fn fn, void *ctx)
{
    if (set == NULL || fn == NULL)
        return SIDIK_EINVAL;
    const sidik_pool caller = {run_in_caller, NULL};
    if (pool == NULL)
        pool = &caller;
    pthread_rwlock_rdlock(&set->put_lock);
    pthread_rwlock_rdlock(&set->move_lock);
    const uint32_t count = shard_count(set), tasks = count * EACH_PARTS;
    each_walk w = {.set = set,
                   .fn = fn,
                   .ctx = ctx,
                   .span = sidik_trycalloc(count + 1, sizeof *w.span),
                   .rc = sidik_trycalloc(tasks + 1, sizeof(int))};
    int rc = w.rc == NULL || w.span == NULL ? SIDIK_ENOMEM : 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        sidik_shard *s = shard_at(set, i);
        int r = s != NULL ? sidik_shard_span(s, &w.span[i][0], &w.span[i][1]) : SIDIK_ENOTFOUND;
        if (r == SIDIK_ENOTFOUND) {
            w.span[i][0] = 1; /* empty */
            w.span[i][1] = 0;
        } else {
            rc = r;
        }
    }
    if (rc == 0)
        pool->run(pool->ctx, tasks, each_range, &w);
    /* The first failure in shard order that is not another's echo. */
    for (uint32_t i = 0; rc == 0 && i < tasks; i++)
        rc = w.rc[i] != SIDIK_ECANCELLED ? w.rc[i] : 0;
    for (uint32_t i = 0; rc == 0 && i < tasks; i++)
        rc = w.rc[i];
    sidik_free(w.span);
    sidik_free(w.rc);
    pthread_rwlock_unlock(&set->move_lock);
    pthread_rwlock_unlock(&set->put_lock);
    return rc;
}

/* Removes ids from shard s one by one, absent ones ignored. */
static void drop_each(sidik_shard *s, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sidik_shard_del(s, &ids[i], 1);
}

/* One batch from src to dst: up to want records the directory names in
 * src; orphans met in src are deleted. *moved: records moved. */
static int move_batch(sidik_shardset *set, uint32_t src, uint32_t dst, size_t want,
                      uint64_t *moved)
{
    uint64_t ids[MOVE_BATCH], keep[2 * MOVE_BATCH], orphans[MOVE_BATCH];
    size_t n, nk = 0, no = 0;
    sidik_shard *from = shard_at(set, src), *to = shard_at(set, dst);
    pthread_rwlock_wrlock(&set->put_lock);
    int rc = sidik_shard_ids(from, 0, ids, want < MOVE_BATCH ? want : MOVE_BATCH, &n);
    sidik_control_txn *t = NULL;
    if (rc == 0)
        rc = sidik_control_begin(set->control, false, &t);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t named;
        int r = sidik_control_dir_get(t, ids[i], &named);
        if (r == 0 && named == src)
            keep[nk++] = ids[i];
        else if (r == 0 || r == SIDIK_ENOTFOUND)
            orphans[no++] = ids[i];
        else
            rc = r;
    }
    sidik_control_abort(t);
    if (rc == 0 && nk > 0) {
        rc = sidik_shard_copy(from, to, keep, nk);
        if (rc == SIDIK_EEXISTS) {
            /* Copies left in dst by a move a crash cut short: the
             * directory names src, so they are orphans. */
            drop_each(to, keep, nk);
            rc = sidik_shard_copy(from, to, keep, nk);
        }
        if (rc == 0)
            rc = dir_name(set, keep, nk, dst);
    }
    if (rc == 0 && nk + no > 0) {
        memcpy(keep + nk, orphans, no * sizeof *orphans);
        pthread_rwlock_wrlock(&set->move_lock);
        rc = sidik_shard_del(from, keep, nk + no);
        pthread_rwlock_unlock(&set->move_lock);
    }
    pthread_rwlock_unlock(&set->put_lock);
    if (rc == 0)
        *moved = nk;
    return rc;
}

static bool cancelled(const _Atomic int *cancel)
{
    return cancel != NULL && atomic_load(cancel) != 0;
}

/* Deletes from every shard the records the directory does not name there:
 * what a crash between a move's or a put's steps left behind. */
static int sweep(sidik_shardset *set, const _Atomic int *cancel, uint64_t *removed)
{
    uint64_t ids[MOVE_BATCH], orphans[MOVE_BATCH];
    uint32_t count = shard_count(set);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        sidik_shard *s = shard_at(set, i);
        pthread_rwlock_wrlock(&set->put_lock);
        for (uint64_t after = 0; rc == 0 && s != NULL;) {
            size_t n, no = 0;
            /* The sweep reads every record of the node: a large gallery
             * takes a while, so a cancel is heard between its batches too. */
            if (cancelled(cancel)) {
                rc = SIDIK_ECANCELLED;
                break;
            }
            if ((rc = sidik_shard_ids(s, after, ids, MOVE_BATCH, &n)) != 0 || n == 0)
                break;
            sidik_control_txn *t;
            if ((rc = sidik_control_begin(set->control, false, &t)) != 0)
                break;
            for (size_t k = 0; rc == 0 && k < n; k++) {
                uint32_t named;
                int r = sidik_control_dir_get(t, ids[k], &named);
                if (r == SIDIK_ENOTFOUND || (r == 0 && named != i))
                    orphans[no++] = ids[k];
                else if (r != 0)
                    rc = r;
            }
            sidik_control_abort(t);
            if (rc == 0 && no > 0) {
                pthread_rwlock_wrlock(&set->move_lock);
                rc = sidik_shard_del(s, orphans, no);
                pthread_rwlock_unlock(&set->move_lock);
                *removed += no;
            }
            after = ids[n - 1];
        }
        pthread_rwlock_unlock(&set->put_lock);
    }
    return rc;
}

/* The fewest moves that leave no two shards more than one record apart:
 * with T records in S shards, the T % S fullest keep T / S + 1 and the
 * others T / S; every record above its shard's share moves once. */
static int plan_moves(sidik_shardset *set, uint64_t *plan)
{
    *plan = 0;
    uint32_t count = shard_count(set), n = 0;
    uint64_t *records = sidik_trymalloc((count + 1) * sizeof *records), total = 0;
    if (records == NULL)
        return SIDIK_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        sidik_shard *s = shard_at(set, i);
        uint64_t bytes;
        if (s != NULL && (rc = sidik_shard_stats(s, &records[n], &bytes)) == 0)
            total += records[n++];
    }
    if (rc == 0 && n > 0) {
        /* Descending; insertion sort is plenty for at most a few thousand shards. */
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = i; j > 0 && records[j - 1] < records[j]; j--) {
                uint64_t x = records[j];
                records[j] = records[j - 1];
                records[j - 1] = x;
            }
        uint64_t share = total / n, extra = total % n;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t keep = share + (i < extra);
            if (records[i] > keep)
                *plan += records[i] - keep;
        }
    }
    sidik_free(records);
    return rc;
}

int sidik_shardset_rebalance_with(sidik_shardset *set, const sidik_rebalance_options *o,
                                  uint64_t *moved)
{
    if (moved != NULL)
        *moved = 0;
    if (set == NULL)
        return SIDIK_EINVAL;
    sidik_rebalance_options none = {0};
    if (o == NULL)
        o = &none;
    pthread_mutex_lock(&set->rebalance_mu);
    uint64_t done = 0, plan = 0, orphans = 0;
    int rc = sweep(set, o->cancel, &orphans);
    if (rc == 0)
        rc = plan_moves(set, &plan);
    if (o->max_moves != 0 && plan > o->max_moves)
        plan = o->max_moves;
    if (rc == 0 && plan > 0 && o->progress != NULL)
        o->progress(o->ctx, 0, plan);
    while (rc == 0) {
        if (o->max_moves != 0 && done >= o->max_moves)
            break;
        if (cancelled(o->cancel)) {
            rc = SIDIK_ECANCELLED;
            break;
        }
        uint32_t least = 0, most = 0;
        uint64_t nl, nm, total;
        if ((rc = extremes(set, &least, &most, &nl, &nm, &total)) != 0 || nm <= nl + 1)
            break;
        uint32_t shards = shard_count(set);
        uint64_t target = total / shards;
        /* Never past the share on either side, so nothing moves twice. */
        uint64_t give = nm - target, take = target > nl ? target - nl : 0;
        uint64_t want = give < take ? give : take;
        if (want == 0)
            want = 1;
        if (o->max_moves != 0 && want > o->max_moves - done)
            want = o->max_moves - done;
        uint64_t m = 0;
        if ((rc = move_batch(set, most, least, (size_t)want, &m)) != 0)
            break;
        done += m;
        if (o->progress != NULL)
            o->progress(o->ctx, done, plan > done ? plan : done);
    }
    pthread_mutex_unlock(&set->rebalance_mu);
    if (moved != NULL)
        *moved = done;
    SIDIK_LOG_INFO("rebalance done", "moved=%llu planned=%llu orphans_removed=%llu error=%s",
                   (unsigned long long)done, (unsigned long long)plan, (unsigned long long)orphans,
                   sidik_err_name(rc));
    return rc;
}

int sidik_shardset_rebalance(sidik_shardset *set,
                             void (*progress)(void *ctx, uint64_t moved, uint64_t total),
                             void *ctx, uint64_t *moved)
{
    sidik_rebalance_options o = {.progress = progress, .ctx = ctx};
    return sidik_shardset_rebalance_with(set, &o, moved);
}
