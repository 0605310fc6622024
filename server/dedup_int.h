/*
 * The dedup stage's insides (sidik/dedup.h), shared by its files:
 *   dedup.c         reading batches from the journal, the stage's step and
 *                   thread, the review set's upkeep, UNIQUE verdicts, opening;
 *   dedup_decide.c  deciding a batch: the search against the gallery and
 *                   within the batch, the review holds, the NIK check;
 *   dedup_record.c  writing decisions to the control store with the reason
 *                   a person reads and the audit detail;
 *   dedup_review.c  the enrollments awaiting review kept searchable.
 * Everything here belongs to the stage's thread unless a field says
 * otherwise.
 */
#ifndef SIDIK_DEDUP_INT_H
#define SIDIK_DEDUP_INT_H

#include "dedup_review.h"
#include "sidik/dedup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ISO_MAX (10u * (32 + 6 * 255) + 64)

/* One enrollment of the batch in hand. */
typedef struct sidik__dedup_item {
    uint64_t seq;
    int64_t received_ms;
    char id[SIDIK_ENROLL_ID_MAX + 1];
    char region[SIDIK_REGION_MAX + 1];
    char nik[SIDIK_NIK_LEN + 1];   /* as the office gave it ("" if not 16 digits) */
    uint64_t nik_record;           /* a person already holding the NIK (0: none) */
    uint64_t nik_review;           /* else an enrollment awaiting review claiming it (0: none) */
    sidik_enroll_id nik_review_id; /* that enrollment's id */
    uint64_t review_match;         /* an enrollment awaiting review it matches (0: none) */
    sidik_enroll_id review_id;     /* that enrollment's id */
    sidik_fmr *rec;                /* the ten-print, one view per position */
    sidik_person_sig sig;          /* for the gallery, when UNIQUE */
    sidik_probe *probe;            /* NULL: no finger usable for searching */
    const char *unusable;          /* why, then */
    sidik_search_result found;     /* against the gallery, then the batch merged in */
    uint8_t iso[ISO_MAX];          /* the record stored in the shard */
    size_t iso_len;
} sidik__dedup_item;

struct sidik_dedup {
    sidik_dedup_options o;
    sidik_gallery *gallery;
    sidik__dedup_item *items;
    uint32_t nitems;
    sidik_fmr *scratch;         /* one decoded finger record */
    sidik_person_sig *cohort;   /* the options' cohort, copied; NULL: none */
    sidik__review_set review;   /* searchable, awaiting review (stage thread only) */
    _Atomic uint64_t reviewing; /* review.n, for other threads */
    uint64_t *forget;           /* adjudicated DUPLICATE_OF, to take out (under mu) */
    size_t nforget, forget_cap;
    _Atomic uint64_t decided;
    _Atomic uint64_t work_decided, work_busy_ns; /* sidik_dedup_work */
    _Atomic int status;
    pthread_t thread;
    bool started, stop, kicked;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/** The decision item stands at: the search's, except that a NIK some person
 *  already holds, or an enrollment awaiting review claims, is never made
 *  UNIQUE whatever the fingers say (a person decides). */
sidik_status sidik__dedup_outcome(const sidik__dedup_item *it);

/** A search gallery of the stage's kind (its cohort, its SIMD level). */
int sidik__dedup_gallery_create(const sidik_dedup *d, uint32_t partitions, sidik_gallery **out);

/** Decides the batch in hand: each item's candidates, review holds and NIK
 *  claims, ready for recording (sidik__dedup_outcome tells each one's). */
int sidik__dedup_search_batch(sidik_dedup *d);

/** The batch's decisions and the decided point, in one transaction. */
int sidik__dedup_record_batch(sidik_dedup *d);

/** The batch's items, read back for UNIQUE verdicts of enrollments ids[],
 *  made PRINT_READY, indexed, queued for printing and audited, in one
 *  transaction. */
int sidik__dedup_record_verdicts(sidik_dedup *d, const sidik_enroll_id *ids);

#endif
