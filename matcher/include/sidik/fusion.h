/*
 * matcher/fusion: from per-finger scores to one person decision.
 *
 * A person comparison scores up to SIDIK_FUSION_MAX_FINGERS finger pairs with
 * sidik_match_score. Fusion maps each score to a log-likelihood ratio,
 * LLR(s) = ln(p_genuine(s) / p_impostor(s)), learned from samples of genuine
 * and impostor scores, and adds the LLRs of the compared fingers: the fused
 * score is the evidence, in nats, that the two records are one person.
 *
 * The decision threshold comes from a target FPIR (false positive
 * identification rate) and the gallery size N: a probe of someone not enrolled
 * meets all N persons, so FPIR = 1 - (1 - FMR(t))^N, roughly N * FMR(t), where
 * FMR(t) is the chance that the fused LLR of one impostor person pair reaches
 * t. For large galleries that is 1e-10 and below, far under anything a score
 * sample can show, so it is computed: the per-finger impostor LLR
 * distribution is convolved with itself once per finger.
 *
 * The LLR is a step function of the score (SIDIK_FUSION_BINS bins over
 * 0..SIDIK_MATCH_SCORE_MAX), monotone non-decreasing, and bounded:
 *  - below by SIDIK_FUSION_LLR_MIN, so one bad finger (a cut, a swapped
 *    finger, a poor capture) cannot veto the others;
 *  - above by ln(nimpostor) + SIDIK_FUSION_LLR_MARGIN: n impostor samples can
 *    at best show that a score beats all n of them, a likelihood ratio of
 *    about n, so no finger is credited with more than the data can support.
 * Fused LLRs, tails and thresholds live on a uniform grid of
 * SIDIK_FUSION_GRID nats. Rounding to it errs on the safe side: each impostor
 * LLR is rounded up and each genuine LLR down, so the tails overstate false
 * matches and misses by at most one grid step per finger, never understate.
 *
 * Threading: a learned sidik_fusion is immutable; every function taking a
 * const sidik_fusion * is thread-safe and may share one object between any
 * number of threads. Learning (sidik_fusion_create) touches only the object it
 * makes, so concurrent calls are safe; sidik_fusion_destroy must not race with
 * any use of f. No function here calls back, and f is never NULL where a
 * function reads it (sidik_fusion_threshold alone checks).
 *
 * Caveats:
 *  - Fingers are assumed independent: the fused distributions are
 *    convolutions of the one-finger distribution. Scores of the fingers of
 *    one person pair are in practice positively correlated (capture quality,
 *    age, skin condition), which makes the true impostor tail heavier than
 *    computed. Validate a threshold on real person pairs where possible.
 *  - One impostor model serves every finger position (thumbs and little
 *    fingers alike).
 *  - Above the highest impostor score seen, the impostor density is an
 *    exponential extrapolated from the top of the sample (its mean excess
 *    widened by two standard errors). Tails below about 1/nimpostor per
 *    finger, and so every threshold for a large gallery, rest on that
 *    extrapolation, not on observed data.
 */
#ifndef SIDIK_FUSION_H
#define SIDIK_FUSION_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/matcher.h"

#define SIDIK_FUSION_BINS         128 /* score bins over 0..SIDIK_MATCH_SCORE_MAX */
#define SIDIK_FUSION_MAX_FINGERS  10
#define SIDIK_FUSION_MIN_GENUINE  100    /* fewest genuine samples create accepts */
#define SIDIK_FUSION_MIN_IMPOSTOR 1000   /* fewest impostor samples create accepts */
#define SIDIK_FUSION_LLR_MIN      (-4.0) /* LLR floor, nats */
#define SIDIK_FUSION_LLR_MARGIN   1.0    /* LLR cap is ln(nimpostor) + this */
#define SIDIK_FUSION_GRID         0.05   /* fused-LLR grid step, nats */

typedef struct sidik_fusion sidik_fusion;

/** Learns the per-finger LLR and the fused impostor and genuine LLR
 *  distributions for 1..SIDIK_FUSION_MAX_FINGERS fingers from score samples
 *  (sidik_match_score of genuine pairs, of impostor pairs). The arrays are
 *  borrowed for the call only. On success *out is the caller's to
 *  sidik_fusion_destroy; on failure *out is untouched.
 *  Returns 0; SIDIK_EINVAL when a pointer is NULL, ngenuine <
 *  SIDIK_FUSION_MIN_GENUINE, nimpostor < SIDIK_FUSION_MIN_IMPOSTOR or a
 *  score exceeds SIDIK_MATCH_SCORE_MAX; SIDIK_ENOMEM. */
int sidik_fusion_create(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                        size_t nimpostor, sidik_fusion **out);

/** Frees f. NULL is a no-op. */
void sidik_fusion_destroy(sidik_fusion *f);

/** ln(p_genuine / p_impostor) of one finger score: monotone non-decreasing in
 *  score, within [SIDIK_FUSION_LLR_MIN, ln(nimpostor) +
 *  SIDIK_FUSION_LLR_MARGIN] (the cap rounded to float). Scores above
 *  SIDIK_MATCH_SCORE_MAX count as SIDIK_MATCH_SCORE_MAX. */
float sidik_fusion_llr(const sidik_fusion *f, uint32_t score);

/** P(sum of the LLRs of `fingers` independent impostor fingers >= t), on the
 *  grid: t matches a grid point within a millionth of a step, so a threshold
 *  from sidik_fusion_threshold reads back exactly. Non-increasing in t; 1 at
 *  and below fingers * SIDIK_FUSION_LLR_MIN, 0 from fingers * (cap +
 *  SIDIK_FUSION_GRID) on; NaN when fingers is outside
 *  1..SIDIK_FUSION_MAX_FINGERS or t is NaN. */
double sidik_fusion_impostor_tail(const sidik_fusion *f, unsigned fingers, double t);

/** P(sum of the LLRs of `fingers` independent genuine fingers < t): the
 *  expected miss rate at threshold t, on the grid as above. Non-decreasing in
 *  t; 0 at and below fingers * SIDIK_FUSION_LLR_MIN, 1 from fingers * (cap +
 *  SIDIK_FUSION_GRID) on; NaN when fingers is outside 1..SIDIK_FUSION_MAX_FINGERS or t is NaN. */
double sidik_fusion_genuine_miss(const sidik_fusion *f, unsigned fingers, double t);

/** The smallest grid threshold t on the fused LLR of `fingers` fingers whose
 *  FPIR against a gallery of `gallery` persons, 1 - (1 - p)^gallery with
 *  p = sidik_fusion_impostor_tail(f, fingers, t) (computed as
 *  -expm1(gallery * log1p(-p))), is at most fpir. At t - SIDIK_FUSION_GRID
 *  the FPIR exceeds fpir. A comparison matches when its fused LLR >= t.
 *  Returns 0 and *t; SIDIK_EINVAL when f or t is NULL; SIDIK_ERANGE when
 *  fingers is outside 1..SIDIK_FUSION_MAX_FINGERS, gallery is 0, fpir is not
 *  inside (0, 1), or no threshold reachable by `fingers` fingers meets fpir
 *  (even all of them at the cap would match impostors too often). */
int sidik_fusion_threshold(const sidik_fusion *f, unsigned fingers, uint64_t gallery, double fpir,
                           double *t);

#endif
