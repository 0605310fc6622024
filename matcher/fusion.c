/*
 * Multi-finger score fusion: per-finger log-likelihood ratios learned from
 * score samples, their fused distributions by convolution, and the decision
 * threshold for a target FPIR. See include/sidik/fusion.h for the model.
 *
 * Learning runs once per model (milliseconds), so it favours clarity; lookups
 * are table reads.
 */
#include "sidik/fusion.h"
#include "sidik/common.h"

#include <math.h>
#include <string.h>

#define NSCORES (SIDIK_MATCH_SCORE_MAX + 1)

/* A grid index is the fused LLR's distance from fingers * SIDIK_FUSION_LLR_MIN
 * in steps. Lookups accept a grid point this close below t as ">= t", so that a
 * threshold built as base + j * step reads back as index j despite rounding. */
#define GRID_SLACK 1e-6

struct sidik_fusion {
    float llr[SIDIK_FUSION_BINS];
    size_t n1; /* grid points of one finger: indices 0..n1-1 */
    /* For f fingers, index [f-1] holds f * (n1 - 1) + 1 entries. */
    double *imp_tail[SIDIK_FUSION_MAX_FINGERS]; /* P(sum >= grid point j) */
    double *gen_miss[SIDIK_FUSION_MAX_FINGERS]; /* P(sum < grid point j) */
    double *tables;                             /* the one block behind both */
};

static unsigned bin_of(uint32_t score)
{
    return (unsigned)(score * SIDIK_FUSION_BINS / NSCORES);
}

/* The lowest score in bin b (b may be SIDIK_FUSION_BINS: one past the top). */
static double bin_lo(unsigned b)
{
    return (double)((b * NSCORES + SIDIK_FUSION_BINS - 1) / SIDIK_FUSION_BINS);
}

/* Impostor mass per bin, in units of samples (normalised by the caller).
 *
 * Up to the highest impostor score seen, it is the histogram plus half a
 * sample per bin: the Jeffreys-style "add a half" keeps every bin's density
 * positive (an empty bin means rare, not impossible) at a cost of at most
 * BINS/2 samples of mass. Above it the histogram knows nothing, and add-a-half
 * would put half a sample in every empty bin up to 10000, far more than the
 * data suggests; instead the tail is an exponential fitted to the top of the
 * sample (peaks over threshold: the excesses over u of the k samples above u
 * have mean e, maximum-likelihood for an exponential). The mean excess is
 * widened by two standard errors (e / sqrt(k)) so that the extrapolated tail
 * is heavier than the fit, never lighter: conservative for false matches.
 * One high outlier extends the add-a-half region up to itself and so lowers
 * the LLR of every score below it, which is the cautious reading of an
 * impostor seen there. */
static void impostor_mass(const size_t *count, size_t n, double *q)
{
    size_t m = n / 100 > 30 ? n / 100 : 30; /* top 1%, and enough for a fit */
    size_t above = 0, k = 0;
    unsigned u = 0, smax = 0;
    for (unsigned s = NSCORES; s-- > 0;) {
        if (above >= m) {
            u = s;
            break;
        }
        above += count[s];
    }
    double sum = 0;
    for (unsigned s = u + 1; s < NSCORES; s++) {
        k += count[s];
        sum += (double)count[s] * (s - u);
    }
    for (unsigned s = 0; s < NSCORES; s++)
        if (count[s] != 0)
            smax = s;
    /* Degenerate samples (fewer than m scores above the lowest, or all equal)
     * still get a tail: half a sample, mean excess at least one bin. */
    double width = (double)NSCORES / SIDIK_FUSION_BINS;
    double e = k != 0 ? sum / (double)k : 0;
    if (e < width)
        e = width;
    e *= 1 + 2 / sqrt(k != 0 ? (double)k : 1);
    double kk = k != 0 ? (double)k : 0.5;

    unsigned bmax = bin_of(smax);
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++)
        q[b] = 0;
    for (unsigned s = 0; s < NSCORES; s++)
        q[bin_of(s)] += (double)count[s];
    for (unsigned b = 0; b <= bmax; b++)
        q[b] += 0.5;
    /* e >= one bin and scores end at 10000, so the smallest term is about
     * exp(-129): positive, and every bin's ratio below is finite. The top bin
     * takes the whole remaining tail. */
    for (unsigned b = bmax + 1; b < SIDIK_FUSION_BINS; b++) {
        double hi = b + 1 < SIDIK_FUSION_BINS ? exp(-(bin_lo(b + 1) - u) / e) : 0;
        q[b] = kk * (exp(-(bin_lo(b) - u) / e) - hi);
    }
}

/* Per-bin LLR from the two mass vectors (each normalised to 1).
 *
 * The raw ratio g/q is noisy where either sample is thin and need not rise
 * with the score; a score that is better must never count as less evidence.
 * Pool adjacent violators makes it monotone: adjacent bins whose ratio falls
 * are merged into one block whose ratio is sum(g) / sum(q), the weighted
 * isotonic fit (and the ROC convex hull). Pooling keeps sum(q * ratio) =
 * sum(g) = 1, so before clamping E_impostor[exp(LLR)] = 1 exactly, which bounds
 * every impostor tail by exp(-t) (Markov); the tests check it.
 *
 * Then the clamp: the cap ln(n) + margin keeps one finger from claiming more
 * than n impostor samples can show; the floor SIDIK_FUSION_LLR_MIN, a ratio
 * of 1:55, is about how often a genuine finger is unusable in practice (cuts,
 * swapped fingers, bad captures: 1-2% of comparisons), so a single finger may
 * count at most that much against. The floor lifts E[exp(LLR)] by at most
 * exp(-4). */
static void learn_llr(const double *g, const double *q, double cap, float *llr)
{
    double bg[SIDIK_FUSION_BINS], bq[SIDIK_FUSION_BINS];
    unsigned start[SIDIK_FUSION_BINS + 1];
    unsigned nb = 0;
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++) {
        bg[nb] = g[b];
        bq[nb] = q[b];
        start[nb++] = b;
        /* Violation: ratio(previous) > ratio(last), compared without division. */
        while (nb >= 2 && bg[nb - 2] * bq[nb - 1] > bg[nb - 1] * bq[nb - 2]) {
            bg[nb - 2] += bg[nb - 1];
            bq[nb - 2] += bq[nb - 1];
            nb--;
        }
    }
    start[nb] = SIDIK_FUSION_BINS;
    for (unsigned i = 0; i < nb; i++) {
        double v = log(bg[i] / bq[i]);
        v = v > cap ? cap : v < SIDIK_FUSION_LLR_MIN ? SIDIK_FUSION_LLR_MIN : v;
        for (unsigned b = start[i]; b < start[i + 1]; b++)
            llr[b] = (float)v;
    }
}

/* Grid index of one finger's LLR v: rounded up for impostors, down for
 * genuines, so the computed tails overstate false matches and misses. The
 * small slack keeps values that sit on a grid point (the floor) there. */
static size_t grid_index(float v, int up)
{
    double x = ((double)v - SIDIK_FUSION_LLR_MIN) / SIDIK_FUSION_GRID;
    return (size_t)(up ? ceil(x - GRID_SLACK) : floor(x + GRID_SLACK));
}

static size_t grid_len(size_t n1, unsigned fingers)
{
    return fingers * (n1 - 1) + 1;
}

/* Convolves the one-finger pmf (n1 points, at most BINS of them non-zero)
 * with itself SIDIK_FUSION_MAX_FINGERS times and keeps, for every finger
 * count, the impostor survival P(sum >= j) or the genuine cdf P(sum < j).
 *
 * Both are summed from the end where they are small: the survival from the
 * top, the cdf from the bottom. 1 - cdf would lose everything below 1e-16;
 * this way a tail is as exact as its terms, down to the double range (1e-308).
 * The convolution is the plain sum; the pmf is sparse, so it costs
 * len * (non-zero points), a few million operations in all. */
static void convolve(const double *pmf1, size_t n1, int survival, double *cur, double *next,
                     double **out)
{
    size_t nz[SIDIK_FUSION_BINS], nnz = 0;
    for (size_t i = 0; i < n1; i++)
        if (pmf1[i] != 0 && nnz < SIDIK_FUSION_BINS)
            nz[nnz++] = i;
    memcpy(cur, pmf1, n1 * sizeof *cur);
    for (unsigned f = 1; f <= SIDIK_FUSION_MAX_FINGERS; f++) {
        size_t len = grid_len(n1, f);
        if (f > 1) {
            size_t plen = grid_len(n1, f - 1);
            memset(next, 0, len * sizeof *next);
            for (size_t j = 0; j < plen; j++) {
                if (cur[j] == 0)
                    continue;
                for (size_t i = 0; i < nnz; i++)
                    next[j + nz[i]] += cur[j] * pmf1[nz[i]];
            }
            double *swap = cur;
            cur = next;
            next = swap;
        }
        double *t = out[f - 1], acc = 0;
        if (survival) {
            for (size_t j = len; j-- > 0;)
                t[j] = acc += cur[j];
        } else {
            for (size_t j = 0; j < len; j++) {
                t[j] = acc;
                acc += cur[j];
            }
        }
        /* The total is 1 only up to rounding, and a cdf that ends at
         * 1 + 4e-16 would step down to the exact 1 returned beyond the grid.
         * Dividing by it keeps every value in [0, 1] and the order intact. */
        for (size_t j = 0; j < len; j++)
            t[j] /= acc;
    }
}

int sidik_fusion_create(const uint32_t *genuine, size_t ngenuine, const uint32_t *impostor,
                        size_t nimpostor, sidik_fusion **out)
{
    if (genuine == NULL || impostor == NULL || out == NULL)
        return SIDIK_EINVAL;
    if (ngenuine < SIDIK_FUSION_MIN_GENUINE || nimpostor < SIDIK_FUSION_MIN_IMPOSTOR)
        return SIDIK_EINVAL;
    for (size_t i = 0; i < ngenuine; i++)
        if (genuine[i] > SIDIK_MATCH_SCORE_MAX)
            return SIDIK_EINVAL;
    for (size_t i = 0; i < nimpostor; i++)
        if (impostor[i] > SIDIK_MATCH_SCORE_MAX)
            return SIDIK_EINVAL;

    int rc = SIDIK_ENOMEM;
    size_t *count = NULL;
    double *work = NULL;
    sidik_fusion *f = sidik_trycalloc(1, sizeof *f);
    if (f == NULL)
        goto done;
    /* The tail fit needs exact order statistics, so impostors are counted per
     * score, not per bin. */
    count = sidik_trycalloc(NSCORES, sizeof *count);
    if (count == NULL)
        goto done;

    double g[SIDIK_FUSION_BINS] = {0}, q[SIDIK_FUSION_BINS];
    for (size_t i = 0; i < ngenuine; i++)
        g[bin_of(genuine[i])] += 1;
    for (size_t i = 0; i < nimpostor; i++)
        count[impostor[i]]++;
    impostor_mass(count, nimpostor, q);
    double gsum = 0, qsum = 0;
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++) {
        g[b] += 0.5; /* every genuine bin, as for impostors above */
        gsum += g[b];
        qsum += q[b];
    }
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++) {
        g[b] /= gsum;
        q[b] /= qsum;
    }
    float cap = (float)(log((double)nimpostor) + SIDIK_FUSION_LLR_MARGIN);
    learn_llr(g, q, cap, f->llr);

    /* The cap is below ln(SIZE_MAX) + 1 < 46 nats, so n1 < 1000 and all the
     * tables together stay under a megabyte. */
    f->n1 = grid_index(cap, 1) + 1;
    size_t total = 0, maxlen = grid_len(f->n1, SIDIK_FUSION_MAX_FINGERS);
    for (unsigned k = 1; k <= SIDIK_FUSION_MAX_FINGERS; k++)
        total += grid_len(f->n1, k);
    f->tables = sidik_trymalloc(2 * total * sizeof(double));
    if (f->tables == NULL)
        goto done;
    work = sidik_trymalloc(3 * maxlen * sizeof(double));
    if (work == NULL)
        goto done;
    double *p = f->tables;
    for (unsigned k = 1; k <= SIDIK_FUSION_MAX_FINGERS; k++) {
        f->imp_tail[k - 1] = p;
        p += grid_len(f->n1, k);
        f->gen_miss[k - 1] = p;
        p += grid_len(f->n1, k);
    }

    double *pmf1 = work + 2 * maxlen;
    memset(pmf1, 0, f->n1 * sizeof *pmf1);
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++)
        pmf1[grid_index(f->llr[b], 1)] += q[b];
    convolve(pmf1, f->n1, 1, work, work + maxlen, f->imp_tail);
    memset(pmf1, 0, f->n1 * sizeof *pmf1);
    for (unsigned b = 0; b < SIDIK_FUSION_BINS; b++)
        pmf1[grid_index(f->llr[b], 0)] += g[b];
    convolve(pmf1, f->n1, 0, work, work + maxlen, f->gen_miss);

    *out = f;
    f = NULL;
    rc = 0;
done:
    sidik_free(work);
    sidik_free(count);
    sidik_fusion_destroy(f);
    return rc;
}

void sidik_fusion_destroy(sidik_fusion *f)
{
    if (f == NULL)
        return;
    sidik_free(f->tables);
    sidik_free(f);
}

float sidik_fusion_llr(const sidik_fusion *f, uint32_t score)
{
    return f->llr[bin_of(score > SIDIK_MATCH_SCORE_MAX ? SIDIK_MATCH_SCORE_MAX : score)];
}

/* The first grid index of `fingers` fingers whose value is >= t, as a signed
 * count so that t below the grid gives <= 0 and t above it >= len. */
static double first_index(unsigned fingers, double t)
{
    return ceil((t - fingers * SIDIK_FUSION_LLR_MIN) / SIDIK_FUSION_GRID - GRID_SLACK);
}

double sidik_fusion_impostor_tail(const sidik_fusion *f, unsigned fingers, double t)
{
    if (fingers < 1 || fingers > SIDIK_FUSION_MAX_FINGERS || isnan(t))
        return NAN;
    double j = first_index(fingers, t);
    size_t len = grid_len(f->n1, fingers);
    if (j >= (double)len)
        return 0;
    return f->imp_tail[fingers - 1][j <= 0 ? 0 : (size_t)j];
}

double sidik_fusion_genuine_miss(const sidik_fusion *f, unsigned fingers, double t)
{
    if (fingers < 1 || fingers > SIDIK_FUSION_MAX_FINGERS || isnan(t))
        return NAN;
    double j = first_index(fingers, t);
    size_t len = grid_len(f->n1, fingers);
    if (j >= (double)len)
        return 1;
    return f->gen_miss[fingers - 1][j <= 0 ? 0 : (size_t)j];
}

/* 1 - (1 - p)^n without cancellation: for p = 1e-12 and n = 1e6 the naive
 * form keeps only about four digits, and below p = 1e-16 none at all. */
static double fpir_of(double p, double n)
{
    return -expm1(n * log1p(-p));
}

int sidik_fusion_threshold(const sidik_fusion *f, unsigned fingers, uint64_t gallery, double fpir,
                           double *t)
{
    if (f == NULL || t == NULL)
        return SIDIK_EINVAL;
    if (fingers < 1 || fingers > SIDIK_FUSION_MAX_FINGERS || gallery == 0)
        return SIDIK_ERANGE;
    if (!(fpir > 0 && fpir < 1)) /* NaN fails too */
        return SIDIK_ERANGE;
    const double *tail = f->imp_tail[fingers - 1];
    size_t len = grid_len(f->n1, fingers);
    double n = (double)gallery;
    /* The survival never rises with the index, so neither does the FPIR:
     * binary search for the first index that meets fpir. */
    if (!(fpir_of(tail[len - 1], n) <= fpir))
        return SIDIK_ERANGE;
    size_t lo = 0, hi = len - 1; /* the answer lies in lo..hi */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fpir_of(tail[mid], n) <= fpir)
            hi = mid;
        else
            lo = mid + 1;
    }
    *t = fingers * SIDIK_FUSION_LLR_MIN + (double)hi * SIDIK_FUSION_GRID;
    return 0;
}
