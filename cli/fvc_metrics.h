/*
 * Verification error rates as the Fingerprint Verification Competitions
 * compute them (D. Maio, D. Maltoni, R. Cappelli, J. L. Wayman, A. K. Jain,
 * "FVC2000: Fingerprint Verification Competition", IEEE PAMI 24(3), 2002,
 * and the FVC2002 report by the same group). Used by `sidik eval` and meant
 * for `sidik gen --calibrate` and the server's threshold documentation.
 *
 * Inputs are two arrays of comparison scores, higher = more similar:
 * genuine (both samples from one finger) and impostor (different fingers).
 * A comparison is accepted as a match when score >= t, for a threshold t.
 * G and I below are the numbers of genuine and impostor scores.
 *
 *   FMR(t)   false match rate: the fraction of impostor scores >= t.
 *   FNMR(t)  false non-match rate: the fraction of genuine scores < t.
 *            (FMR never rises and FNMR never falls as t rises.)
 *
 *   EER      equal error rate, FVC's operational definition. The curves are
 *            steps, so they may never meet; FVC reports an interval
 *            [EERlow, EERhigh] and its midpoint. Over the candidate
 *            thresholds T = every score value, plus one threshold above
 *            every score (FMR 0, FNMR 1), which covers every (FMR, FNMR)
 *            pair any threshold can produce:
 *              t1 = the largest t in T with FNMR(t) <= FMR(t)
 *              t2 = the smallest t in T with FNMR(t) >= FMR(t)
 *              [EERlow, EERhigh] = [FNMR(t1), FMR(t1)]
 *                                      if FNMR(t1) + FMR(t1) <= FMR(t2) + FNMR(t2)
 *                                = [FMR(t2), FNMR(t2)] otherwise
 *              EER = (EERlow + EERhigh) / 2
 *            t1 always exists (at the lowest score FNMR is 0) and so does t2
 *            (above every score FMR is 0). Where the curves cross exactly,
 *            t1 = t2 and the interval is one point. Consequences:
 *            genuine all above impostor (perfect separation): EER 0;
 *            every score equal: [0, 1], EER 0.5.
 *   FMR100   the lowest FNMR at any threshold with FMR <= 1%, i.e. at most
 *            floor(I / 100) impostor scores accepted (exact integer test:
 *            with 45 impostor scores not one may be accepted).
 *   FMR1000  the lowest FNMR at any threshold with FMR <= 0.1%
 *            (at most floor(I / 1000) accepted).
 *   ZeroFMR  the lowest FNMR at any threshold with FMR = 0.
 *
 * Every rate is a fraction in [0, 1]. Comparisons of rates are made on exact
 * integer counts, never on rounded fractions.
 *
 * Cost: both arrays are copied and sorted, O((G + I) log(G + I)) time and
 * O(G + I) memory through sidik_trymalloc. The inputs are only read.
 * Thread safety: the functions are pure apart from allocation; call them
 * from any thread.
 */
#ifndef SIDIK_FVC_METRICS_H
#define SIDIK_FVC_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sidik_fvc_rates {
    double eer;      /* (eer_low + eer_high) / 2 */
    double eer_low;  /* FVC's EERlow */
    double eer_high; /* FVC's EERhigh */
    double fmr100;   /* lowest FNMR with FMR <= 1% */
    double fmr1000;  /* lowest FNMR with FMR <= 0.1% */
    double zerofmr;  /* lowest FNMR with FMR = 0 */
} sidik_fvc_rates;

/* One operating point: accept when score >= threshold. The threshold is 64
 * bits wide because rejecting a UINT32_MAX impostor score needs 2^32. */
typedef struct sidik_fvc_point {
    uint64_t threshold;
    double fmr;  /* FMR(threshold) */
    double fnmr; /* FNMR(threshold) */
} sidik_fvc_point;

/**
 * Computes EER (with its interval), FMR100, FMR1000 and ZeroFMR, defined
 * above, from ngenuine genuine and nimpostor impostor scores (borrowed for
 * the call) into *out.
 *
 * Returns 0, or
 *   SIDIK_EINVAL  an array is empty or NULL, out is NULL, or a count is
 *                 above UINT32_MAX (exact rate comparisons multiply counts
 *                 in 64 bits);
 *   SIDIK_ENOMEM  the sorted copies could not be allocated.
 * On error *out is untouched.
 */
int sidik_fvc_compute(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                      size_t nimpostor, sidik_fvc_rates *out);

/**
 * The lowest threshold t with FMR(t) <= target_fmr, and FMR and FNMR there.
 * Since FNMR only rises with t, this is also the threshold with the lowest
 * FNMR among those meeting the target. "Lowest" is over all integers: t is
 * 0 when every impostor score may be accepted (target_fmr = 1), else one
 * above the highest impostor score that must be rejected. With
 * target_fmr = 0.01 the FNMR here is FMR100.
 *
 * target_fmr * nimpostor is the number of impostor scores that may be
 * accepted, rounded down after a relative tolerance of 1e-12, so that
 * 0.01 of 100 attempts allows exactly one despite binary fractions.
 *
 * Returns 0, or
 *   SIDIK_EINVAL  target_fmr is NaN or outside [0, 1], an array is empty
 *                 or NULL, out is NULL, or a count is above UINT32_MAX;
 *   SIDIK_ENOMEM  the sorted copies could not be allocated.
 * On error *out is untouched.
 */
int sidik_fvc_threshold_for_fmr(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                                size_t nimpostor, double target_fmr, sidik_fvc_point *out);

#endif
