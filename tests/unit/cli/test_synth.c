/*
 * The synthetic population (cli/synth.h): determinism and random access,
 * the model's statistics (class frequencies, spacing, types, directions,
 * counts, missing and spurious rates), records that decode, the enrollment
 * plan, and a behaviour check with the real matcher: impressions of one
 * finger score well above different fingers. Sizes are chosen so the whole
 * file runs in a few seconds.
 */
#include "test_support.h"

#include <math.h>
#include <string.h>

#include "sidik/common.h"
#include "sidik/matcher.h"
#include "synth.h"

static sidik_synth_params params;

static int setup_params(void **state)
{
    (void)state;
    sidik_synth_params_default(&params);
    return 0;
}

/* The record of (seed, person, impression) as ISO bytes, into buf. */
static size_t record(uint64_t seed, uint64_t person, uint32_t impression,
                     const sidik_synth_alter *alter, sidik_fmr *fmr, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    assert_int_equal(sidik_synth_impression(&params, seed, person, impression, fmr, alter, NULL),
                     0);
    assert_int_equal(sidik_fmr_encode_iso2005(fmr, buf, cap, &len), 0);
    return len;
}

static void test_synth_params_check(void **state)
{
    (void)state;
    const char *why = "unset";
    assert_int_equal(sidik_synth_params_check(&params, &why), 0);
    assert_null(why);
    assert_int_equal(sidik_synth_params_check(NULL, &why), SIDIK_EINVAL);

    sidik_synth_params p = params;
    p.tier[0].share = 0.9f;
    assert_int_equal(sidik_synth_params_check(&p, &why), SIDIK_ERANGE);
    assert_string_equal(why, "tier shares must sum to 1");
    p = params;
    p.min_count = 90;
    assert_int_equal(sidik_synth_params_check(&p, &why), SIDIK_ERANGE);
    p = params;
    p.density = NAN;
    assert_int_equal(sidik_synth_params_check(&p, &why), SIDIK_ERANGE);
    p = params;
    p.tier[2].miss_lo = 0.5f; /* above miss_hi */
    assert_int_equal(sidik_synth_params_check(&p, &why), SIDIK_ERANGE);
}

static void test_synth_bad_arguments(void **state)
{
    (void)state;
    sidik_synth_master_finger *m = sidik_xmalloc(sizeof *m);
    sidik_fmr *fmr = sidik_xmalloc(sizeof *fmr);
    assert_int_equal(sidik_synth_master(&params, 1, 1, 0, m), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_master(&params, 1, 1, 11, m), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_master(NULL, 1, 1, 1, m), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_impression(&params, 1, 1, 0, NULL, NULL, NULL), SIDIK_EINVAL);
    const sidik_synth_alter self = {3, 3, 0}, range = {0, 11, 0}, all = {0, 0, 0x3ff},
                            high = {0, 0, 0x400};
    assert_int_equal(sidik_synth_impression(&params, 1, 1, 0, fmr, &self, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_impression(&params, 1, 1, 0, fmr, &range, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_impression(&params, 1, 1, 0, fmr, &all, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_impression(&params, 1, 1, 0, fmr, &high, NULL), SIDIK_EINVAL);
    sidik_template t;
    assert_int_equal(sidik_synth_capture(&params, 1, NULL, 0, &t, NULL), SIDIK_EINVAL);
    sidik_free(m);
    sidik_free(fmr);
}

/* Person 123 alone equals person 123 after persons 0..122 and after a
 * different seed's work: no state survives between calls. */
static void test_synth_random_access(void **state)
{
    (void)state;
    sidik_fmr *fmr = sidik_xmalloc(sizeof *fmr);
    enum { CAP = 8192 };
    uint8_t *a = sidik_xmalloc(CAP), *b = sidik_xmalloc(CAP), *c = sidik_xmalloc(CAP);
    size_t la = record(42, 123, 0, NULL, fmr, a, CAP);
    for (uint64_t p = 0; p < 123; p++)
        record(42, p, 0, NULL, fmr, b, CAP);
    record(7, 5000, 3, NULL, fmr, b, CAP);
    size_t lb = record(42, 123, 0, NULL, fmr, b, CAP);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* A different impression, person or seed is a different record. */
    size_t lc = record(42, 123, 1, NULL, fmr, c, CAP);
    assert_true(lc != la || memcmp(a, c, la) != 0);
    lc = record(43, 123, 0, NULL, fmr, c, CAP);
    assert_true(lc != la || memcmp(a, c, la) != 0);

    /* The master too, and a capture from it equals the record's view. */
    sidik_synth_master_finger *m1 = sidik_xmalloc(sizeof *m1), *m2 = sidik_xmalloc(sizeof *m2);
    assert_int_equal(sidik_synth_master(&params, 42, 123, 7, m1), 0);
    assert_int_equal(sidik_synth_master(&params, 42, 9, 2, m2), 0);
    assert_int_equal(sidik_synth_master(&params, 42, 123, 7, m2), 0);
    assert_int_equal(m1->pattern, m2->pattern);
    assert_int_equal(m1->count, m2->count);
    assert_true(m1->half_width == m2->half_width && m1->half_height == m2->half_height);
    assert_memory_equal(m1->field.knot, m2->field.knot, sizeof m1->field.knot);
    assert_memory_equal(m1->m, m2->m, m1->count * sizeof m1->m[0]);
    sidik_template t;
    assert_int_equal(sidik_synth_capture(&params, 42, m1, 0, &t, NULL), 0);
    record(42, 123, 0, NULL, fmr, c, CAP);
    assert_int_equal(fmr->views[6].position, 7);
    assert_memory_equal(&t, &fmr->views[6], offsetof(sidik_template, m) + t.count * sizeof t.m[0]);
    sidik_free(m1);
    sidik_free(m2);
    sidik_free(a);
    sidik_free(b);
    sidik_free(c);
    sidik_free(fmr);
}

/* Every record encodes, decodes and comes back equal; alterations show. */
static void test_synth_records_decode(void **state)
{
    (void)state;
    sidik_fmr *fmr = sidik_xmalloc(sizeof *fmr), *back = sidik_xmalloc(sizeof *back);
    enum { CAP = 8192 };
    uint8_t *buf = sidik_xmalloc(CAP);
    sidik_synth_view_info info[SIDIK_SYNTH_FINGERS];
    for (uint64_t p = 0; p < 200; p++) {
        sidik_synth_alter alter = {0, 0, 0};
        if (p % 3 == 1)
            alter.swap_a = 2, alter.swap_b = 7;
        if (p % 3 == 2)
            alter.missing = 1u << 3 | 1u << 8; /* positions 4 and 9 */
        assert_int_equal(sidik_synth_impression(&params, 9, p, (uint32_t)p % 4, fmr, &alter, info),
                         0);
        size_t len;
        assert_int_equal(sidik_fmr_encode_iso2005(fmr, buf, CAP, &len), 0);
        const char *why = NULL;
        assert_int_equal(sidik_fmr_decode(buf, len, back, &why), 0);
        assert_int_equal(back->nviews, p % 3 == 2 ? 8 : 10);
        for (uint32_t v = 0; v < back->nviews; v++) {
            const sidik_template *t = &back->views[v];
            assert_int_equal(t->width, 300);
            assert_int_equal(t->height, 400);
            assert_int_equal(t->position, info[v].position);
            assert_int_equal(t->count, info[v].count);
            assert_memory_equal(t, &fmr->views[v],
                                offsetof(sidik_template, m) + t->count * sizeof t->m[0]);
            if (p % 3 == 1 && (t->position == 2 || t->position == 7))
                assert_int_equal(info[v].finger, t->position == 2 ? 7 : 2);
            else
                assert_int_equal(info[v].finger, t->position);
            if (p % 3 == 2)
                assert_true(t->position != 4 && t->position != 9);
        }
    }
    sidik_free(buf);
    sidik_free(back);
    sidik_free(fmr);
}

/* NIST's natural frequencies over 20,000 fingers, within 1.5 points (4.5
 * standard deviations at worst). */
static void test_synth_class_frequencies(void **state)
{
    (void)state;
    static const double want[SIDIK_SYNTH_CLASSES] = {3.7, 2.9, 33.8, 31.7, 27.9};
    unsigned n[SIDIK_SYNTH_CLASSES] = {0};
    sidik_synth_master_finger *m = sidik_xmalloc(sizeof *m);
    for (uint64_t p = 0; p < 2000; p++)
        for (int f = 1; f <= SIDIK_SYNTH_FINGERS; f++) {
            assert_int_equal(sidik_synth_master(&params, 3, p, f, m), 0);
            assert_true(m->pattern < SIDIK_SYNTH_CLASSES);
            n[m->pattern]++;
            /* singular points as the class has them */
            static const int cores[] = {0, 1, 1, 1, 2};
            assert_int_equal(m->field.ncores, cores[m->pattern]);
            assert_int_equal(m->field.ndeltas, cores[m->pattern]);
        }
    for (int c = 0; c < SIDIK_SYNTH_CLASSES; c++) {
        double got = 100.0 * n[c] / 20000;
        if (fabs(got - want[c]) > 1.5)
            fail_msg("class %d: %.2f%%, want %.1f%%", c, got, want[c]);
    }
    sidik_free(m);
}

/* Master minutiae: inside the finger, never closer than min_spacing,
 * 60/40 endings/bifurcations, directions along the ridge flow. */
static void test_synth_master_minutiae(void **state)
{
    (void)state;
    sidik_synth_master_finger *m = sidik_xmalloc(sizeof *m);
    unsigned endings = 0, total = 0, off_flow = 0;
    double min_d2 = 1e9;
    for (uint64_t p = 0; p < 200; p++)
        for (int f = 1; f <= SIDIK_SYNTH_FINGERS; f++) {
            assert_int_equal(sidik_synth_master(&params, 11, p, f, m), 0);
            assert_true(m->count >= 20 && m->count <= SIDIK_SYNTH_MAX_MASTER);
            for (int i = 0; i < m->count; i++) {
                const sidik_synth_minutia *a = &m->m[i];
                double ex = a->x / m->half_width, ey = a->y / m->half_height;
                assert_true(ex * ex + ey * ey <= 1.0001);
                assert_true(a->angle >= 0 && a->angle < 2 * M_PI);
                assert_true(a->type == SIDIK_MINUTIA_ENDING ||
                            a->type == SIDIK_MINUTIA_BIFURCATION);
                endings += a->type == SIDIK_MINUTIA_ENDING;
                total++;
                for (int j = i + 1; j < m->count; j++) {
                    double dx = a->x - m->m[j].x, dy = a->y - m->m[j].y;
                    if (dx * dx + dy * dy < min_d2)
                        min_d2 = dx * dx + dy * dy;
                }
                /* The direction modulo pi against the field: the scatter is
                 * 3 degrees, so 12 (4 sigma) is rarely passed. */
                double o = sidik_synth_orientation(m, a->x, a->y);
                double d = fmod(a->angle - o + 4 * M_PI, M_PI);
                if (d > M_PI / 2)
                    d = M_PI - d;
                off_flow += d > 12 * M_PI / 180;
            }
        }
    assert_true(sqrt(min_d2) >= params.min_spacing - 1e-3);
    double share = (double)endings / total;
    if (share < 0.58 || share > 0.62)
        fail_msg("endings %.3f of %u master minutiae, want 0.60", share, total);
    assert_true(off_flow < total / 500);
    sidik_free(m);
}

/* Captures: 20..80 minutiae each, missing and spurious within the tiers'
 * ranges on average, all three tiers in use, about 60% endings still. */
static void test_synth_capture_statistics(void **state)
{
    (void)state;
    sidik_fmr *fmr = sidik_xmalloc(sizeof *fmr);
    sidik_synth_view_info info[SIDIK_SYNTH_FINGERS];
    double visible = 0, kept = 0, spurious = 0, count = 0, endings = 0;
    unsigned tiers[SIDIK_SYNTH_TIERS] = {0}, views = 0;
    for (uint64_t p = 0; p < 300; p++) {
        assert_int_equal(sidik_synth_impression(&params, 5, p, 0, fmr, NULL, info), 0);
        assert_int_equal(fmr->nviews, 10);
        for (uint32_t v = 0; v < fmr->nviews; v++) {
            const sidik_template *t = &fmr->views[v];
            if (t->count < params.min_count || t->count > params.max_count)
                fail_msg("person %llu view %u: %u minutiae", (unsigned long long)p, v, t->count);
            assert_int_equal(info[v].count, t->count);
            assert_int_equal(info[v].kept + info[v].spurious, t->count);
            for (unsigned i = 0; i < t->count; i++) {
                assert_true(t->m[i].x < t->width && t->m[i].y < t->height);
                assert_true(t->m[i].quality >= 1 && t->m[i].quality <= 100);
                /* raster order */
                if (i > 0)
                    assert_true(t->m[i - 1].y < t->m[i].y ||
                                (t->m[i - 1].y == t->m[i].y && t->m[i - 1].x <= t->m[i].x));
                endings += t->m[i].type == SIDIK_MINUTIA_ENDING;
            }
            visible += info[v].visible;
            kept += info[v].kept;
            spurious += info[v].spurious;
            count += t->count;
            tiers[info[v].tier]++;
            views++;
        }
    }
    double missing = 1 - kept / visible, spur = spurious / kept;
    if (missing < 0.20 || missing > 0.35)
        fail_msg("missing %.3f of visible minutiae, want 0.20..0.35", missing);
    if (spur < 0.10 || spur > 0.25)
        fail_msg("spurious %.3f of kept minutiae, want 0.10..0.25", spur);
    if (count / views < 30 || count / views > 50)
        fail_msg("%.1f minutiae per view", count / views);
    if (endings / count < 0.55 || endings / count > 0.65)
        fail_msg("endings %.3f of captured minutiae", endings / count);
    for (int t = 0; t < SIDIK_SYNTH_TIERS; t++)
        if (fabs((double)tiers[t] / views - params.tier[t].share) > 0.05)
            fail_msg("tier %d: %.3f of views, want %.2f", t, (double)tiers[t] / views,
                     params.tier[t].share);
    sidik_free(fmr);
}

/* Two impressions of one finger against different fingers, with the real
 * matcher: genuine scores well above impostor ones on average. */
static void test_synth_genuine_above_impostor(void **state)
{
    (void)state;
    enum { FINGERS = 24 };
    sidik_synth_master_finger *m = sidik_xmalloc(sizeof *m);
    sidik_template *t = sidik_xmalloc(sizeof *t);
    sidik_finger *f[FINGERS][2];
    for (int k = 0; k < FINGERS; k++) {
        /* Four fingers of six persons: different persons and different
         * fingers of one person among the impostors. */
        assert_int_equal(sidik_synth_master(&params, 21, (uint64_t)k / 4, 2 + k % 4, m), 0);
        for (uint32_t i = 0; i < 2; i++) {
            assert_int_equal(sidik_synth_capture(&params, 21, m, i, t, NULL), 0);
            assert_int_equal(sidik_finger_create(t, &f[k][i]), 0);
        }
    }
    sidik_matcher *mt;
    assert_int_equal(sidik_matcher_create(SIDIK_SIMD_SCALAR, &mt), 0);
    double gen = 0, imp = 0, imp_max = 0;
    unsigned above = 0;
    for (int a = 0; a < FINGERS; a++) {
        double g = sidik_match_score(mt, f[a][0], f[a][1]);
        gen += g;
        for (int b = a + 1; b < FINGERS; b++) {
            double s = sidik_match_score(mt, f[a][0], f[b][1]);
            imp += s;
            if (s > imp_max)
                imp_max = s;
        }
    }
    gen /= FINGERS;
    imp /= FINGERS * (FINGERS - 1) / 2;
    for (int a = 0; a < FINGERS; a++)
        above += sidik_match_score(mt, f[a][0], f[a][1]) > imp_max;
    if (gen < 2 * imp)
        fail_msg("mean genuine %.0f, mean impostor %.0f: want genuine at least twice", gen, imp);
    if (above < FINGERS * 3 / 4)
        fail_msg("only %u of %d genuine scores above the best impostor (%.0f)", above, FINGERS,
                 imp_max);
    sidik_matcher_destroy(mt);
    for (int k = 0; k < FINGERS; k++)
        for (int i = 0; i < 2; i++)
            sidik_finger_destroy(f[k][i]);
    sidik_free(t);
    sidik_free(m);
}

/* The plan: every person enrolled once, in order; re-enrollments as many
 * as the rate says, each of someone already enrolled, with their own
 * impression number; shares of swaps and missing fingers near 10%. */
static void test_synth_plan(void **state)
{
    (void)state;
    sidik_synth_plan plan;
    assert_int_equal(sidik_synth_plan_init(NULL, 1, 10, 0.1), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, 0, 0.1), SIDIK_ERANGE);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, SIDIK_SYNTH_MAX_PERSONS + 1, 0.1),
                     SIDIK_ERANGE);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, 10, 1.5), SIDIK_ERANGE);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, 10, -0.1), SIDIK_ERANGE);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, 10, NAN), SIDIK_ERANGE);

    assert_int_equal(sidik_synth_plan_init(&plan, 1, 100, 0.29), 0);
    assert_int_equal(plan.reenrolls, 29);
    assert_int_equal(sidik_synth_plan_init(&plan, 1, 7, 0), 0);
    assert_int_equal(sidik_synth_plan_records(&plan), 7);
    sidik_synth_entry e;
    for (uint64_t r = 0; r < 7; r++) {
        assert_int_equal(sidik_synth_plan_entry(&plan, r, &e), 0);
        assert_int_equal(e.person, r);
        assert_int_equal(e.kind, SIDIK_SYNTH_NEW);
    }
    assert_int_equal(sidik_synth_plan_entry(&plan, 7, &e), SIDIK_ERANGE);

    const double rates[] = {0.05, 1.0};
    for (size_t k = 0; k < 2; k++) {
        const uint64_t N = 20000;
        assert_int_equal(sidik_synth_plan_init(&plan, 77, N, rates[k]), 0);
        uint64_t M = plan.reenrolls, total = sidik_synth_plan_records(&plan);
        assert_int_equal(M, (uint64_t)(N * rates[k] + 0.5));
        assert_int_equal(total, N + M);
        uint64_t next = 0, re = 0, swaps = 0, missing = 0;
        for (uint64_t r = 0; r < total; r++) {
            assert_int_equal(sidik_synth_plan_entry(&plan, r, &e), 0);
            if (e.kind == SIDIK_SYNTH_NEW) {
                assert_int_equal(e.person, next);
                assert_int_equal(e.impression, 0);
                assert_int_equal(e.alter.swap_a | e.alter.swap_b | e.alter.missing, 0);
                next++;
                continue;
            }
            assert_int_equal(e.kind, SIDIK_SYNTH_REENROLL);
            assert_true(e.person < next);
            assert_int_equal(e.impression, re + 1);
            re++;
            if (e.alter.swap_a != 0) {
                assert_true(e.alter.swap_a < e.alter.swap_b && e.alter.swap_b <= 10);
                assert_int_equal(e.alter.missing, 0);
                swaps++;
            }
            if (e.alter.missing != 0) {
                int bits = __builtin_popcount(e.alter.missing);
                assert_true(bits == 1 || bits == 2);
                assert_int_equal(e.alter.missing & ~0x3ffu, 0);
                missing++;
            }
        }
        assert_int_equal(next, N);
        assert_int_equal(re, M);
        assert_true(fabs((double)swaps / M - 0.10) < 0.03);
        assert_true(fabs((double)missing / M - 0.10) < 0.03);
        /* Random access agrees with the walk. */
        sidik_synth_entry a, b;
        assert_int_equal(sidik_synth_plan_entry(&plan, total / 2, &a), 0);
        assert_int_equal(sidik_synth_plan_entry(&plan, 3, &b), 0);
        assert_int_equal(sidik_synth_plan_entry(&plan, total / 2, &b), 0);
        assert_int_equal(a.person, b.person);
        assert_int_equal(a.impression, b.impression);
        assert_int_equal(a.kind, b.kind);
        assert_int_equal(a.alter.swap_a, b.alter.swap_a);
        assert_int_equal(a.alter.swap_b, b.alter.swap_b);
        assert_int_equal(a.alter.missing, b.alter.missing);
    }
}

/* The cohort is impression 0 of persons 0..n-1, exactly their signatures;
 * its bounds are the gallery's. */
static void test_synth_cohort(void **state)
{
    (void)state;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_person_sig *c = NULL;
    assert_int_equal(sidik_synth_cohort(NULL, 5, 3, &c), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_cohort(&p, 5, 3, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_synth_cohort(&p, 5, 0, &c), SIDIK_ERANGE);
    assert_null(c);
    assert_int_equal(sidik_synth_cohort(&p, 5, SIDIK_GALLERY_MAX_COHORT + 1, &c), SIDIK_ERANGE);
    assert_int_equal(sidik_synth_cohort(&p, 5, 3, &c), 0);
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    for (uint64_t i = 0; i < 3; i++) {
        sidik_person_sig want;
        assert_int_equal(sidik_synth_impression(&p, 5, i, 0, r, NULL, NULL), 0);
        assert_int_equal(sidik_sig_person(r, &want, NULL), 0);
        assert_memory_equal(&c[i], &want, sizeof want);
    }
    sidik_free(r);
    sidik_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_synth_params_check),
        SIDIK_TEST(test_synth_bad_arguments),
        SIDIK_TEST(test_synth_random_access),
        SIDIK_TEST(test_synth_records_decode),
        SIDIK_TEST(test_synth_class_frequencies),
        SIDIK_TEST(test_synth_master_minutiae),
        SIDIK_TEST(test_synth_capture_statistics),
        SIDIK_TEST(test_synth_genuine_above_impostor),
        SIDIK_TEST(test_synth_plan),
        SIDIK_TEST(test_synth_cohort),
    };
    return cmocka_run_group_tests(tests, setup_params, NULL);
}
