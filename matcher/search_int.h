/*
 * Private to matcher/: the gallery's partitions as the scan reads them, and
 * the probe's prepared form. gallery.c writes them, search.c reads them.
 */
#ifndef SIDIK_MATCHER_SEARCH_INT_H
#define SIDIK_MATCHER_SEARCH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sidik/matcher.h"
#include "sidik/search.h"
#include "sig_int.h"

/* Persons are stored in chunks that never move once published, so a scan
 * can read a chunk while a writer appends to the next one. 4,096 persons
 * (21 MB of signatures, in blocks of 16: sig_int.h) per chunk; 16,384 chunk
 * slots per partition. */
#define SIDIK__CHUNK_PERSONS 4096
#define SIDIK__CHUNK_BLOCKS  (SIDIK__CHUNK_PERSONS / SIDIK__SIG_LANES)
#define SIDIK__MAX_CHUNKS    16384

typedef struct sidik__chunk {
    sidik__sig_block block[SIDIK__CHUNK_BLOCKS];
    uint64_t id[SIDIK__CHUNK_PERSONS];
    _Atomic uint8_t live[SIDIK__CHUNK_PERSONS];
} sidik__chunk;

typedef struct sidik__partition {
    _Atomic uint64_t count; /* slots published; slots never come back */
    /* A batch insert is writing slots from count on, outside write_lock:
     * no other writer may use the partition (under write_lock). */
    bool busy;
    _Atomic(sidik__chunk *) chunk[SIDIK__MAX_CHUNKS];
} sidik__partition;

struct sidik_gallery {
    uint32_t npart;
    sidik__sig_scan_fn scan;
    pthread_mutex_t write_lock; /* writers only */
    pthread_cond_t part_free;   /* a partition stopped being busy */
    _Atomic uint64_t live;
    size_t chunk_bytes;
    /* The cohort (sidik_gallery_set_cohort): set once, before any insert;
     * NULL without one. */
    _Atomic(sidik__sig_block *) cohort;
    uint32_t cohort_n;
    /* id -> slot directory, open addressing, writers only */
    uint64_t *dir_id, *dir_slot; /* slot: partition << 40 | index; ~0 empty, ~1 removed */
    size_t dir_cap, dir_used;
    sidik__partition *part[];
};

struct sidik_probe {
    sidik__sig_probe sig;
    sidik_finger *finger[SIDIK_SIG_FINGERS]; /* NULL: absent */
};

/* Scans partition p of g for probes[0..n) (probe_offset[i]: probe i's
 * cohort offsets), keeping each probe's best k
 * persons (ties: lower id) in best[i * k ..] sorted best first; *kept[i] the
 * count, *scanned the live persons seen. */
typedef struct sidik__hit {
    float score;
    uint32_t part;
    uint64_t slot;
    uint64_t id;
} sidik__hit;

void sidik__gallery_scan(const sidik_gallery *g, uint32_t p, sidik_probe *const *probes,
                         const float (*probe_offset)[SIDIK_SIG_FINGERS], uint32_t n, uint32_t k,
                         sidik__hit *best, uint32_t *kept, uint64_t *scanned);

/* The cohort offsets of a signature (as a probe) against cohort (n persons
 * in blocks): per finger present on p, the mean similarity to the cohort's
 * present fingers at that position (summed in cohort order, in double),
 * less SIDIK__SIG_IMPOSTOR_MEAN; 0 for an absent finger, or where no
 * cohort finger is present, or when cohort is NULL. */
void sidik__cohort_offsets(const sidik_gallery *g, const sidik__sig_block *cohort, uint32_t n,
                           const sidik__sig_probe *p, float off[SIDIK_SIG_FINGERS]);

/* The block holding a slot a scan returned, and the slot's lane in it. */
const sidik__sig_block *sidik__gallery_block(const sidik_gallery *g, uint32_t p, uint64_t slot,
                                             int *lane);

#endif
