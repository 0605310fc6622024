/*
 * The search gallery: persons' signatures in partitions of append-only
 * chunks, and the signature scan over one partition.
 *
 * Concurrency. Writers (insert, insert_many, remove) serialise on
 * write_lock; the scan takes no lock. A slot is written completely, its
 * live flag set, and only then the partition's count is raised with a
 * release store (once for a whole batch); a scan loads the count with
 * acquire, so every slot below it is whole. A batch reserves its slots
 * under write_lock (ids named, live flags set) and marks the partition
 * busy, then writes the blocks without the lock: the transposition and the
 * kernel's zeroing of new pages are most of an insert's time outside the
 * signature, and two loading threads would otherwise take turns. No other
 * writer uses a busy partition. Chunks are
 * published (release) before the count that covers them and are never
 * moved or freed while the gallery lives. A removal clears the live flag
 * (release); a scan that started before it may still return the person, one
 * that starts after never does. Slots are not reused: a removed person's
 * slot stays dead until the shard is rebuilt (storage rebalancing), which
 * keeps every slot's contents immutable while it is visible.
 */
#include "mcc.h"
#include "search_int.h"
#include "sidik/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DIR_EMPTY   UINT64_MAX
#define DIR_REMOVED (UINT64_MAX - 1)

/* A chunk (about 21 MB) on 2 MiB pages where the kernel has them: a scan
 * of a large gallery otherwise walks page tables too big for the caches,
 * a 4 KiB page at a time. Only a hint (transparent huge pages in madvise
 * mode, as Debian ships them); it changes no data. */
static void huge_pages(void *p, size_t n)
{
    const uintptr_t page = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int sidik_gallery_create(uint32_t partitions, sidik_simd_level level, sidik_gallery **out)
{
    if (out == NULL)
        return SIDIK_EINVAL;
    *out = NULL;
    if (partitions < 1 || partitions > SIDIK_GALLERY_MAX_PARTITIONS)
        return SIDIK_ERANGE;
    sidik__sig_scan_fn scan = sidik__sig_scan_get(level);
    if (scan == NULL)
        return SIDIK_ENOCPU;
    sidik_gallery *g = sidik_trycalloc(1, sizeof *g + partitions * sizeof g->part[0]);
    if (g == NULL)
        return SIDIK_ENOMEM;
    g->npart = partitions;
    g->scan = scan;
    pthread_mutex_init(&g->write_lock, NULL);
    pthread_cond_init(&g->part_free, NULL);
    for (uint32_t p = 0; p < partitions; p++) {
        g->part[p] = sidik_trycalloc(1, sizeof *g->part[p]);
        if (g->part[p] == NULL) {
            sidik_gallery_destroy(g);
            return SIDIK_ENOMEM;
        }
    }
    *out = g;
    return 0;
}

void sidik_gallery_destroy(sidik_gallery *g)
{
    if (g == NULL)
        return;
    for (uint32_t p = 0; p < g->npart; p++) {
        if (g->part[p] == NULL)
            continue;
        for (size_t c = 0; c < SIDIK__MAX_CHUNKS; c++)
            sidik_free(atomic_load_explicit(&g->part[p]->chunk[c], memory_order_relaxed));
        sidik_free(g->part[p]);
    }
    sidik_free(atomic_load_explicit(&g->cohort, memory_order_relaxed));
    sidik_free(g->dir_id);
    sidik_free(g->dir_slot);
    pthread_cond_destroy(&g->part_free);
    pthread_mutex_destroy(&g->write_lock);
    sidik_free(g);
}

/* Never held a person (slots are never reused, so any count says one was
 * inserted; a busy partition is receiving some). Called with write_lock
 * held. */
static int never_inserted(const sidik_gallery *g)
{
    for (uint32_t p = 0; p < g->npart; p++)
        if (atomic_load_explicit(&g->part[p]->count, memory_order_relaxed) != 0 || g->part[p]->busy)
            return 0;
    return 1;
}

int sidik_gallery_set_cohort(sidik_gallery *g, const sidik_person_sig *cohort, uint32_t n)
{
    if (g == NULL || cohort == NULL)
        return SIDIK_EINVAL;
    if (n < 1 || n > SIDIK_GALLERY_MAX_COHORT)
        return SIDIK_ERANGE;
    uint32_t nblocks = (n + SIDIK__SIG_LANES - 1) / SIDIK__SIG_LANES;
    sidik__sig_block *b = sidik_trycalloc(nblocks, sizeof *b);
    if (b == NULL)
        return SIDIK_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        sidik__sig_block_put(&b[i / SIDIK__SIG_LANES], (int)(i % SIDIK__SIG_LANES), &cohort[i]);
    pthread_mutex_lock(&g->write_lock);
    int rc = 0;
    if (atomic_load_explicit(&g->cohort, memory_order_relaxed) != NULL || !never_inserted(g)) {
        rc = SIDIK_ESTATE;
    } else {
        g->cohort_n = n;
        g->chunk_bytes += nblocks * sizeof *b;
        atomic_store_explicit(&g->cohort, b, memory_order_release);
        b = NULL;
    }
    pthread_mutex_unlock(&g->write_lock);
    sidik_free(b);
    return rc;
}

void sidik__cohort_offsets(const sidik_gallery *g, const sidik__sig_block *cohort, uint32_t n,
                           const sidik__sig_probe *p, float off[SIDIK_SIG_FINGERS])
{
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        off[f] = 0;
        if (cohort == NULL || !(p->scale[f] > 0))
            continue;
        double sum = 0;
        uint32_t present = 0;
        for (uint32_t base = 0; base < n; base += SIDIK__SIG_LANES) {
            const sidik__sig_block *b = &cohort[base / SIDIK__SIG_LANES];
            int lanes = (int)(n - base < SIDIK__SIG_LANES ? n - base : SIDIK__SIG_LANES);
            float total[SIDIK__SIG_LANES] = {0}, sim[SIDIK__SIG_LANES];
            g->scan(p, f, b, lanes, 0, total, sim);
            for (int j = 0; j < lanes; j++)
                if (b->scale[f][j] > 0) {
                    sum += sim[j];
                    present++;
                }
        }
        if (present > 0)
            off[f] = (float)(sum / present) - SIDIK__SIG_IMPOSTOR_MEAN;
    }
}

/* The directory slot holding id, or the first free one on its probe path
 * (*found says which). Requires dir_cap > dir_used. */
static size_t dir_find(const sidik_gallery *g, uint64_t id, int *found)
{
    size_t mask = g->dir_cap - 1, i = mix64(id) & mask, free_at = SIZE_MAX;
    for (;; i = (i + 1) & mask) {
        if (g->dir_slot[i] == DIR_EMPTY) {
            *found = 0;
            return free_at != SIZE_MAX ? free_at : i;
        }
        if (g->dir_slot[i] == DIR_REMOVED) {
            if (free_at == SIZE_MAX)
                free_at = i;
        } else if (g->dir_id[i] == id) {
            *found = 1;
            return i;
        }
    }
}

/* Keeps the directory at most half full (removed entries count as used
 * until a rebuild drops them). */
static int dir_reserve(sidik_gallery *g)
{
    if (g->dir_cap != 0 && 2 * (g->dir_used + 1) <= g->dir_cap)
        return 0;
    size_t cap = g->dir_cap ? 2 * g->dir_cap : 1024;
    uint64_t *ids = sidik_trymalloc(cap * sizeof *ids), *slots = sidik_trymalloc(cap * sizeof *slots);
    if (ids == NULL || slots == NULL) {
        sidik_free(ids);
        sidik_free(slots);
        return SIDIK_ENOMEM;
    }
    memset(slots, 0xff, cap * sizeof *slots);
    uint64_t *old_id = g->dir_id, *old_slot = g->dir_slot;
    size_t old_cap = g->dir_cap;
    g->dir_id = ids;
    g->dir_slot = slots;
    g->dir_cap = cap;
    g->dir_used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old_slot[i] >= DIR_REMOVED)
            continue;
        int found;
        size_t j = dir_find(g, old_id[i], &found);
        g->dir_id[j] = old_id[i];
        g->dir_slot[j] = old_slot[i];
        g->dir_used++;
    }
    sidik_free(old_id);
    sidik_free(old_slot);
    return 0;
}

/* A person's cohort offsets (0 without a cohort): a few microseconds of
 * scanning, done outside the lock. */
static void person_offsets(const sidik_gallery *g, const sidik__sig_block *cohort,
                           const sidik_person_sig *sig, float off[SIDIK_SIG_FINGERS])
{
    if (cohort != NULL) {
        sidik__sig_probe probe;
        sidik__sig_probe_init(&probe, sig);
        sidik__cohort_offsets(g, cohort, g->cohort_n, &probe, off);
    } else {
        memset(off, 0, SIDIK_SIG_FINGERS * sizeof *off);
    }
}

/* The chunk holding slot of part, made if it is new. Under write_lock.
 * NULL with *rc set: SIDIK_EFULL, SIDIK_ENOMEM. */
static sidik__chunk *chunk_for(sidik_gallery *g, sidik__partition *part, uint64_t slot, int *rc)
{
    size_t c = slot / SIDIK__CHUNK_PERSONS;
    if (c >= SIDIK__MAX_CHUNKS) {
        *rc = SIDIK_EFULL;
        return NULL;
    }
    sidik__chunk *ch = atomic_load_explicit(&part->chunk[c], memory_order_relaxed);
    if (ch != NULL)
        return ch;
    ch = sidik_trymalloc(sizeof *ch);
    if (ch == NULL) {
        *rc = SIDIK_ENOMEM;
        return NULL;
    }
    huge_pages(ch, sizeof *ch);
    memset((void *)ch->live, 0, sizeof ch->live);
    g->chunk_bytes += sizeof *ch;
    atomic_store_explicit(&part->chunk[c], ch, memory_order_release);
    return ch;
}

/* Names id in the directory at (p, slot), or fails: SIDIK_EEXISTS,
 * SIDIK_ENOMEM. Under write_lock. */
static int dir_add(sidik_gallery *g, uint64_t id, uint32_t p, uint64_t slot)
{
    int rc = dir_reserve(g);
    if (rc != 0)
        return rc;
    int found;
    size_t d = dir_find(g, id, &found);
    if (found)
        return SIDIK_EEXISTS;
    if (g->dir_slot[d] == DIR_EMPTY)
        g->dir_used++;
    g->dir_id[d] = id;
    g->dir_slot[d] = (uint64_t)p << 40 | slot;
    return 0;
}

int sidik_gallery_insert(sidik_gallery *g, uint64_t id, const sidik_person_sig *sig)
{
    if (g == NULL || sig == NULL)
        return SIDIK_EINVAL;
    float off[SIDIK_SIG_FINGERS];
    const uint32_t p = (uint32_t)(mix64(id ^ 0x5349444b) % g->npart);
    sidik__partition *part = g->part[p];
    for (;;) {
        /* The offsets without the lock; the cohort cannot change once a
         * person is in, and the check under the lock catches one set in
         * between. */
        sidik__sig_block *cohort = atomic_load_explicit(&g->cohort, memory_order_acquire);
        person_offsets(g, cohort, sig, off);
        pthread_mutex_lock(&g->write_lock);
        while (part->busy) /* a batch is writing it: not for long */
            pthread_cond_wait(&g->part_free, &g->write_lock);
        if (atomic_load_explicit(&g->cohort, memory_order_relaxed) == cohort)
            break;
        pthread_mutex_unlock(&g->write_lock);
    }
    uint64_t slot = atomic_load_explicit(&part->count, memory_order_relaxed);
    size_t i = slot % SIDIK__CHUNK_PERSONS;
    int rc = 0;
    sidik__chunk *ch = chunk_for(g, part, slot, &rc);
    if (ch == NULL || (rc = dir_add(g, id, p, slot)) != 0)
        goto out;
    sidik__sig_block_put_many(&ch->block[i / SIDIK__SIG_LANES], (int)(i % SIDIK__SIG_LANES), sig, 1,
                              &off);
    ch->id[i] = id;
    atomic_store_explicit(&ch->live[i], 1, memory_order_relaxed);
    atomic_store_explicit(&part->count, slot + 1, memory_order_release);
    atomic_fetch_add_explicit(&g->live, 1, memory_order_relaxed);
out:
    pthread_mutex_unlock(&g->write_lock);
    return rc;
}

/* The partition with the fewest slots that no batch is writing (which
 * keeps them even), waited for if all are busy. Under write_lock. */
static uint32_t idle_partition(sidik_gallery *g)
{
    for (;;) {
        uint32_t p = UINT32_MAX;
        for (uint32_t q = 0; q < g->npart; q++)
            if (!g->part[q]->busy &&
                (p == UINT32_MAX ||
                 atomic_load_explicit(&g->part[q]->count, memory_order_relaxed) <
                     atomic_load_explicit(&g->part[p]->count, memory_order_relaxed)))
                p = q;
        if (p != UINT32_MAX)
            return p;
        pthread_cond_wait(&g->part_free, &g->write_lock);
    }
}

int sidik_gallery_insert_many(sidik_gallery *g, const uint64_t *ids, const sidik_person_sig *sigs,
                              size_t n, size_t *done)
{
    if (done != NULL)
        *done = 0;
    if (g == NULL || (n > 0 && (ids == NULL || sigs == NULL)))
        return SIDIK_EINVAL;
    if (n > SIDIK_GALLERY_INSERT_MAX)
        return SIDIK_ERANGE;
    if (n == 0)
        return 0;
    _Static_assert(SIDIK_GALLERY_INSERT_MAX <= SIDIK__CHUNK_PERSONS, "a batch spans two chunks");
    float off[SIDIK_GALLERY_INSERT_MAX][SIDIK_SIG_FINGERS];
    uint32_t p;
    for (;;) { /* as sidik_gallery_insert */
        sidik__sig_block *cohort = atomic_load_explicit(&g->cohort, memory_order_acquire);
        for (size_t j = 0; j < n; j++)
            person_offsets(g, cohort, &sigs[j], off[j]);
        pthread_mutex_lock(&g->write_lock);
        /* One partition for the whole batch fills its blocks whole, each
         * by one writer. */
        p = idle_partition(g);
        if (atomic_load_explicit(&g->cohort, memory_order_relaxed) == cohort)
            break;
        pthread_mutex_unlock(&g->write_lock);
    }
    sidik__partition *part = g->part[p];
    const uint64_t first = atomic_load_explicit(&part->count, memory_order_relaxed);
    /* Slots reserved one by one, up to the first failure: named, live (a
     * removal before the count covers them clears the flag for good). */
    int rc = 0;
    size_t k = 0;
    for (; k < n; k++) {
        const uint64_t slot = first + k;
        sidik__chunk *ch = chunk_for(g, part, slot, &rc);
        if (ch == NULL || (rc = dir_add(g, ids[k], p, slot)) != 0)
            break;
        ch->id[slot % SIDIK__CHUNK_PERSONS] = ids[k];
        atomic_store_explicit(&ch->live[slot % SIDIK__CHUNK_PERSONS], 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&g->live, k, memory_order_relaxed);
    part->busy = true;
    pthread_mutex_unlock(&g->write_lock);

    /* The blocks, a block's lanes at a time; published together. */
    for (size_t j = 0; j < k;) {
        const uint64_t slot = first + j;
        const size_t i = slot % SIDIK__CHUNK_PERSONS, lane = i % SIDIK__SIG_LANES;
        const size_t run = k - j < SIDIK__SIG_LANES - lane ? k - j : SIDIK__SIG_LANES - lane;
        sidik__chunk *ch =
            atomic_load_explicit(&part->chunk[slot / SIDIK__CHUNK_PERSONS], memory_order_relaxed);
        sidik__sig_block_put_many(&ch->block[i / SIDIK__SIG_LANES], (int)lane, &sigs[j], (int)run,
                                  &off[j]);
        j += run;
    }
    atomic_store_explicit(&part->count, first + k, memory_order_release);
    pthread_mutex_lock(&g->write_lock);
    part->busy = false;
    pthread_cond_broadcast(&g->part_free);
    pthread_mutex_unlock(&g->write_lock);
    if (done != NULL)
        *done = k;
    return rc;
}

int sidik_gallery_remove(sidik_gallery *g, uint64_t id)
{
    if (g == NULL)
        return SIDIK_EINVAL;
    pthread_mutex_lock(&g->write_lock);
    int rc = SIDIK_ENOTFOUND, found = 0;
    size_t d = g->dir_cap ? dir_find(g, id, &found) : 0;
    if (found) {
        uint64_t s = g->dir_slot[d], slot = s & ((1ull << 40) - 1);
        sidik__chunk *ch = atomic_load_explicit(&g->part[s >> 40]->chunk[slot / SIDIK__CHUNK_PERSONS],
                                                memory_order_relaxed);
        atomic_store_explicit(&ch->live[slot % SIDIK__CHUNK_PERSONS], 0, memory_order_release);
        g->dir_slot[d] = DIR_REMOVED;
        atomic_fetch_sub_explicit(&g->live, 1, memory_order_relaxed);
        rc = 0;
    }
    pthread_mutex_unlock(&g->write_lock);
    return rc;
}

uint64_t sidik_gallery_size(const sidik_gallery *g)
{
    return g ? atomic_load_explicit(&((sidik_gallery *)g)->live, memory_order_relaxed) : 0;
}

size_t sidik_gallery_bytes(const sidik_gallery *g)
{
    if (g == NULL)
        return 0;
    sidik_gallery *w = (sidik_gallery *)g;
    pthread_mutex_lock(&w->write_lock);
    size_t b = sizeof *g + g->npart * (sizeof g->part[0] + sizeof(sidik__partition)) +
               g->chunk_bytes + g->dir_cap * 2 * sizeof(uint64_t);
    pthread_mutex_unlock(&w->write_lock);
    return b;
}

const sidik__sig_block *sidik__gallery_block(const sidik_gallery *g, uint32_t p, uint64_t slot,
                                             int *lane)
{
    sidik__chunk *ch = atomic_load_explicit(&g->part[p]->chunk[slot / SIDIK__CHUNK_PERSONS],
                                            memory_order_acquire);
    size_t i = slot % SIDIK__CHUNK_PERSONS;
    *lane = (int)(i % SIDIK__SIG_LANES);
    return &ch->block[i / SIDIK__SIG_LANES];
}

/* a ranks before b: higher score, then lower id (so results do not depend
 * on partitioning or thread timing). */
static int hit_before(const sidik__hit *a, const sidik__hit *b)
{
    return a->score > b->score || (a->score == b->score && a->id < b->id);
}

/* A bounded min-heap (the worst kept hit at the root) of up to k hits. */
static void heap_offer(sidik__hit *h, uint32_t *n, uint32_t k, const sidik__hit *x)
{
    uint32_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0 && hit_before(&h[(i - 1) / 2], x)) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = *x;
        return;
    }
    if (!hit_before(x, &h[0]))
        return;
    i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, w = i;
        const sidik__hit *worst = x;
        if (l < k && hit_before(worst, &h[l])) {
            w = l;
            worst = &h[l];
        }
        if (r < k && hit_before(worst, &h[r]))
            w = r;
        if (w == i)
            break;
        h[i] = h[w];
        i = w;
    }
    h[i] = *x;
}

static int hit_cmp(const void *pa, const void *pb)
{
    const sidik__hit *a = pa, *b = pb;
    return hit_before(a, b) ? -1 : hit_before(b, a) ? 1 : 0;
}

/* Every probe of the batch against one block, a finger at a time: the
 * finger's 8 KB of the block stays in the core's L1 cache while the whole
 * batch passes over it, so the gallery is read from memory once per batch,
 * not once per probe. Lanes past `lanes` are not yet published and never
 * read. */
void sidik__gallery_scan(const sidik_gallery *g, uint32_t p, sidik_probe *const *probes,
                         const float (*probe_offset)[SIDIK_SIG_FINGERS], uint32_t n, uint32_t k,
                         sidik__hit *best, uint32_t *kept, uint64_t *scanned)
{
    const sidik__partition *part = g->part[p];
    uint64_t count = atomic_load_explicit(&((sidik__partition *)part)->count, memory_order_acquire);
    float total[SIDIK_SEARCH_MAX_BATCH][SIDIK__SIG_LANES]; /* 16 KB */
    uint64_t seen = 0;
    for (uint32_t i = 0; i < n; i++)
        kept[i] = 0;
    for (uint64_t base = 0; base < count; base += SIDIK__SIG_LANES) {
        sidik__chunk *ch = atomic_load_explicit(
            &((sidik__partition *)part)->chunk[base / SIDIK__CHUNK_PERSONS], memory_order_acquire);
        size_t off = base % SIDIK__CHUNK_PERSONS;
        const sidik__sig_block *blk = &ch->block[off / SIDIK__SIG_LANES];
        int lanes = (int)(count - base < SIDIK__SIG_LANES ? count - base : SIDIK__SIG_LANES);
        uint8_t live[SIDIK__SIG_LANES];
        int any = 0;
        for (int j = 0; j < lanes; j++) {
            live[j] = atomic_load_explicit(&ch->live[off + j], memory_order_acquire);
            any |= live[j];
            seen += live[j];
        }
        if (!any)
            continue;
        memset(total, 0, n * sizeof total[0]);
        for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
            for (uint32_t i = 0; i < n; i++)
                if (probes[i]->sig.scale[f] > 0)
                    g->scan(&probes[i]->sig, f, blk, lanes, probe_offset[i][f], total[i], NULL);
        for (uint32_t i = 0; i < n; i++)
            for (int j = 0; j < lanes; j++) {
                if (!live[j])
                    continue;
                sidik__hit h = {total[i][j], p, base + (uint64_t)j, ch->id[off + j]};
                heap_offer(best + (size_t)i * k, &kept[i], k, &h);
            }
    }
    for (uint32_t i = 0; i < n; i++)
        qsort(best + (size_t)i * k, kept[i], sizeof *best, hit_cmp);
    *scanned = seen;
}
