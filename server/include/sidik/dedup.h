/*
 * The dedup stage: every enrollment recorded RECEIVED is searched against
 * the gallery and decided, in journal order, exactly once.
 *
 *   journal (enrollments as received) --> batch of up to `batch`, in order
 *     --> sidik_search over the in-memory gallery (every enrolled person,
 *         and every enrollment awaiting review)
 *     --> the same probes against each other: a person enrolled twice in one
 *         batch (two offices, the same second) is caught by the second
 *     --> UNIQUE: stored in a gallery shard (record id = its journal
 *         sequence, stable for life) and put in the search gallery;
 *         PRINT_READY and onto the print queue of its region;
 *         DUPLICATE: its candidates recorded; REVIEW: ADJUDICATE, for a
 *         person to decide
 *     --> a match with an enrollment awaiting review (in the gallery or
 *         earlier in the batch) is ADJUDICATE too, naming it, unless an
 *         enrolled person makes it a DUPLICATE: a person decides both, so
 *         nobody gets a card while their first capture waits for review
 *     --> one control-store transaction for the whole batch: statuses,
 *         decisions with candidates and per-finger scores, print queue,
 *         audit entries, and the `decided` point.
 *
 * Crash safety: a batch's shard writes come before its transaction, so a
 * crash in between leaves gallery records past `decided`. Opening skips
 * them when it loads the search gallery, and deciding the batch again
 * stores the same records under the same ids (a repeat is no error): no
 * enrollment is decided twice, none is lost.
 *
 * Adjudicated UNIQUE (Audit.Adjudicate records the verdict and a marker,
 * sidik_control_pending_put, and kicks the stage): before each batch the
 * stage carries out the waiting verdicts, each read back from the journal,
 * stored in a shard under its record id, PRINT_READY with the person
 * indexed and its print authorisation queued in one transaction that
 * clears the marker, then searchable. sidik_dedup_open carries out those a
 * crash or stop left waiting; done twice it stores and queues nothing twice.
 * When a disk is full or failing then, it opens with the stage paused
 * (sidik_dedup_status says why) and the first step that works takes them.
 *
 * Awaiting review: an ADJUDICATE enrollment with a usable probe is put into
 * the search gallery under its journal sequence when decided, and into the
 * stage's review set (server/dedup_review.h), which the search's full match
 * reads its record from. Adjudicated UNIQUE, it stays in the gallery as an
 * enrolled person; adjudicated DUPLICATE_OF (sidik_dedup_forget), it leaves
 * at the next step. Opening reads the review queue back from the journal.
 *
 * Threads: sidik_dedup_start runs the stage on its own thread, woken by
 * sidik_dedup_kick (any thread); the search's parallel work goes to the
 * caller's pool. Without start, sidik_dedup_step runs one batch on the
 * calling thread (tests).
 */
#ifndef SIDIK_DEDUP_H
#define SIDIK_DEDUP_H

#include <stdint.h>

#include "sidik/control.h"
#include "sidik/journal.h"
#include "sidik/metrics.h"
#include "sidik/search.h"
#include "sidik/shardset.h"

typedef struct sidik_dedup sidik_dedup;

typedef struct sidik_dedup_options {
    sidik_control *control;     /* borrowed; outlives the stage */
    sidik_journal *journal;     /* borrowed: enrollments are read back from it */
    sidik_shardset *shards;     /* borrowed */
    const sidik_fusion *fusion; /* borrowed */
    const sidik_pool *pool;     /* borrowed */
    sidik_metrics *metrics;     /* may be NULL */
    sidik_simd_level level;     /* the scan kernels' level */
    double duplicate_fpir;      /* target FPIR of DUPLICATE; 0: 1e-3 */
    double review_fpir;         /* FPIR where REVIEW begins; 0: 1e-2 */
    uint32_t batch;             /* enrollments per search pass, 1..256; 0: 32 */
    uint32_t shortlist;         /* persons the scan keeps per probe; 0: 64 */
    uint32_t partitions;        /* of the search gallery, 1..256; 0: 8 */
    /* The search gallery's cohort (sidik_gallery_set_cohort), copied at
     * open; ncohort 0: none. */
    const sidik_person_sig *cohort;
    uint32_t ncohort;           /* 0..SIDIK_GALLERY_MAX_COHORT */
    int64_t (*now_ms)(void);    /* tests; NULL: the wall clock */
    int64_t retry_ms;           /* a failed step's first retry, doubling to 60 s; 0: 1000 */
} sidik_dedup_options;

/** Loads every gallery record decided so far into a search gallery and
 *  carries out the UNIQUE verdicts left waiting; if a disk is full or
 *  failing (SIDIK_EFULL, an OS error) while it does, it still opens, paused
 *  with that error as its status. Errors: SIDIK_EINVAL (an option out of
 *  range; *why says which), SIDIK_ECORRUPT (a waiting verdict the journal
 *  does not back), those of the gallery, the shards and the control store,
 *  SIDIK_ENOMEM. */
int sidik_dedup_open(const sidik_dedup_options *o, sidik_dedup **out, const char **why);

/** Starts the stage's thread; it decides whatever is recorded and not yet
 *  decided, then sleeps until kicked. Errors: -errno. */
int sidik_dedup_start(sidik_dedup *d);

/** More enrollments were recorded RECEIVED. Any thread. */
void sidik_dedup_kick(sidik_dedup *d);

/** The enrollment at journal_seq, awaiting review, was adjudicated
 *  DUPLICATE_OF: the stage stops searching it from its next step (and
 *  wakes for that). Any thread. Without memory it logs that the
 *  enrollment stays searchable until a restart, which reads the review
 *  queue afresh. */
void sidik_dedup_forget(sidik_dedup *d, uint64_t journal_seq);

/** Carries out the waiting UNIQUE verdicts (up to `batch`) or, when none
 *  waits, decides one batch, on the calling thread (not with start):
 *  *decided (may be NULL) gets how many, 0 when nothing waits. Errors: those of the
 *  journal, the shards, the control store and the search: nothing of the
 *  batch is decided, sidik_dedup_status reports the error until a step
 *  works, and the same step may simply be tried again (the thread started
 *  by sidik_dedup_start retries after retry_ms, doubling). */
int sidik_dedup_step(sidik_dedup *d, uint32_t *decided);

/** The last journal sequence decided. Any thread. */
uint64_t sidik_dedup_decided(const sidik_dedup *d);

/** Enrolled persons in the search gallery (those awaiting review not
 *  counted). Any thread. */
uint64_t sidik_dedup_gallery_size(const sidik_dedup *d);

/** Enrollments awaiting review that the search gallery holds. Any thread. */
uint64_t sidik_dedup_reviewing(const sidik_dedup *d);

/** 0 while the stage works, else the error of its last step (paused: it
 *  is retried; sidikd refuses new enrollments meanwhile). Any thread. */
int sidik_dedup_status(const sidik_dedup *d);

/** The stage's work since open: *decided, enrollments decided, and
 *  *busy_ns, the monotonic nanoseconds spent on the batches that decided
 *  them (reading back, searching, storing, recording); idle waits are not
 *  counted. busy_ns / decided is the cost of one decision at the gallery
 *  sizes met so far (Admin.Stats turns it into a capacity). Any thread. */
void sidik_dedup_work(const sidik_dedup *d, uint64_t *decided, uint64_t *busy_ns);

/** Stops the thread (after the batch in hand) and frees d. */
void sidik_dedup_close(sidik_dedup *d);

#endif
