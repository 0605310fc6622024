/*
 * matcher/: 1:1 fingerprint minutiae matching.
 *
 * Pure computation: no I/O, no threads of its own, no allocation on the
 * scoring path (a sidik_matcher holds the scratch space).
 *
 *   sidik_finger   one finger prepared for matching (derived from a decoded
 *                  sidik_template); immutable once built, shareable between
 *                  threads.
 *   sidik_matcher  per-thread scoring context: scratch memory and the SIMD
 *                  level. Not thread-safe: one per thread.
 *
 * Scores run from 0 (nothing in common) to SIDIK_MATCH_SCORE_MAX, are
 * deterministic, identical at every SIMD level, and symmetric:
 * score(a, b) == score(b, a).
 */
#ifndef SIDIK_MATCHER_H
#define SIDIK_MATCHER_H

#include <stdint.h>

#include "sidik/cpu.h"
#include "sidik/template.h"

#define SIDIK_MATCH_SCORE_MAX 10000

typedef struct sidik_finger sidik_finger;
typedef struct sidik_matcher sidik_matcher;

/** Prepares t for matching. Returns 0, or SIDIK_ENOMEM. *out is the
 *  caller's to sidik_finger_destroy. */
int sidik_finger_create(const sidik_template *t, sidik_finger **out);
void sidik_finger_destroy(sidik_finger *f);

/** A scoring context using the kernels of level. Returns 0, SIDIK_ENOMEM, or
 *  SIDIK_ENOCPU when this CPU lacks level. */
int sidik_matcher_create(sidik_simd_level level, sidik_matcher **out);
void sidik_matcher_destroy(sidik_matcher *m);

/** Similarity of a and b in 0..SIDIK_MATCH_SCORE_MAX. */
uint32_t sidik_match_score(sidik_matcher *m, const sidik_finger *a, const sidik_finger *b);

#endif
