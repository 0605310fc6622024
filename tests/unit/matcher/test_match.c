/*
 * The 1:1 matcher: every SIMD level agrees with the scalar oracle bit for
 * bit, scores are symmetric and deterministic, and a finger still matches
 * itself after rotation (to +-45 degrees), translation, moderate scaling and
 * cropping, scoring above every impostor of its database.
 *
 * The level under test comes from SIDIK_SIMD (ctest runs this once per
 * level); the test exits 77 (skipped) when the CPU lacks that level.
 */
#include "test_support.h"
#include "template_pose.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcc.h"
#include "sidik/common.h"
#include "sidik/matcher.h"
#include "sidik/template.h"
#include "fvc2002.h"

static sidik_simd_level level;

/* ---- templates ------------------------------------------------------------ */

typedef struct db_views {
    sidik_template *t;
    int n;
} db_views;

static void keep_view0(void *ctx, const sidik_fmr *r)
{
    db_views *v = ctx;
    v->t[v->n++] = r->views[0];
}

/* The 80 templates of one FVC2002 DB (view 0 of each record). */
static sidik_template *load_db(const char *db, int *n)
{
    db_views v = {calloc(80, sizeof *v.t), 0};
    sidik_test_fvc2002_each(db, keep_view0, &v);
    *n = v.n;
    return v.t;
}

static void random_template(uint64_t *seed, int n, sidik_template *t)
{
    memset(t, 0, sizeof *t);
    t->width = 300;
    t->height = 400;
    t->count = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        t->m[i].x = (uint16_t)(sidik_test_rand(seed) % 300);
        t->m[i].y = (uint16_t)(sidik_test_rand(seed) % 400);
        t->m[i].angle = (uint8_t)sidik_test_rand(seed);
        t->m[i].type = (uint8_t)(1 + sidik_test_rand(seed) % 2);
    }
}

static void transform(const sidik_template *in, double deg, double scale, double dx, double dy,
                      sidik_template *out)
{
    sidik_test_pose(in, deg, scale, dx, dy, 200, out);
}

static sidik_finger *prepare(const sidik_template *t)
{
    sidik_finger *f = NULL;
    assert_int_equal(sidik_finger_create(t, &f), 0);
    return f;
}

static uint32_t score_at(sidik_simd_level l, const sidik_template *a, const sidik_template *b)
{
    sidik_matcher *m;
    assert_int_equal(sidik_matcher_create(l, &m), 0);
    sidik_finger *fa = prepare(a), *fb = prepare(b);
    uint32_t s = sidik_match_score(m, fa, fb);
    sidik_finger_destroy(fa);
    sidik_finger_destroy(fb);
    sidik_matcher_destroy(m);
    return s;
}

/* ---- SIMD levels against the scalar oracle --------------------------------- */

static const int edge_counts[] = {0,  1,  2,  3,  7,  8,  9,   15,  16, 17,
                                  31, 32, 33, 63, 64, 65, 120, 191, 192};

static void test_matcher_kernels_match_scalar(void **state)
{
    (void)state;
    const sidik__match_kernels *k = sidik__match_kernels_get(level);
    const sidik__match_kernels *s = sidik__match_kernels_get(SIDIK_SIMD_SCALAR);
    assert_non_null(k);
    uint64_t seed = 1;
    static uint16_t px_k[192 * 192], px_s[192 * 192], q_k[192 * 192], q_s[192 * 192];
    for (size_t ia = 0; ia < SIDIK_ARRAY_SIZE(edge_counts); ia++) {
        for (size_t ib = 0; ib < SIDIK_ARRAY_SIZE(edge_counts); ib += 3) {
            sidik_template ta, tb;
            random_template(&seed, edge_counts[ia], &ta);
            random_template(&seed, edge_counts[ib], &tb);
            sidik_finger *fa = prepare(&ta), *fb = prepare(&tb);
            size_t cells = (size_t)fa->n * fb->npad;
            k->xor_popcount(fa, fb, px_k);
            s->xor_popcount(fa, fb, px_s);
            k->local_sim(fa, fb, px_s, q_k);
            s->local_sim(fa, fb, px_s, q_s);
            if (cells > 0) {
                assert_memory_equal(px_k, px_s, cells * sizeof px_k[0]);
                assert_memory_equal(q_k, q_s, cells * sizeof q_k[0]);
            }
            static uint32_t keys_k[4 * 192], keys_s[4 * 192];
            int nk = k->candidates(q_s, fa->n, fb->npad, keys_k);
            int ns = s->candidates(q_s, fa->n, fb->npad, keys_s);
            assert_int_equal(nk, ns);
            if (ns > 0)
                assert_memory_equal(keys_k, keys_s, sizeof(uint32_t) * (size_t)ns);
            sidik_finger_destroy(fa);
            sidik_finger_destroy(fb);
        }
    }
    /* Relaxation geometry: random, including degenerate (coincident) points. */
    for (int round = 0; round < 200; round++) {
        sidik__relax_geom g;
        memset(&g, 0, sizeof g);
        int cnt = 2 + (int)(sidik_test_rand(&seed) % (SIDIK__MAX_PAIRS - 1));
        for (int u = 0; u < cnt; u++) {
            bool same = sidik_test_rand(&seed) % 8 == 0 && u > 0;
            g.ax[u] = same ? g.ax[u - 1] : (float)(sidik_test_rand(&seed) % 4000) / 10;
            g.ay[u] = same ? g.ay[u - 1] : (float)(sidik_test_rand(&seed) % 4000) / 10;
            g.bx[u] = g.ax[u] + (float)(sidik_test_rand(&seed) % 100) / 10;
            g.by[u] = g.ay[u] - (float)(sidik_test_rand(&seed) % 100) / 10;
            g.aang[u] = (int32_t)(sidik_test_rand(&seed) % 256);
            g.bang[u] = (g.aang[u] + (int32_t)(sidik_test_rand(&seed) % 9)) & 255;
            g.turn_c[u] = cosf((float)(g.bang[u] - g.aang[u]) * 0.0245437f);
            g.turn_s[u] = sinf((float)(g.bang[u] - g.aang[u]) * 0.0245437f);
        }
        uint16_t rk[SIDIK__MAX_PAIRS][SIDIK__MAX_PAIRS], rs[SIDIK__MAX_PAIRS][SIDIK__MAX_PAIRS];
        k->compat(&g, cnt, rk);
        s->compat(&g, cnt, rs);
        for (int u = 0; u < cnt; u++)
            assert_memory_equal(rk[u], rs[u], sizeof rk[u]);
        uint32_t lk[SIDIK__MAX_PAIRS], ls[SIDIK__MAX_PAIRS];
        for (int u = 0; u < cnt; u++)
            lk[u] = ls[u] = (uint32_t)(sidik_test_rand(&seed) % 65536);
        k->relax(rs, cnt, lk);
        s->relax(rs, cnt, ls);
        assert_memory_equal(lk, ls, sizeof(uint32_t) * (size_t)cnt);
        uint16_t l0[SIDIK__MAX_PAIRS];
        for (int u = 0; u < cnt; u++)
            l0[u] = (uint16_t)(1 + sidik_test_rand(&seed) % 65535);
        for (int np = 1; np <= cnt; np += 5)
            assert_int_equal(k->favoured_mean(ls, l0, cnt, np), s->favoured_mean(ls, l0, cnt, np));
        /* Equal efficiencies of unequal pairs: which of them count is the
         * ranks' tie rule (the lower index first). */
        for (int u = 0; u < cnt; u++) {
            uint32_t r = 1 + (uint32_t)(sidik_test_rand(&seed) % 3);
            ls[u] = 1000u * r;
            l0[u] = (uint16_t)(500u * r * (1 + (uint32_t)(sidik_test_rand(&seed) % 2)));
        }
        for (int np = 1; np <= cnt; np++)
            assert_int_equal(k->favoured_mean(ls, l0, cnt, np), s->favoured_mean(ls, l0, cnt, np));
        /* Alignment mapping and the occupancy test, points in and out. */
        sidik_template tt;
        random_template(&seed, 60, &tt);
        sidik_finger *ff = prepare(&tt);
        float px[64], py[64], Xk[64], Yk[64], Xs[64], Ys[64];
        uint8_t ik[64], is[64];
        for (int i = 0; i < 64; i++) {
            px[i] = (float)(sidik_test_rand(&seed) % 1400) - 200;
            py[i] = (float)(sidik_test_rand(&seed) % 1400) - 200;
        }
        sidik__alignment al = {g.ax[0], g.ay[0], g.bx[0], g.by[0],
                               g.turn_c[0], g.turn_s[0], 0.9f, 1.1f};
        assert_int_equal(k->map_occupied(px, py, 64, &al, ff->occ, Xk, Yk, ik),
                         s->map_occupied(px, py, 64, &al, ff->occ, Xs, Ys, is));
        assert_memory_equal(Xk, Xs, sizeof Xk);
        assert_memory_equal(Yk, Ys, sizeof Yk);
        assert_memory_equal(ik, is, sizeof ik);
        sidik_finger_destroy(ff);
    }
}

static void test_matcher_scores_match_scalar(void **state)
{
    (void)state;
    uint64_t seed = 2;
    sidik_matcher *mk, *ms;
    assert_int_equal(sidik_matcher_create(level, &mk), 0);
    assert_int_equal(sidik_matcher_create(SIDIK_SIMD_SCALAR, &ms), 0);
    /* Random fingers of edge-case sizes, and noisy copies (high scores). */
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(edge_counts); i++) {
        sidik_template ta, tb;
        random_template(&seed, edge_counts[i], &ta);
        transform(&ta, (double)(sidik_test_rand(&seed) % 61) - 30, 1.0, 5, -7, &tb);
        sidik_finger *fa = prepare(&ta), *fb = prepare(&tb);
        random_template(&seed, edge_counts[(i * 7) % SIDIK_ARRAY_SIZE(edge_counts)], &tb);
        sidik_finger *fc = prepare(&tb);
        assert_int_equal(sidik_match_score(mk, fa, fb), sidik_match_score(ms, fa, fb));
        assert_int_equal(sidik_match_score(mk, fa, fc), sidik_match_score(ms, fa, fc));
        sidik_finger_destroy(fa);
        sidik_finger_destroy(fb);
        sidik_finger_destroy(fc);
    }
    /* Every pair of one real database. */
    int n;
    sidik_template *db = load_db("DB1_B", &n);
    if (n == 0) {
        free(db);
        sidik_matcher_destroy(mk);
        sidik_matcher_destroy(ms);
        print_message("FVC2002 data not found at %s; real-template part skipped\n",
                      SIDIK_FVC2002_DIR);
        return;
    }
    sidik_finger **f = calloc((size_t)n, sizeof *f);
    for (int i = 0; i < n; i++)
        f[i] = prepare(&db[i]);
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            assert_int_equal(sidik_match_score(mk, f[i], f[j]), sidik_match_score(ms, f[i], f[j]));
    for (int i = 0; i < n; i++)
        sidik_finger_destroy(f[i]);
    free(f);
    free(db);
    sidik_matcher_destroy(mk);
    sidik_matcher_destroy(ms);
}

/* ---- properties ---------------------------------------------------------------- */

static void test_matcher_symmetric_and_deterministic(void **state)
{
    (void)state;
    uint64_t seed = 3;
    sidik_matcher *m;
    assert_int_equal(sidik_matcher_create(level, &m), 0);
    for (int round = 0; round < 40; round++) {
        sidik_template ta, tb;
        random_template(&seed, 10 + round, &ta);
        transform(&ta, round - 20.0, 1.0, round, -round, &tb);
        tb.count = (uint8_t)(tb.count - tb.count / 4); /* partial */
        sidik_finger *fa = prepare(&ta), *fb = prepare(&tb);
        uint32_t ab = sidik_match_score(m, fa, fb);
        assert_int_equal(sidik_match_score(m, fb, fa), ab);
        assert_int_equal(sidik_match_score(m, fa, fb), ab);
        assert_true(ab <= SIDIK_MATCH_SCORE_MAX);
        sidik_finger_destroy(fa);
        sidik_finger_destroy(fb);
    }
    sidik_matcher_destroy(m);
}

static void test_matcher_degenerate_fingers(void **state)
{
    (void)state;
    sidik_template t, u;
    memset(&t, 0, sizeof t);
    t.width = 300;
    t.height = 400;
    /* No minutiae, one, two: nothing to match, score 0, no crash. */
    for (int n = 0; n <= 2; n++) {
        t.count = (uint8_t)n;
        for (int i = 0; i < n; i++)
            t.m[i] = (sidik_minutia){.x = (uint16_t)(100 + 20 * i), .y = 150, .angle = 10};
        assert_int_equal(score_at(level, &t, &t), 0);
    }
    /* Every minutia on the same spot with the same direction. */
    t.count = 50;
    for (int i = 0; i < 50; i++)
        t.m[i] = (sidik_minutia){.x = 150, .y = 200, .angle = 64, .type = 1};
    uint32_t s = score_at(level, &t, &t);
    assert_true(s <= SIDIK_MATCH_SCORE_MAX);
    /* The most minutiae a template can hold, against itself and a stranger. */
    uint64_t seed = 9;
    random_template(&seed, SIDIK_TMPL_MAX_MINUTIAE, &t);
    random_template(&seed, SIDIK_TMPL_MAX_MINUTIAE, &u);
    assert_true(score_at(level, &t, &t) > score_at(level, &t, &u));
    /* Coordinates at the far end of the 16-bit range. */
    for (int i = 0; i < t.count; i++)
        t.m[i].x = (uint16_t)(65535 - i), t.m[i].y = (uint16_t)(65535 - 2 * i);
    assert_true(score_at(level, &t, &t) <= SIDIK_MATCH_SCORE_MAX);
}

/* A finger moved, turned, scaled or cropped still scores above every
 * impostor comparison of its database (the extended FVC impostor set). */
static void test_matcher_tolerates_pose(void **state)
{
    (void)state;
    int n;
    sidik_template *db = load_db("DB1_B", &n);
    if (n == 0) {
        free(db);
        skip();
    }
    sidik_matcher *m;
    assert_int_equal(sidik_matcher_create(level, &m), 0);
    sidik_finger **f = calloc((size_t)n, sizeof *f);
    for (int i = 0; i < n; i++)
        f[i] = prepare(&db[i]);
    uint32_t max_impostor = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (i / 8 != j / 8) {
                uint32_t s = sidik_match_score(m, f[i], f[j]);
                max_impostor = s > max_impostor ? s : max_impostor;
            }
    struct {
        double deg, scale, dx, dy, keep; /* keep: fraction of the width kept */
    } pose[] = {
        {0, 1, 0, 0, 1},      {45, 1, 0, 0, 1},     {-45, 1, 0, 0, 1},  {30, 1, 60, -40, 1},
        {-20, 1, -80, 35, 1}, {0, 0.92, 0, 0, 1},   {0, 1.08, 0, 0, 1}, {10, 1.05, 20, 20, 1},
        {0, 1, 0, 0, 0.65},   {25, 1, 10, 10, 0.7},
    };
    int tested = 0;
    for (int i = 0; i < n; i++) {
        if (db[i].count < 25)
            continue;
        for (size_t p = 0; p < SIDIK_ARRAY_SIZE(pose); p++) {
            sidik_template crop = db[i], moved;
            if (pose[p].keep < 1) {
                int k = 0;
                for (int q = 0; q < crop.count; q++)
                    if (crop.m[q].x < pose[p].keep * crop.width)
                        crop.m[k++] = crop.m[q];
                crop.count = (uint8_t)k;
            }
            transform(&crop, pose[p].deg, pose[p].scale, pose[p].dx, pose[p].dy, &moved);
            sidik_finger *fm = prepare(&moved);
            uint32_t s = sidik_match_score(m, f[i], fm);
            if (s <= max_impostor)
                fail_msg("template %d, pose %zu (%.0f deg, scale %.2f, keep %.2f): score %u, "
                         "best impostor %u",
                         i, p, pose[p].deg, pose[p].scale, pose[p].keep, s, max_impostor);
            sidik_finger_destroy(fm);
            tested++;
        }
    }
    assert_true(tested > 300);
    for (int i = 0; i < n; i++)
        sidik_finger_destroy(f[i]);
    free(f);
    free(db);
    sidik_matcher_destroy(m);
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_matcher_allocation_failures(void **state)
{
    (void)state;
    sidik_template t;
    uint64_t seed = 5;
    random_template(&seed, 30, &t);
    sidik_finger *f = (sidik_finger *)&seed; /* must stay untouched on failure */
    sidik_alloc_fail_nth(1);
    assert_int_equal(sidik_finger_create(&t, &f), SIDIK_ENOMEM);
    assert_ptr_equal(f, (sidik_finger *)&seed);
    sidik_matcher *m = (sidik_matcher *)&seed;
    sidik_alloc_fail_nth(1);
    assert_int_equal(sidik_matcher_create(level, &m), SIDIK_ENOMEM);
    assert_ptr_equal(m, (sidik_matcher *)&seed);
}

static void test_matcher_refuses_unknown_level(void **state)
{
    (void)state;
    sidik_matcher *m = NULL;
    assert_int_equal(sidik_matcher_create((sidik_simd_level)7, &m), SIDIK_ENOCPU);
    assert_null(m);
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (sidik_cpu_best_level(&f) < SIDIK_SIMD_AVX512)
        assert_int_equal(sidik_matcher_create(SIDIK_SIMD_AVX512, &m), SIDIK_ENOCPU);
}

/* The two builds of the finger preparation (baseline and AVX2, finger.c)
 * give the same bytes: random templates of every size to the most a
 * template holds, hulls of fewer than 3 points, every minutia on one spot,
 * coordinates past the exact-hull range, and the FVC2002 templates of every
 * database. */
static void finger_builds_agree(const sidik_template *t)
{
    sidik_finger *a, *b;
    assert_int_equal(sidik__finger_build_base(t, &a), 0);
    assert_int_equal(sidik__finger_build_avx2(t, &b), 0);
    size_t bytes = sizeof *a + sizeof(uint64_t) * SIDIK__MCC_WORDS * a->npad;
    assert_int_equal(a->npad, b->npad);
    assert_memory_equal(a, b, bytes);
    sidik_finger_destroy(a);
    sidik_finger_destroy(b);
}

static void test_matcher_finger_builds_identical(void **state)
{
    (void)state;
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (sidik_cpu_best_level(&f) < SIDIK_SIMD_AVX2) {
        print_message("no AVX2 on this CPU: the AVX2 finger build is not checked\n");
        return;
    }
    uint64_t seed = 31;
    sidik_template t;
    for (int n = 0; n <= SIDIK_TMPL_MAX_MINUTIAE; n += n < 8 ? 1 : 13) {
        random_template(&seed, n, &t);
        finger_builds_agree(&t);
    }
    random_template(&seed, SIDIK_TMPL_MAX_MINUTIAE, &t);
    finger_builds_agree(&t);
    for (int i = 0; i < t.count; i++)
        t.m[i].x = (uint16_t)(65535 - i), t.m[i].y = (uint16_t)(65535 - 2 * i);
    finger_builds_agree(&t);
    t.count = 40;
    for (int i = 0; i < 40; i++)
        t.m[i] = (sidik_minutia){.x = 150, .y = 200, .angle = 64, .type = 1};
    finger_builds_agree(&t);
    /* Collinear: a hull of no area. */
    for (int i = 0; i < 40; i++)
        t.m[i] = (sidik_minutia){.x = (uint16_t)(10 + 7 * i), .y = 200, .angle = (uint8_t)i};
    finger_builds_agree(&t);
    const char *dbs[] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    int checked = 0;
    for (size_t d = 0; d < SIDIK_ARRAY_SIZE(dbs); d++) {
        int n;
        sidik_template *db = load_db(dbs[d], &n);
        for (int i = 0; i < n; i++)
            finger_builds_agree(&db[i]);
        checked += n;
        free(db);
    }
    if (checked == 0)
        print_message("FVC2002 data not found at %s; real-template part skipped\n",
                      SIDIK_FVC2002_DIR);
}

int main(void)
{
    const char *why;
    int rc = sidik_simd_choose_from_env(&level, &why);
    if (rc == SIDIK_ENOCPU) {
        printf("skipped: %s\n", why);
        return 77;
    }
    if (rc != 0)
        return 1;
    printf("matcher tests at SIMD level %s\n", sidik_simd_level_name(level));
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_matcher_kernels_match_scalar),
        SIDIK_TEST(test_matcher_scores_match_scalar),
        SIDIK_TEST(test_matcher_symmetric_and_deterministic),
        SIDIK_TEST(test_matcher_degenerate_fingers),
        SIDIK_TEST(test_matcher_tolerates_pose),
        SIDIK_TEST(test_matcher_allocation_failures),
        SIDIK_TEST(test_matcher_refuses_unknown_level),
        SIDIK_TEST(test_matcher_finger_builds_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
