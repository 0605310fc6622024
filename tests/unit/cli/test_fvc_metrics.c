/* FVC error rates: hand-computed cases, then a brute-force oracle on random
 * small-valued scores (ties on every threshold). */
#include "test_support.h"

#include <math.h>
#include <string.h>

#include "fvc_metrics.h"
#include "sidik/common.h"

#define N(a) SIDIK_ARRAY_SIZE(a)
#define EPS  1e-12

static void compute_ok(const uint32_t *g, size_t ng, const uint32_t *m, size_t nm,
                       sidik_fvc_rates *r)
{
    assert_int_equal(sidik_fvc_compute(g, ng, m, nm, r), 0);
}

static void assert_near(double got, double want)
{
    if (fabs(got - want) > EPS)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_fvc_perfect_separation(void **state)
{
    (void)state;
    const uint32_t g[] = {50, 60, 70};
    const uint32_t m[] = {40, 10, 30, 20};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    /* At t = 50 nothing is wrong, so the curves meet at 0. */
    assert_near(r.eer_low, 0);
    assert_near(r.eer_high, 0);
    assert_near(r.eer, 0);
    assert_near(r.fmr100, 0);
    assert_near(r.fmr1000, 0);
    assert_near(r.zerofmr, 0);

    /* Adjacent values: still separable, still 0. */
    const uint32_t g1[] = {6};
    const uint32_t m1[] = {5};
    compute_ok(g1, 1, m1, 1, &r);
    assert_near(r.eer, 0);
    assert_near(r.zerofmr, 0);
}

static void test_fvc_total_overlap(void **state)
{
    (void)state;
    /* Every score equal: at t = 5 all is accepted (FMR 1, FNMR 0), above it
     * all is rejected (FMR 0, FNMR 1). Both sums are 1, so FVC takes t1's
     * side: [FNMR(t1), FMR(t1)] = [0, 1]. */
    const uint32_t g[] = {5, 5, 5};
    const uint32_t m[] = {5, 5};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.eer_low, 0);
    assert_near(r.eer_high, 1);
    assert_near(r.eer, 0.5);
    assert_near(r.fmr100, 1);
    assert_near(r.fmr1000, 1);
    assert_near(r.zerofmr, 1);

    /* Identical distributions cross exactly at t = 3: FNMR = FMR = 1/2. */
    const uint32_t same[] = {1, 2, 3, 4};
    compute_ok(same, N(same), same, N(same), &r);
    assert_near(r.eer_low, 0.5);
    assert_near(r.eer_high, 0.5);
    assert_near(r.eer, 0.5);

    /* Fully inverted (every impostor above every genuine): at t = 5 both
     * rates are 1, and FVC's EER is 1. */
    const uint32_t gl[] = {3, 3};
    const uint32_t mh[] = {5, 5};
    compute_ok(gl, N(gl), mh, N(mh), &r);
    assert_near(r.eer, 1);
}

static void test_fvc_eer_exact_crossing(void **state)
{
    (void)state;
    /* t:     1    2    3    4    5    6    7
     * FNMR:  0    0    0   1/4  1/4  1/2  1/2
     * FMR:   1   3/4  1/2  1/2  1/4  1/4   0
     * The curves meet at t = 5: EER = 1/4 exactly. */
    const uint32_t g[] = {3, 5, 7, 9};
    const uint32_t m[] = {1, 2, 4, 6};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.eer_low, 0.25);
    assert_near(r.eer_high, 0.25);
    assert_near(r.eer, 0.25);
    assert_near(r.zerofmr, 0.5); /* t = 7 */
}

static void test_fvc_eer_step_interval(void **state)
{
    (void)state;
    /* t:     1    2    3    5    6    above
     * FNMR:  0    0   1/2  1/2  1/2   1
     * FMR:   1   2/3  2/3  1/3   0    0
     * t1 = 3 (1/2 <= 2/3), t2 = 5 (1/2 >= 1/3). Sums: 7/6 at t1, 5/6 at t2,
     * so [EERlow, EERhigh] = [FMR(t2), FNMR(t2)] = [1/3, 1/2], EER = 5/12. */
    const uint32_t g[] = {6, 2};
    const uint32_t m[] = {5, 1, 3};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.eer_low, 1.0 / 3);
    assert_near(r.eer_high, 0.5);
    assert_near(r.eer, 5.0 / 12);
    assert_near(r.zerofmr, 0.5); /* t = 6 */
}

static void test_fvc_eer_equal_sums_take_t1(void **state)
{
    (void)state;
    /* t = 5: FNMR 1/10, FMR 7/10 (t1); t = 7: FNMR 5/10, FMR 3/10 (t2).
     * Both sums are 8/10; FVC's "<=" takes t1's side, [0.1, 0.7], not
     * [0.3, 0.5]. The midpoint is 0.4 either way. */
    const uint32_t g[] = {1, 5, 5, 5, 5, 9, 9, 9, 9, 9};
    const uint32_t m[] = {0, 0, 0, 5, 5, 5, 5, 7, 7, 7};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.eer_low, 0.1);
    assert_near(r.eer_high, 0.7);
    assert_near(r.eer, 0.4);
}

static void test_fvc_ties_at_threshold(void **state)
{
    (void)state;
    /* An impostor score equal to t is a false match; a genuine score equal
     * to t is accepted. t = 5: FNMR 0, FMR 3/4; t = 8: FNMR 2/3, FMR 0.
     * Sums 3/4 > 2/3, so the interval is [0, 2/3]. */
    const uint32_t g[] = {5, 8, 5};
    const uint32_t m[] = {5, 2, 5, 5};
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.eer_low, 0);
    assert_near(r.eer_high, 2.0 / 3);
    assert_near(r.eer, 1.0 / 3);

    sidik_fvc_point p;
    /* Rejecting the three tied 5s takes t = 6, which also rejects both
     * genuine 5s. */
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.0, &p), 0);
    assert_int_equal(p.threshold, 6);
    assert_near(p.fmr, 0);
    assert_near(p.fnmr, 2.0 / 3);
    /* Two of four may be accepted, but the three 5s stand or fall together:
     * still t = 6. */
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.5, &p), 0);
    assert_int_equal(p.threshold, 6);
    assert_near(p.fmr, 0);
    /* Three of four: reject only the 2, so t = 3 and every genuine passes. */
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.75, &p), 0);
    assert_int_equal(p.threshold, 3);
    assert_near(p.fmr, 0.75);
    assert_near(p.fnmr, 0);
    /* Everything may be accepted: the lowest threshold is 0. */
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 1.0, &p), 0);
    assert_int_equal(p.threshold, 0);
    assert_near(p.fmr, 1);
    assert_near(p.fnmr, 0);
}

static void test_fvc_fmr100_45_impostors(void **state)
{
    (void)state;
    /* FVC2002's standard impostor set has 45 attempts: 1/45 = 2.2% > 1%,
     * so FMR <= 1% and <= 0.1% both mean no impostor accepted: t = 71. */
    const uint32_t g[] = {20, 40, 60, 80};
    uint32_t m[45];
    for (size_t i = 0; i < N(m); i++)
        m[i] = 10;
    m[17] = 70;
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.fmr100, 0.75);
    assert_near(r.fmr1000, 0.75);
    assert_near(r.zerofmr, 0.75);
    /* t1 = 20 (FNMR 0, FMR 1/45), t2 = 40 (FNMR 1/4, FMR 1/45): t1's sum
     * is smaller, so the interval is [0, 1/45]. */
    assert_near(r.eer_low, 0);
    assert_near(r.eer_high, 1.0 / 45);
    assert_near(r.eer, 1.0 / 90);

    sidik_fvc_point p;
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.01, &p), 0);
    assert_int_equal(p.threshold, 71);
    assert_near(p.fnmr, 0.75);
}

static void test_fvc_fmr100_100_impostors(void **state)
{
    (void)state;
    /* With 100 impostor attempts, 1% allows exactly one to be accepted:
     * the 70 passes at t = 11 and no genuine fails. 0.1% allows none. */
    const uint32_t g[] = {20, 40, 60, 80};
    uint32_t m[100];
    for (size_t i = 0; i < N(m); i++)
        m[i] = 10;
    m[99] = 70;
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.fmr100, 0);
    assert_near(r.fmr1000, 0.75);
    assert_near(r.zerofmr, 0.75);

    sidik_fvc_point p;
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.01, &p), 0);
    assert_int_equal(p.threshold, 11);
    assert_near(p.fmr, 0.01);
    assert_near(p.fnmr, 0);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.001, &p), 0);
    assert_int_equal(p.threshold, 71);
}

static void test_fvc_extreme_scores(void **state)
{
    (void)state;
    /* Rejecting an impostor at UINT32_MAX needs a threshold of 2^32. */
    const uint32_t g[] = {0, UINT32_MAX};
    const uint32_t m[] = {UINT32_MAX};
    sidik_fvc_point p;
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.0, &p), 0);
    assert_true(p.threshold == (uint64_t)UINT32_MAX + 1);
    assert_near(p.fmr, 0);
    assert_near(p.fnmr, 1);
    sidik_fvc_rates r;
    compute_ok(g, N(g), m, N(m), &r);
    assert_near(r.zerofmr, 1);
}

static void test_fvc_error_returns(void **state)
{
    (void)state;
    const uint32_t g[] = {1, 2};
    const uint32_t m[] = {0};
    sidik_fvc_rates r;
    sidik_fvc_point p;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(sidik_fvc_compute(g, 0, m, 1, &r), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_compute(g, 2, m, 0, &r), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_compute(NULL, 2, m, 1, &r), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_compute(g, 2, NULL, 1, &r), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_compute(g, 2, m, 1, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_compute(g, (size_t)UINT32_MAX + 1, m, 1, &r), SIDIK_EINVAL);
    /* *out untouched on error. */
    sidik_fvc_rates poison;
    memset(&poison, 0x5a, sizeof poison);
    assert_memory_equal(&r, &poison, sizeof r);

    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 0, m, 1, 0.01, &p), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 2, m, 0, 0.01, &p), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 2, m, 1, 0.01, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 2, m, 1, -0.001, &p), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 2, m, 1, 1.001, &p), SIDIK_EINVAL);
    assert_int_equal(sidik_fvc_threshold_for_fmr(g, 2, m, 1, NAN, &p), SIDIK_EINVAL);
}

static void test_fvc_out_of_memory(void **state)
{
    (void)state;
    const uint32_t g[] = {3, 1, 2};
    const uint32_t m[] = {0, 2};
    /* Fail the 1st, 2nd, ... allocation until the call no longer reaches
     * the armed one; every failure must be clean (the teardown checks for
     * leaks) and leave *out alone. */
    for (uint64_t nth = 1;; nth++) {
        sidik_fvc_rates r = {.eer = -1};
        sidik_alloc_fail_nth(nth);
        int rc = sidik_fvc_compute(g, N(g), m, N(m), &r);
        int pending = sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (pending) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, SIDIK_ENOMEM);
        assert_true(r.eer == -1);
    }
    for (uint64_t nth = 1;; nth++) {
        sidik_fvc_point p = {.threshold = 99};
        sidik_alloc_fail_nth(nth);
        int rc = sidik_fvc_threshold_for_fmr(g, N(g), m, N(m), 0.5, &p);
        int pending = sidik_alloc_fail_pending();
        sidik_alloc_fail_nth(0);
        if (pending) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, SIDIK_ENOMEM);
        assert_true(p.threshold == 99);
    }
}

/* The definitions applied literally: every integer threshold from 0 to one
 * above the highest score, counting with loops. */
static void oracle(const uint32_t *g, size_t ng, const uint32_t *m, size_t nm, sidik_fvc_rates *out)
{
    uint32_t top = 0;
    for (size_t i = 0; i < ng; i++)
        top = g[i] > top ? g[i] : top;
    for (size_t i = 0; i < nm; i++)
        top = m[i] > top ? m[i] : top;
    double t1fn = 0, t1fm = 1, t2fn = 1, t2fm = 0;
    int have_t2 = 0;
    double best[3] = {1, 1, 1};
    const double limit[3] = {0.01, 0.001, 0};
    for (uint32_t t = 0; t <= top + 1; t++) {
        size_t fn = 0, fm = 0;
        for (size_t i = 0; i < ng; i++)
            fn += g[i] < t;
        for (size_t i = 0; i < nm; i++)
            fm += m[i] >= t;
        double fnmr = (double)fn / (double)ng, fmr = (double)fm / (double)nm;
        /* Exact comparison through counts, as the definitions intend. */
        if (fn * nm <= fm * ng) {
            t1fn = fnmr;
            t1fm = fmr;
        }
        if (!have_t2 && fn * nm >= fm * ng) {
            t2fn = fnmr;
            t2fm = fmr;
            have_t2 = 1;
        }
        for (int k = 0; k < 3; k++)
            if ((double)fm <= limit[k] * (double)nm + 1e-9 && fnmr < best[k])
                best[k] = fnmr;
    }
    if (t1fn + t1fm <= t2fm + t2fn + 1e-12) {
        out->eer_low = t1fn;
        out->eer_high = t1fm;
    } else {
        out->eer_low = t2fm;
        out->eer_high = t2fn;
    }
    out->eer = (out->eer_low + out->eer_high) / 2;
    out->fmr100 = best[0];
    out->fmr1000 = best[1];
    out->zerofmr = best[2];
}

static void test_fvc_matches_oracle(void **state)
{
    (void)state;
    uint64_t seed = 20020101;
    uint32_t g[300], m[1200];
    for (int round = 0; round < 300; round++) {
        size_t ng = 1 + sidik_test_rand(&seed) % N(g);
        size_t nm = 1 + sidik_test_rand(&seed) % N(m);
        /* Narrow ranges force many ties; shifting the genuine range moves
         * the case from total overlap towards separation. */
        uint32_t range = 1 + (uint32_t)(sidik_test_rand(&seed) % 40);
        uint32_t shift = (uint32_t)(sidik_test_rand(&seed) % 30);
        for (size_t i = 0; i < ng; i++)
            g[i] = shift + (uint32_t)(sidik_test_rand(&seed) % range);
        for (size_t i = 0; i < nm; i++)
            m[i] = (uint32_t)(sidik_test_rand(&seed) % range);
        sidik_fvc_rates got, want;
        compute_ok(g, ng, m, nm, &got);
        oracle(g, ng, m, nm, &want);
        assert_near(got.eer_low, want.eer_low);
        assert_near(got.eer_high, want.eer_high);
        assert_near(got.eer, want.eer);
        assert_near(got.fmr100, want.fmr100);
        assert_near(got.fmr1000, want.fmr1000);
        assert_near(got.zerofmr, want.zerofmr);
        assert_true(got.eer_low <= got.eer_high);

        sidik_fvc_point p;
        assert_int_equal(sidik_fvc_threshold_for_fmr(g, ng, m, nm, 0.01, &p), 0);
        assert_near(p.fnmr, want.fmr100);
        assert_true(p.fmr <= 0.01 + EPS);
        /* Lowest: one less would break the target. */
        if (p.threshold > 0) {
            size_t fm = 0;
            for (size_t i = 0; i < nm; i++)
                fm += m[i] >= p.threshold - 1;
            assert_true((double)fm > 0.01 * (double)nm);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_fvc_perfect_separation),     SIDIK_TEST(test_fvc_total_overlap),
        SIDIK_TEST(test_fvc_eer_exact_crossing),     SIDIK_TEST(test_fvc_eer_step_interval),
        SIDIK_TEST(test_fvc_eer_equal_sums_take_t1), SIDIK_TEST(test_fvc_ties_at_threshold),
        SIDIK_TEST(test_fvc_fmr100_45_impostors),    SIDIK_TEST(test_fvc_fmr100_100_impostors),
        SIDIK_TEST(test_fvc_extreme_scores),         SIDIK_TEST(test_fvc_error_returns),
        SIDIK_TEST(test_fvc_out_of_memory),          SIDIK_TEST(test_fvc_matches_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
