/*
 * Score fusion (matcher/fusion.c): the learned per-finger LLR is monotone,
 * bounded and signed the right way; the convolved tails agree with sampled
 * ones within stated error; thresholds follow gallery size and FPIR exactly
 * on the grid; and every failure is an exact error code that leaks nothing.
 *
 * The samples come from two known distributions: impostor scores exponential
 * with mean 300, genuine scores normal(3500, 1200), both rounded and clipped
 * to 0..10000, a million of each.
 */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>

#include "sidik/common.h"
#include "sidik/fusion.h"

#define NSAMPLES 1000000
#define STEP     SIDIK_FUSION_GRID

static uint32_t *gen, *imp;
static float *gen_llr, *imp_llr;
static sidik_fusion *model;
static float cap; /* the documented cap for NSAMPLES impostors */

/* ---- samples --------------------------------------------------------------- */

static double uniform(uint64_t *s)
{
    return ((double)(sidik_test_rand(s) >> 11) + 0.5) * 0x1p-53; /* in (0, 1) */
}

static uint32_t clip(double x)
{
    return (uint32_t)lround(x < 0 ? 0 : x > SIDIK_MATCH_SCORE_MAX ? SIDIK_MATCH_SCORE_MAX : x);
}

static uint32_t impostor_score(uint64_t *s)
{
    return clip(-300 * log(uniform(s)));
}

static uint32_t genuine_score(uint64_t *s)
{
    double z = sqrt(-2 * log(uniform(s))) * cos(2 * M_PI * uniform(s));
    return clip(3500 + 1200 * z);
}

static int group_setup(void **state)
{
    (void)state;
    uint64_t seed = 1;
    gen = malloc(NSAMPLES * sizeof *gen);
    imp = malloc(NSAMPLES * sizeof *imp);
    gen_llr = malloc(NSAMPLES * sizeof *gen_llr);
    imp_llr = malloc(NSAMPLES * sizeof *imp_llr);
    if (gen == NULL || imp == NULL || gen_llr == NULL || imp_llr == NULL)
        return -1;
    for (size_t i = 0; i < NSAMPLES; i++) {
        gen[i] = genuine_score(&seed);
        imp[i] = impostor_score(&seed);
    }
    if (sidik_fusion_create(gen, NSAMPLES, imp, NSAMPLES, &model) != 0)
        return -1;
    for (size_t i = 0; i < NSAMPLES; i++) {
        gen_llr[i] = sidik_fusion_llr(model, gen[i]);
        imp_llr[i] = sidik_fusion_llr(model, imp[i]);
    }
    cap = (float)(log(NSAMPLES) + SIDIK_FUSION_LLR_MARGIN);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sidik_fusion_destroy(model);
    free(gen);
    free(imp);
    free(gen_llr);
    free(imp_llr);
    return 0;
}

/* 1 - (1 - p)^n, as the header defines the FPIR. */
static double fpir_of(double p, double n)
{
    return -expm1(n * log1p(-p));
}

/* ---- arguments --------------------------------------------------------------- */

static void test_matcher_fusion_create_rejects_bad_arguments(void **state)
{
    (void)state;
    sidik_fusion *f = (sidik_fusion *)&f; /* must stay untouched on failure */
    sidik_fusion *const untouched = f;
    assert_int_equal(sidik_fusion_create(NULL, 100, imp, 1000, &f), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_create(gen, 100, NULL, 1000, &f), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_create(gen, 100, imp, 1000, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_create(gen, 99, imp, 1000, &f), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_create(gen, 100, imp, 999, &f), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_create(gen, 0, imp, 0, &f), SIDIK_EINVAL);
    assert_ptr_equal(f, untouched);

    /* One score above the maximum, last in either array, spoils the call. */
    uint32_t g[100], i[1000];
    for (size_t k = 0; k < 100; k++)
        g[k] = 5000;
    for (size_t k = 0; k < 1000; k++)
        i[k] = 100;
    g[99] = SIDIK_MATCH_SCORE_MAX + 1;
    assert_int_equal(sidik_fusion_create(g, 100, i, 1000, &f), SIDIK_EINVAL);
    g[99] = SIDIK_MATCH_SCORE_MAX;
    i[999] = UINT32_MAX;
    assert_int_equal(sidik_fusion_create(g, 100, i, 1000, &f), SIDIK_EINVAL);
    assert_ptr_equal(f, untouched);
    /* Both at the maximum is fine: the smallest accepted samples. */
    i[999] = SIDIK_MATCH_SCORE_MAX;
    assert_int_equal(sidik_fusion_create(g, 100, i, 1000, &f), 0);
    sidik_fusion_destroy(f);
    sidik_fusion_destroy(NULL);
}

static void test_matcher_fusion_threshold_rejects_bad_arguments(void **state)
{
    (void)state;
    double t = 42;
    assert_int_equal(sidik_fusion_threshold(NULL, 10, 1000, 1e-3, &t), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_threshold(model, 10, 1000, 1e-3, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fusion_threshold(model, 0, 1000, 1e-3, &t), SIDIK_ERANGE);
    assert_int_equal(sidik_fusion_threshold(model, 11, 1000, 1e-3, &t), SIDIK_ERANGE);
    assert_int_equal(sidik_fusion_threshold(model, 10, 0, 1e-3, &t), SIDIK_ERANGE);
    const double bad[] = {0, 1, NAN, -1e-3, 1.5, -0.0, INFINITY, -INFINITY};
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(bad); k++)
        assert_int_equal(sidik_fusion_threshold(model, 10, 1000, bad[k], &t), SIDIK_ERANGE);
    assert_true(t == 42); /* untouched by every refusal */

    assert_true(isnan(sidik_fusion_impostor_tail(model, 0, 0)));
    assert_true(isnan(sidik_fusion_impostor_tail(model, 11, 0)));
    assert_true(isnan(sidik_fusion_impostor_tail(model, 1, NAN)));
    assert_true(isnan(sidik_fusion_genuine_miss(model, 0, 0)));
    assert_true(isnan(sidik_fusion_genuine_miss(model, 11, 0)));
    assert_true(isnan(sidik_fusion_genuine_miss(model, 1, NAN)));
    assert_true(sidik_fusion_impostor_tail(model, 3, INFINITY) == 0);
    assert_true(sidik_fusion_genuine_miss(model, 3, -INFINITY) == 0);
    assert_true(sidik_fusion_genuine_miss(model, 3, INFINITY) == 1);
}

/* ---- the per-finger LLR ---------------------------------------------------- */

static void test_matcher_fusion_llr_monotone_bounded_signed(void **state)
{
    (void)state;
    float prev = -INFINITY;
    for (uint32_t s = 0; s <= SIDIK_MATCH_SCORE_MAX; s++) {
        float v = sidik_fusion_llr(model, s);
        assert_true(v >= prev);
        assert_true(v >= (float)SIDIK_FUSION_LLR_MIN && v <= cap);
        prev = v;
    }
    assert_true(sidik_fusion_llr(model, UINT32_MAX) == sidik_fusion_llr(model, 10000));
    /* Impostors dominate low scores: 1 genuine in 560 falls below 0 (clipped
     * to 0) against 23% of impostors in the first bin (0..78), a ratio under
     * the floor. Genuines dominate from about 1250 on. */
    assert_true(sidik_fusion_llr(model, 0) == (float)SIDIK_FUSION_LLR_MIN);
    assert_true(sidik_fusion_llr(model, 300) < -1);
    assert_true(sidik_fusion_llr(model, 1000) < 0);
    assert_true(sidik_fusion_llr(model, 2000) > 0);
    assert_true(sidik_fusion_llr(model, 3500) > 5);
    /* Above the highest impostor (5300 in this sample) the extrapolated tail
     * makes the ratio huge, and the cap holds it. */
    assert_true(sidik_fusion_llr(model, 6000) == cap);
    assert_true(sidik_fusion_llr(model, 10000) == cap);
}

/* Samples nobody can tell apart carry no evidence, and one-sided samples
 * reach exactly the floor and the cap. */
static void test_matcher_fusion_llr_degenerate_samples(void **state)
{
    (void)state;
    uint32_t g[100], i[1000];
    for (size_t k = 0; k < 100; k++)
        g[k] = SIDIK_MATCH_SCORE_MAX;
    for (size_t k = 0; k < 1000; k++)
        i[k] = SIDIK_MATCH_SCORE_MAX;
    sidik_fusion *f;
    assert_int_equal(sidik_fusion_create(g, 100, i, 1000, &f), 0);
    for (uint32_t s = 0; s <= SIDIK_MATCH_SCORE_MAX; s += 7)
        assert_true(fabsf(sidik_fusion_llr(f, s)) < 1e-6f);
    sidik_fusion_destroy(f);

    for (size_t k = 0; k < 1000; k++)
        i[k] = 0;
    assert_int_equal(sidik_fusion_create(g, 100, i, 1000, &f), 0);
    assert_true(sidik_fusion_llr(f, 0) == (float)SIDIK_FUSION_LLR_MIN);
    assert_true(sidik_fusion_llr(f, SIDIK_MATCH_SCORE_MAX) ==
                (float)(log(1000) + SIDIK_FUSION_LLR_MARGIN));
    /* Even one-sided samples give a threshold, and one finger reaches it. */
    double t;
    assert_int_equal(sidik_fusion_threshold(f, 1, 1, 0.5, &t), 0);
    assert_true(t <= log(1000) + SIDIK_FUSION_LLR_MARGIN);
    sidik_fusion_destroy(f);
}

/* ---- tails against samples ------------------------------------------------- */

/* The model rounds each impostor LLR up to the grid (at most one step), so
 * for a true sum X of `fingers` LLRs, tail(t) >= P(X >= t) >= tail(t +
 * fingers * STEP): the empirical value must lie in that bracket, widened by
 * its error. The bracket is exact for the model's own distribution; the
 * model differs from the raw sample by smoothing only, half a sample in each
 * of at most 128 bins plus the extrapolated tail beyond the highest sample
 * (about one sample for these data): a total variation under 100 / n per
 * finger. */
#define SMOOTHING (100.0 / NSAMPLES)

static double survival(const float *llr, size_t n, double t)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += llr[i] >= t;
    return (double)k / (double)n;
}

static void test_matcher_fusion_one_finger_tail_matches_samples(void **state)
{
    (void)state;
    uint64_t seed = 99;
    float *fresh = malloc(NSAMPLES * sizeof *fresh);
    assert_non_null(fresh);
    for (size_t i = 0; i < NSAMPLES; i++)
        fresh[i] = sidik_fusion_llr(model, impostor_score(&seed));
    const double ts[] = {-3.9, -3.0, -2.0, -1.0, 0.0, 2.0, 5.0, 9.0};
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(ts); k++) {
        double hi = sidik_fusion_impostor_tail(model, 1, ts[k]);
        double lo = sidik_fusion_impostor_tail(model, 1, ts[k] + STEP);
        /* The training sample itself: smoothing is the only difference. */
        double train = survival(imp_llr, NSAMPLES, ts[k]);
        assert_true(train <= hi + SMOOTHING && train >= lo - SMOOTHING);
        /* A fresh sample adds the binomial error of both samples: four
         * standard deviations, a false alarm about once in 16000 checks (and
         * never once the seeds are fixed, as here). */
        double p = hi;
        double tol = 4 * sqrt(p * (1 - p) * 2.0 / NSAMPLES) + SMOOTHING;
        double emp = survival(fresh, NSAMPLES, ts[k]);
        assert_true(emp <= hi + tol && emp >= lo - tol);
    }
    /* The checks above are not vacuous: they span the bulk and the tail. */
    assert_true(sidik_fusion_impostor_tail(model, 1, -3.9) > 0.1);
    assert_true(sidik_fusion_impostor_tail(model, 1, 5.0) < 1e-3);

    /* Genuine LLRs are rounded down: miss(t - STEP) <= P(X < t) <= miss(t). */
    for (size_t i = 0; i < NSAMPLES; i++)
        fresh[i] = sidik_fusion_llr(model, genuine_score(&seed));
    const double tg[] = {-3.9, 0.0, 3.0, 6.0, 9.0, 12.0};
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(tg); k++) {
        double hi = sidik_fusion_genuine_miss(model, 1, tg[k]);
        double lo = sidik_fusion_genuine_miss(model, 1, tg[k] - STEP);
        double train = 1 - survival(gen_llr, NSAMPLES, tg[k]);
        assert_true(train <= hi + SMOOTHING && train >= lo - SMOOTHING);
        double tol = 4 * sqrt(hi * (1 - hi) * 2.0 / NSAMPLES) + SMOOTHING;
        double emp = 1 - survival(fresh, NSAMPLES, tg[k]);
        assert_true(emp <= hi + tol && emp >= lo - tol);
    }
    assert_true(sidik_fusion_genuine_miss(model, 1, -3.9) < 0.01);
    assert_true(sidik_fusion_genuine_miss(model, 1, 12.0) > 0.5);
    free(fresh);
}

/* Two fingers: random pairs of training samples against the convolution. The
 * pairs' empirical distribution is the exact convolution of the sample with
 * itself, so what remains is the Monte-Carlo error (four standard deviations
 * of M pairs) and the smoothing of two fingers. Genuine LLRs are rounded down,
 * so there the bracket is miss(t - 2 STEP) <= P(X < t) <= miss(t). */
#define PAIRS 2000000

static void test_matcher_fusion_two_finger_tails_match_monte_carlo(void **state)
{
    (void)state;
    const double ti[] = {-7.5, -6.0, -4.0, -2.0, 0.5, 3.0};
    const double tg[] = {-4.0, 0.0, 4.0, 8.0, 12.0, 20.0};
    size_t ci[SIDIK_ARRAY_SIZE(ti)] = {0}, cg[SIDIK_ARRAY_SIZE(tg)] = {0};
    uint64_t seed = 7;
    for (size_t n = 0; n < PAIRS; n++) {
        double si = (double)imp_llr[sidik_test_rand(&seed) % NSAMPLES] +
                    imp_llr[sidik_test_rand(&seed) % NSAMPLES];
        double sg = (double)gen_llr[sidik_test_rand(&seed) % NSAMPLES] +
                    gen_llr[sidik_test_rand(&seed) % NSAMPLES];
        for (size_t k = 0; k < SIDIK_ARRAY_SIZE(ti); k++)
            ci[k] += si >= ti[k];
        for (size_t k = 0; k < SIDIK_ARRAY_SIZE(tg); k++)
            cg[k] += sg < tg[k];
    }
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(ti); k++) {
        double hi = sidik_fusion_impostor_tail(model, 2, ti[k]);
        double lo = sidik_fusion_impostor_tail(model, 2, ti[k] + 2 * STEP);
        double tol = 4 * sqrt(hi * (1 - hi) / PAIRS) + 2 * SMOOTHING;
        double emp = (double)ci[k] / PAIRS;
        assert_true(emp <= hi + tol && emp >= lo - tol);
    }
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(tg); k++) {
        double hi = sidik_fusion_genuine_miss(model, 2, tg[k]);
        double lo = sidik_fusion_genuine_miss(model, 2, tg[k] - 2 * STEP);
        double tol = 4 * sqrt(hi * (1 - hi) / PAIRS) + 2 * SMOOTHING;
        double emp = (double)cg[k] / PAIRS;
        assert_true(emp <= hi + tol && emp >= lo - tol);
    }
    /* Not vacuous: both ends of each range are far apart. */
    assert_true(sidik_fusion_impostor_tail(model, 2, ti[0]) > 0.2);
    assert_true(sidik_fusion_impostor_tail(model, 2, ti[5]) < 1e-3);
    assert_true(sidik_fusion_genuine_miss(model, 2, tg[0]) < 1e-3);
    assert_true(sidik_fusion_genuine_miss(model, 2, tg[5]) > 0.2);
}

/* ---- the shape of the tails ------------------------------------------------- */

static void test_matcher_fusion_tail_shape(void **state)
{
    (void)state;
    /* E_impostor[exp(LLR)] is 1 before clamping (pooling keeps it), the floor
     * adds at most exp(-4) and rounding up one step per finger, so Markov's
     * inequality bounds every tail: P(sum >= t) <= (E exp(LLR))^f exp(-t). */
    const double per_finger = (1 + exp(SIDIK_FUSION_LLR_MIN)) * exp(STEP);
    for (unsigned f = 1; f <= SIDIK_FUSION_MAX_FINGERS; f++) {
        double lo = f * SIDIK_FUSION_LLR_MIN, top = f * (double)cap;
        /* Everything at or above f times the floor; nothing below it missed. */
        assert_true(sidik_fusion_impostor_tail(model, f, lo) == 1);
        assert_true(sidik_fusion_impostor_tail(model, f, lo - 5) ==
                    sidik_fusion_impostor_tail(model, f, lo));
        assert_true(sidik_fusion_genuine_miss(model, f, lo) == 0);
        /* All fingers at the cap is the top, rounded up at most f steps. */
        double all_cap = pow(sidik_fusion_impostor_tail(model, 1, cap), f);
        assert_true(all_cap > 0);
        assert_true(sidik_fusion_impostor_tail(model, f, top) >= all_cap * (1 - 1e-9));
        assert_true(sidik_fusion_impostor_tail(model, f, top + f * STEP) == 0);
        assert_true(sidik_fusion_genuine_miss(model, f, top + f * STEP) == 1);
        double prev_tail = 2, prev_miss = -1;
        for (double t = lo - 1; t <= top + f * STEP + 1; t += STEP / 3) {
            double p = sidik_fusion_impostor_tail(model, f, t);
            double m = sidik_fusion_genuine_miss(model, f, t);
            assert_true(p <= prev_tail && p >= 0);
            assert_true(m >= prev_miss && m <= 1);
            assert_true(p <= pow(per_finger, f) * exp(-t) * (1 + 1e-5));
            prev_tail = p;
            prev_miss = m;
        }
    }
    /* More fingers are not simply more chances. In the bulk an extra impostor
     * finger, negative on average, pulls the sum down: the tail at 0 falls
     * with every finger. Beyond what f fingers can reach, f + 1 can still get
     * there: the tail rises from 0. So the tail is not monotone in fingers. */
    for (unsigned f = 1; f < SIDIK_FUSION_MAX_FINGERS; f++) {
        assert_true(sidik_fusion_impostor_tail(model, f + 1, 0) <
                    sidik_fusion_impostor_tail(model, f, 0));
        double beyond = f * (double)cap + f * STEP;
        assert_true(sidik_fusion_impostor_tail(model, f, beyond) == 0);
        assert_true(sidik_fusion_impostor_tail(model, f + 1, beyond) > 0);
    }
    /* Far tails are resolved, not flushed to zero: ten fingers at the cap. */
    double far = sidik_fusion_impostor_tail(model, 10, 10 * (double)cap);
    assert_true(far > 1e-300 && far < 1e-60);
}

/* ---- thresholds ------------------------------------------------------------- */

/* t meets fpir, t - STEP does not, and the union bound N p stays within
 * -ln(1 - fpir) (which 1 - (1 - p)^N <= fpir implies). */
static double check_threshold(unsigned fingers, uint64_t n, double fpir)
{
    double t = NAN;
    assert_int_equal(sidik_fusion_threshold(model, fingers, n, fpir, &t), 0);
    double p = sidik_fusion_impostor_tail(model, fingers, t);
    double below = sidik_fusion_impostor_tail(model, fingers, t - STEP);
    assert_true(fpir_of(p, (double)n) <= fpir);
    assert_true(fpir_of(below, (double)n) > fpir);
    assert_true((double)n * p <= -log1p(-fpir));
    /* t is a grid point of `fingers` fingers. */
    double j = (t - fingers * SIDIK_FUSION_LLR_MIN) / STEP;
    assert_true(fabs(j - round(j)) < 1e-6);
    return t;
}

static void test_matcher_fusion_threshold_follows_gallery_and_fpir(void **state)
{
    (void)state;
    double t3 = check_threshold(10, 1000, 1e-3);
    double t6 = check_threshold(10, 1000000, 1e-3);
    double t8 = check_threshold(10, 250000000, 1e-3);
    assert_true(t3 < t6 && t6 < t8);
    /* Never above the distribution-free bound: tail(t) <= B^f exp(-t) (see
     * the tail shape test) meets fpir by t = ln(N B^f / fpir). The data do
     * much better: 10.35 nats for 250 million persons, not 26.9. */
    const double b10 = 10 * (log1p(exp(SIDIK_FUSION_LLR_MIN)) + STEP);
    assert_true(t3 <= log(1e3 / 1e-3) + b10 + STEP);
    assert_true(t6 <= log(1e6 / 1e-3) + b10 + STEP);
    assert_true(t8 <= log(2.5e8 / 1e-3) + b10 + STEP);
    double a = check_threshold(10, 1000000, 1e-2);
    double b = check_threshold(10, 1000000, 1e-4);
    assert_true(a < t6 && t6 < b);
    /* A large fpir, where the union bound would be far off, still works. */
    check_threshold(10, 1000000, 0.5);
    /* One finger suffices for a small gallery, not for 250 million persons:
     * even a finger at the cap matches an impostor about 1 time in 10^7. */
    double t1 = check_threshold(1, 1000, 1e-2);
    assert_true(t1 > 0 && t1 <= cap);
    double t = 42;
    assert_int_equal(sidik_fusion_threshold(model, 1, 250000000, 1e-3, &t), SIDIK_ERANGE);
    assert_true(t == 42);
    /* At the 250-million-person threshold, ten genuine fingers almost never
     * miss: the fused system is usable, not just safe. */
    assert_true(sidik_fusion_genuine_miss(model, 10, t8) < 1e-6);
    /* The threshold is the first index that meets; every gallery size up to
     * 2^64 - 1 gets one with ten fingers. */
    check_threshold(10, UINT64_MAX, 1e-3);
}

/* ---- allocation failures ----------------------------------------------------- */

static void test_matcher_fusion_allocation_failures(void **state)
{
    (void)state;
    size_t blocks = sidik_alloc_blocks();
    unsigned failures = 0;
    for (uint64_t k = 1;; k++) {
        sidik_fusion *f = (sidik_fusion *)&k;
        sidik_alloc_fail_nth(k);
        int rc = sidik_fusion_create(gen, 1000, imp, 10000, &f);
        if (!sidik_alloc_fail_pending()) {
            /* The kth allocation was reached and failed. */
            assert_int_equal(rc, SIDIK_ENOMEM);
            assert_ptr_equal(f, (sidik_fusion *)&k);
            assert_int_equal(sidik_alloc_blocks(), blocks);
            failures++;
            continue;
        }
        sidik_alloc_fail_nth(0);
        assert_int_equal(rc, 0);
        sidik_fusion_destroy(f);
        assert_int_equal(sidik_alloc_blocks(), blocks);
        break;
    }
    /* Creation allocates more than once, so partial clean-up was exercised. */
    assert_true(failures >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_matcher_fusion_create_rejects_bad_arguments),
        SIDIK_TEST(test_matcher_fusion_threshold_rejects_bad_arguments),
        SIDIK_TEST(test_matcher_fusion_llr_monotone_bounded_signed),
        SIDIK_TEST(test_matcher_fusion_llr_degenerate_samples),
        SIDIK_TEST(test_matcher_fusion_one_finger_tail_matches_samples),
        SIDIK_TEST(test_matcher_fusion_two_finger_tails_match_monte_carlo),
        SIDIK_TEST(test_matcher_fusion_tail_shape),
        SIDIK_TEST(test_matcher_fusion_threshold_follows_gallery_and_fpir),
        SIDIK_TEST(test_matcher_fusion_allocation_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
