/*
 * Ten-print 1:N search: the gallery the dedup pipeline searches, and the
 * cascade that searches it.
 *
 *   sidik_gallery  every enrolled person's search signature
 *                  (sidik/signature.h), split into partitions that are
 *                  scanned in parallel. Inserts and removals may run while
 *                  searches run: writers take the gallery's own mutex, the
 *                  scan takes no lock at all (slots are published with a
 *                  release store of the partition's count and read with an
 *                  acquire load; a removal clears the slot's live flag, which
 *                  the scan checks before keeping a person).
 *   sidik_probe    one ten-print prepared for searching: its signature and
 *                  its prepared fingers. Immutable once built.
 *   sidik_search   the cascade for a batch of probes:
 *                   1. signature scan: every live person of every partition,
 *                      all fingers fused (each finger's similarity less the
 *                      two fingers' cohort offsets, when the gallery has a
 *                      cohort), each gallery block read once for
 *                      the whole batch; keeps the `shortlist` best persons per
 *                      probe;
 *                   2. full match: the shortlisted persons' records, fetched
 *                      through the caller's callback (the full templates may
 *                      live on disk), matched finger by finger in the order
 *                      the signatures rank them, each finger's score turned
 *                      into a log-likelihood ratio (sidik/fusion.h) and
 *                      summed; a candidate is dropped early once its sum
 *                      falls below `reject_llr` after two fingers, and
 *                      settled early once no remaining finger could pull it
 *                      below the DUPLICATE threshold;
 *                   3. decision: the best candidate's fused LLR against
 *                      the thresholds that give duplicate_fpir (DUPLICATE)
 *                      and review_fpir (REVIEW, for an adjudicator) for the
 *                      gallery's current size and the number of fingers the
 *                      two records share (sidik_fusion_threshold: fewer
 *                      fingers, higher bar per finger), else UNIQUE.
 *                  Fingers pair by position; a swapped or missing finger
 *                  costs only its own evidence (its LLR is floored), so a
 *                  re-enrollment with two fingers exchanged is still found
 *                  on the other eight.
 *
 * Threads: the library starts none. sidik_search hands its parallel work to
 * the caller's sidik_pool: first one task per partition (the scan), then one
 * task per probe (the full match).
 */
#ifndef SIDIK_SEARCH_H
#define SIDIK_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/cpu.h"
#include "sidik/fusion.h"
#include "sidik/signature.h"
#include "sidik/template.h"

/* Largest partition count and shortlist: bounds that keep every buffer a
 * search needs small enough to allocate per call. */
#define SIDIK_GALLERY_MAX_PARTITIONS 256
#define SIDIK_SEARCH_MAX_SHORTLIST   4096
#define SIDIK_SEARCH_MAX_BATCH       256
#define SIDIK_SEARCH_CANDIDATES      8 /* candidates reported per probe */
#define SIDIK_GALLERY_MAX_COHORT     1024

typedef struct sidik_gallery sidik_gallery;
typedef struct sidik_probe sidik_probe;

/** An empty gallery of `partitions` partitions (1..256) scanned with the
 *  kernels of level. Returns 0, SIDIK_ERANGE, SIDIK_ENOCPU (level not on
 *  this CPU) or SIDIK_ENOMEM. */
int sidik_gallery_create(uint32_t partitions, sidik_simd_level level, sidik_gallery **out);
void sidik_gallery_destroy(sidik_gallery *g);

/**
 * Gives g a cohort: n persons (1..1024; copied) that are not searched for,
 * only compared with. Each finger's signature similarity then counts, in the
 * scan's fused score, less what that probe finger and that gallery finger
 * score on average against the cohort's fingers at the same position (their
 * cohort offsets; the gallery's computed at insert, the probe's at each
 * search). Some fingers resemble every finger (a plain arch's spectrum, a
 * dense low band); without this they lift every impostor they meet, and the
 * scan keeps hubs instead of mates. Measured (docs/search.md): the scan's
 * miss at the pass rates a million-person shortlist needs fell about five
 * times on synthetic persons, and the single-finger EER on FVC2002 with a
 * synthetic cohort from 19.4% to 15.2%. The cohort must stay the same for
 * the gallery's life, so it is set once, before the first insert.
 * Returns 0, SIDIK_EINVAL (NULL), SIDIK_ERANGE (n), SIDIK_ESTATE (a cohort
 * is set, or a person was ever inserted) or SIDIK_ENOMEM. Not to be called
 * while other threads use g.
 */
int sidik_gallery_set_cohort(sidik_gallery *g, const sidik_person_sig *cohort, uint32_t n);

/**
 * Adds person id with signature sig (copied). Thread-safe with searches and
 * other writers. Returns 0, SIDIK_EINVAL (NULL), SIDIK_EEXISTS (id is live
 * in the gallery), SIDIK_EFULL (the partition holds its maximum,
 * 2^26 persons) or SIDIK_ENOMEM.
 */
int sidik_gallery_insert(sidik_gallery *g, uint64_t id, const sidik_person_sig *sig);

/** The most persons one sidik_gallery_insert_many takes. */
#define SIDIK_GALLERY_INSERT_MAX 256

/**
 * Adds persons ids[0..n) with signatures sigs[0..n) (copied), as many
 * sidik_gallery_insert calls would, for bulk loads such as a cold start:
 * the persons go to consecutive slots of the partition with the fewest
 * that no other batch is writing, written a block of 16 at a time (one
 * cache line per harmonic instead of one per person and harmonic), and
 * become visible together when it returns. Stops at the first person that
 * fails: those before it are in (*done, if not NULL, says how many), it
 * and those after are not. Thread-safe as sidik_gallery_insert is; batches
 * on several threads write their blocks at the same time, each in its own
 * partition (with more threads than partitions, some wait). Returns 0, SIDIK_EINVAL (NULL
 * with n > 0), SIDIK_ERANGE (n above SIDIK_GALLERY_INSERT_MAX, nothing
 * added), or the failing person's error as sidik_gallery_insert gives it
 * (SIDIK_EEXISTS also for an id twice in the batch).
 */
int sidik_gallery_insert_many(sidik_gallery *g, const uint64_t *ids, const sidik_person_sig *sigs,
                              size_t n, size_t *done);

/** Removes person id: searches that start afterwards never return it.
 *  Returns 0, SIDIK_EINVAL or SIDIK_ENOTFOUND. */
int sidik_gallery_remove(sidik_gallery *g, uint64_t id);

/** Live persons. */
uint64_t sidik_gallery_size(const sidik_gallery *g);

/** Bytes the gallery holds resident for searching (signatures, ids, flags,
 *  the id directory), for the capacity figures. */
size_t sidik_gallery_bytes(const sidik_gallery *g);

/** Prepares a probe from a ten-print record (views by finger position, as
 *  sidik_sig_person). Returns 0, SIDIK_EINVAL, SIDIK_ENOTFOUND (no usable
 *  finger; *why says so) or SIDIK_ENOMEM. */
int sidik_probe_create(const sidik_fmr *rec, sidik_probe **out, const char **why);
void sidik_probe_destroy(sidik_probe *p);

/* The caller's thread pool: run(ctx, n, task, arg) calls task(arg, i) once
 * for every i < n, on any threads, and returns when all have returned. */
typedef struct sidik_pool {
    void (*run)(void *ctx, uint32_t n, void (*task)(void *arg, uint32_t i), void *arg);
    void *ctx;
} sidik_pool;

/* Fetches the full record of gallery person id into *out. Called from pool
 * threads, concurrently. Returns 0 or a negative error, which fails that
 * probe's search with the same error. */
typedef int (*sidik_fetch_fn)(void *ctx, uint64_t id, sidik_fmr *out);

typedef struct sidik_search_config {
    const sidik_fusion *fusion; /* borrowed for the call */
    sidik_fetch_fn fetch;
    void *fetch_ctx;
    uint32_t shortlist;    /* persons the scan keeps per probe, 1..4096 */
    double duplicate_fpir; /* target FPIR of DUPLICATE decisions, (0, 1) */
    double review_fpir;    /* FPIR at which REVIEW begins, >= duplicate_fpir */
    double reject_llr;     /* drop a candidate below this after two fingers */
    sidik_simd_level level;
    /* Optional, for measuring the scan's own miss rate: when not NULL,
     * receives each probe's shortlist (ids, best first) at
     * shortlist_ids[i * shortlist ..], UINT64_MAX past its end. */
    uint64_t *shortlist_ids;
} sidik_search_config;

typedef enum {
    SIDIK_DECISION_UNIQUE = 0,
    SIDIK_DECISION_REVIEW = 1,
    SIDIK_DECISION_DUPLICATE = 2,
} sidik_decision;

typedef struct sidik_candidate {
    uint64_t id;
    double llr;                        /* fused over the fingers compared */
    double threshold;                  /* the DUPLICATE threshold it was held to */
    double review_threshold;           /* the REVIEW one for the same fingers, for people */
    float signature;                   /* the scan's fused signature score */
    uint16_t score[SIDIK_SIG_FINGERS]; /* full-match score per position */
    uint16_t compared;                 /* bit f: position f + 1 was matched */
} sidik_candidate;

typedef struct sidik_search_result {
    int status; /* 0, or the error that failed this probe */
    sidik_decision decision;
    uint32_t ncandidates; /* at or above review_llr, best first */
    sidik_candidate candidate[SIDIK_SEARCH_CANDIDATES];
    uint32_t shortlisted;     /* persons the scan passed on */
    uint32_t fingers_matched; /* full matches run */
    uint64_t scanned;         /* live persons the scan scored */
} sidik_search_result;

/**
 * Searches g for each of probes[0..n) (n 1..256), results[i] for probes[i].
 * Thread-safe with inserts and removals; several searches may run at once.
 * Returns 0 when the call ran (each result's status says how its probe
 * fared), or SIDIK_EINVAL (NULL, n out of range, shortlist out of range,
 * an FPIR outside (0, 1), review_fpir below duplicate_fpir), SIDIK_ENOCPU
 * or SIDIK_ENOMEM. A share of fingers too small to reach an FPIR (one finger
 * against a large gallery) never reaches that decision.
 */
int sidik_search(const sidik_gallery *g, const sidik_search_config *cfg, const sidik_pool *pool,
                 sidik_probe *const *probes, uint32_t n, sidik_search_result *results);

#endif
