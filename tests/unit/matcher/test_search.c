/*
 * The search signature, the gallery and the search cascade: bad arguments
 * with their exact errors, every SIMD level's scan against the scalar one,
 * inserts and removals seen by later searches, and a small synthetic
 * population in which re-enrolled persons (one with two fingers swapped,
 * one with a finger missing) are found and new persons are not.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/fusion.h"
#include "sidik/matcher.h"
#include "sidik/search.h"
#include "search_int.h"
#include "sig_int.h"
#include "synth.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define SEED    99
#define PERSONS 60

static sidik_synth_params params;

static void person(uint64_t id, uint32_t impression, const sidik_synth_alter *alter,
                   sidik_fmr *out)
{
    assert_int_equal(sidik_synth_impression(&params, SEED, id, impression, out, alter, NULL), 0);
}

static void test_search_signature_rejects_bad_input(void **state)
{
    (void)state;
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    sidik_person_sig sig;
    sidik_finger_sig fs;
    float scale = 1;
    const char *why = NULL;
    assert_int_equal(sidik_sig_person(NULL, &sig, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_sig_person(r, NULL, &why), SIDIK_EINVAL);
    assert_int_equal(sidik_sig_finger(NULL, &fs, &scale), SIDIK_EINVAL);
    /* No views at all, and views only at position 0 (unknown): nothing to
     * pair by position. */
    assert_int_equal(sidik_sig_person(r, &sig, &why), SIDIK_ENOTFOUND);
    assert_non_null(why);
    person(1, 0, NULL, r);
    for (uint32_t v = 0; v < r->nviews; v++)
        r->views[v].position = 0;
    assert_int_equal(sidik_sig_person(r, &sig, &why), SIDIK_ENOTFOUND);
    /* Too few minutiae: absent, scale 0, and similarity 0 against it. */
    person(1, 0, NULL, r);
    r->views[0].count = SIDIK_SIG_MIN_MINUTIAE - 1;
    assert_int_equal(sidik_sig_finger(&r->views[0], &fs, &scale), 0);
    assert_true(scale == 0);
    assert_int_equal(sidik_sig_person(r, &sig, NULL), 0);
    assert_true(sig.scale[r->views[0].position - 1] == 0);
    assert_true(sidik_sig_similarity(&sig.f[1], sig.scale[1], &fs, scale) == 0);
    sidik_free(r);
}

/* Every level's scan of every finger over blocks of persons, whole and
 * partly filled, against the scalar oracle: totals and similarities
 * bit-identical, and the oracle's totals the documented sum of similarity
 * less the impostor mean, the probe's offset and the person's offset. */
static void scan_levels_check(const sidik_person_sig *probe, const sidik_person_sig *g, int n)
{
    float poff[SIDIK_SIG_FINGERS];
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
        poff[f] = f % 3 == 0 ? 0 : 0.0137f * (float)(f - 5);
    sidik__sig_probe *p = sidik_xcalloc(1, sizeof *p);
    sidik__sig_probe_init(p, probe);
    int blocks = (n + SIDIK__SIG_LANES - 1) / SIDIK__SIG_LANES;
    sidik__sig_block *b = sidik_xcalloc((size_t)blocks, sizeof *b);
    for (int i = 0; i < n; i++) {
        sidik__sig_block_put(&b[i / SIDIK__SIG_LANES], i % SIDIK__SIG_LANES, &g[i]);
        sidik_person_sig back;
        sidik__sig_block_get(&b[i / SIDIK__SIG_LANES], i % SIDIK__SIG_LANES, &back);
        assert_memory_equal(&back.f, &g[i].f, sizeof back.f);
        assert_memory_equal(back.scale, g[i].scale, sizeof back.scale);
        for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
            assert_true(b[i / SIDIK__SIG_LANES].offset[f][i % SIDIK__SIG_LANES] == 0);
            if (i % 4 != 0) /* some lanes keep offset 0: no cohort */
                b[i / SIDIK__SIG_LANES].offset[f][i % SIDIK__SIG_LANES] =
                    0.0091f * (float)((i + f) % 9 - 4);
        }
    }
    sidik__sig_scan_fn scans[] = {sidik__sig_scan_sse42, sidik__sig_scan_avx2,
                                  sidik__sig_scan_avx512, sidik__sig_scan_avx512vnni};
    sidik_cpu_features cf;
    sidik_cpu_detect(&cf);
    for (int blk = 0; blk < blocks; blk++) {
        int lanes = n - blk * SIDIK__SIG_LANES < SIDIK__SIG_LANES ? n - blk * SIDIK__SIG_LANES
                                                                  : SIDIK__SIG_LANES;
        float ref[SIDIK__SIG_LANES] = {0}, rsim[SIDIK_SIG_FINGERS][SIDIK__SIG_LANES];
        float want[SIDIK__SIG_LANES] = {0};
        for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
            if (p->scale[f] > 0) {
                sidik__sig_scan_scalar(p, f, &b[blk], lanes, poff[f], ref, rsim[f]);
                for (int j = 0; j < lanes; j++)
                    if (b[blk].scale[f][j] > 0)
                        want[j] += ((rsim[f][j] - SIDIK__SIG_IMPOSTOR_MEAN) - poff[f]) -
                                   b[blk].offset[f][j];
                /* The scan's similarity is the reference function's. */
                for (int j = 0; j < lanes; j++) {
                    const sidik_person_sig *gi = &g[blk * SIDIK__SIG_LANES + j];
                    assert_true(rsim[f][j] == sidik_sig_similarity(&gi->f[f], gi->scale[f],
                                                                   &probe->f[f], probe->scale[f]));
                }
            }
        assert_memory_equal(ref, want, (size_t)lanes * sizeof ref[0]);
        for (int l = 0; l < 4; l++) {
            if ((int)sidik_cpu_best_level(&cf) < (l < 3 ? l + 1 : 3) || (l == 3 && !cf.avx512vnni))
                continue;
            float out[SIDIK__SIG_LANES] = {0}, sim[SIDIK__SIG_LANES];
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
                if (p->scale[f] > 0) {
                    scans[l](p, f, &b[blk], lanes, poff[f], out, sim);
                    assert_memory_equal(sim, rsim[f], (size_t)lanes * sizeof sim[0]);
                }
            assert_memory_equal(out, ref, (size_t)lanes * sizeof out[0]);
        }
    }
    sidik_free(b);
    sidik_free(p);
}

static void test_search_scan_levels_identical(void **state)
{
    (void)state;
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    enum { N = 40 }; /* two whole blocks and a block of 8 */
    sidik_person_sig *g = sidik_xcalloc(N, sizeof *g);
    for (int i = 0; i < N; i++) {
        person((uint64_t)i, 0, NULL, r);
        if (i % 5 == 4) /* some absent fingers */
            r->views[i % 10].count = 3;
        assert_int_equal(sidik_sig_person(r, &g[i], NULL), 0);
    }
    /* The probe against itself: every finger near 1. */
    for (int f = 0; f < 10; f++)
        if (g[3].scale[f] > 0) {
            float s = sidik_sig_similarity(&g[3].f[f], g[3].scale[f], &g[3].f[f], g[3].scale[f]);
            assert_true(s > 0.95f && s < 1.05f);
        }
    scan_levels_check(&g[3], g, N);
    scan_levels_check(&g[3], g, 5);
    /* Edge values: gallery bytes over the whole int8 range, -128 included,
     * and a probe at +-127 (its most negative possible), so every product
     * and sum is at its extreme. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++)
        for (int f = 0; f < 10; f++) {
            for (size_t q = 0; q < sizeof g[i].f[f].c; q++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                ((int8_t *)g[i].f[f].c)[q] = i < 2 ? (int8_t)(i ? 127 : -128) : (int8_t)x;
            }
            g[i].scale[f] = i % 7 == 6 && f == 2 ? 0 : 0.01f;
        }
    sidik_person_sig probe = g[5];
    for (int f = 0; f < 10; f++)
        for (size_t q = 0; q < sizeof probe.f[f].c; q++)
            ((int8_t *)probe.f[f].c)[q] = q % 3 ? 127 : -127;
    scan_levels_check(&probe, g, N);
    sidik_free(g);
    sidik_free(r);
}

static void test_search_gallery_rejects_bad_input(void **state)
{
    (void)state;
    sidik_gallery *g;
    sidik_person_sig sig;
    memset(&sig, 0, sizeof sig);
    assert_int_equal(sidik_gallery_create(0, SIDIK_SIMD_SCALAR, &g), SIDIK_ERANGE);
    assert_int_equal(sidik_gallery_create(SIDIK_GALLERY_MAX_PARTITIONS + 1, SIDIK_SIMD_SCALAR, &g),
                     SIDIK_ERANGE);
    assert_int_equal(sidik_gallery_create(1, SIDIK_SIMD_SCALAR, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_create(1, (sidik_simd_level)99, &g), SIDIK_ENOCPU);
    assert_int_equal(sidik_gallery_create(3, SIDIK_SIMD_SCALAR, &g), 0);
    assert_int_equal(sidik_gallery_insert(g, 1, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_insert(NULL, 1, &sig), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_insert(g, 7, &sig), 0);
    assert_int_equal(sidik_gallery_insert(g, 7, &sig), SIDIK_EEXISTS);
    assert_int_equal(sidik_gallery_size(g), 1);
    assert_int_equal(sidik_gallery_remove(g, 8), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_gallery_remove(g, 7), 0);
    assert_int_equal(sidik_gallery_remove(g, 7), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_gallery_size(g), 0);
    /* A removed id may come back (a record restored after adjudication). */
    assert_int_equal(sidik_gallery_insert(g, 7, &sig), 0);
    /* Many ids: the directory grows and keeps every one. */
    for (uint64_t id = 100; id < 3000; id++)
        assert_int_equal(sidik_gallery_insert(g, id, &sig), 0);
    for (uint64_t id = 100; id < 3000; id += 7)
        assert_int_equal(sidik_gallery_remove(g, id), 0);
    for (uint64_t id = 100; id < 3000; id += 7)
        assert_int_equal(sidik_gallery_insert(g, id, &sig), 0);
    assert_int_equal(sidik_gallery_size(g), 2901);
    sidik_gallery_destroy(g);
}

/* ---- the cohort ---------------------------------------------------------- */

/* n persons of another seed, person 3 without finger 6: the cohort. */
static sidik_person_sig *cohort_of(uint32_t n)
{
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    sidik_person_sig *c = sidik_xcalloc(n, sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(sidik_synth_impression(&params, SEED + 2, i, 0, r, NULL, NULL), 0);
        if (i == 3)
            r->views[6].count = 3;
        assert_int_equal(sidik_sig_person(r, &c[i], NULL), 0);
    }
    sidik_free(r);
    return c;
}

static void test_search_cohort_rejects_bad_input(void **state)
{
    (void)state;
    sidik_person_sig *c = cohort_of(2);
    sidik_gallery *g;
    assert_int_equal(sidik_gallery_create(2, SIDIK_SIMD_SCALAR, &g), 0);
    assert_int_equal(sidik_gallery_set_cohort(NULL, c, 2), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_set_cohort(g, NULL, 2), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_set_cohort(g, c, 0), SIDIK_ERANGE);
    assert_int_equal(sidik_gallery_set_cohort(g, c, SIDIK_GALLERY_MAX_COHORT + 1), SIDIK_ERANGE);
    assert_int_equal(sidik_gallery_set_cohort(g, c, 2), 0);
    /* Set once: the offsets already computed would no longer agree. */
    assert_int_equal(sidik_gallery_set_cohort(g, c, 1), SIDIK_ESTATE);
    sidik_gallery_destroy(g);
    /* Not after an insert, even one since removed. */
    assert_int_equal(sidik_gallery_create(2, SIDIK_SIMD_SCALAR, &g), 0);
    assert_int_equal(sidik_gallery_insert(g, 9, &c[0]), 0);
    assert_int_equal(sidik_gallery_remove(g, 9), 0);
    assert_int_equal(sidik_gallery_set_cohort(g, c, 2), SIDIK_ESTATE);
    sidik_gallery_destroy(g);
    sidik_free(c);
}

/* The reference offset of finger f of s against the cohort: the mean of
 * its similarities to the cohort's present fingers, in cohort order. */
static float offset_ref(const sidik_person_sig *s, int f, const sidik_person_sig *c, uint32_t n)
{
    double sum = 0;
    uint32_t k = 0;
    if (!(s->scale[f] > 0))
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (c[i].scale[f] > 0) {
            sum += sidik_sig_similarity(&c[i].f[f], c[i].scale[f], &s->f[f], s->scale[f]);
            k++;
        }
    return k ? (float)(sum / k) - SIDIK__SIG_IMPOSTOR_MEAN : 0;
}

/* With a cohort, every stored offset and every fused scan score are the
 * documented ones, computed here from sidik_sig_similarity alone; and the
 * offsets are not all zero, so the scores really moved. */
static void test_search_cohort_offsets_and_scores(void **state)
{
    (void)state;
    enum { NC = 21, N = 30 };
    sidik_person_sig *c = cohort_of(NC);
    sidik_person_sig *g = sidik_xcalloc(N, sizeof *g);
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    sidik_gallery *gal;
    assert_int_equal(sidik_gallery_create(2, SIDIK_SIMD_SCALAR, &gal), 0);
    assert_int_equal(sidik_gallery_set_cohort(gal, c, NC), 0);
    for (int i = 0; i < N; i++) {
        person((uint64_t)i, 0, NULL, r);
        if (i % 7 == 2)
            r->views[i % 10].count = 3; /* an absent finger */
        assert_int_equal(sidik_sig_person(r, &g[i], NULL), 0);
        assert_int_equal(sidik_gallery_insert(gal, (uint64_t)i, &g[i]), 0);
    }
    /* The probe: person 4 captured again, finger 1 absent. */
    sidik_person_sig ps;
    person(4, 1, NULL, r);
    r->views[1].count = 3;
    assert_int_equal(sidik_sig_person(r, &ps, NULL), 0);
    sidik_probe pr = {0};
    sidik__sig_probe_init(&pr.sig, &ps);
    float poff[1][SIDIK_SIG_FINGERS];
    sidik__cohort_offsets(gal, gal->cohort, gal->cohort_n, &pr.sig, poff[0]);
    int nonzero = 0;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        assert_true(poff[0][f] == offset_ref(&ps, f, c, NC));
        nonzero += poff[0][f] != 0;
    }
    assert_int_equal(nonzero, 9);
    sidik_probe *probes[1] = {&pr};
    uint32_t seen = 0;
    for (uint32_t part = 0; part < 2; part++) {
        sidik__hit best[N];
        uint32_t kept;
        uint64_t scanned;
        sidik__gallery_scan(gal, part, probes, (const float(*)[SIDIK_SIG_FINGERS])poff, 1, N, best,
                            &kept, &scanned);
        assert_int_equal(kept, scanned);
        for (uint32_t h = 0; h < kept; h++) {
            const sidik_person_sig *gi = &g[best[h].id];
            int lane;
            const sidik__sig_block *b = sidik__gallery_block(gal, part, best[h].slot, &lane);
            float want = 0;
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
                float go = offset_ref(gi, f, c, NC);
                assert_true(b->offset[f][lane] == go);
                if (!(ps.scale[f] > 0) || !(gi->scale[f] > 0))
                    continue;
                float s = sidik_sig_similarity(&gi->f[f], gi->scale[f], &ps.f[f], ps.scale[f]);
                want += ((s - SIDIK__SIG_IMPOSTOR_MEAN) - poff[0][f]) - go;
            }
            assert_true(best[h].score == want);
        }
        seen += kept;
    }
    assert_int_equal(seen, N);
    sidik_gallery_destroy(gal);
    sidik_free(r);
    sidik_free(g);
    sidik_free(c);
}

/* ---- batch inserts --------------------------------------------------------- */

static void test_search_insert_many_rejects_bad_input(void **state)
{
    (void)state;
    sidik_gallery *g;
    enum { N = SIDIK_GALLERY_INSERT_MAX + 1 };
    sidik_person_sig *sig = sidik_xcalloc(N, sizeof *sig);
    uint64_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = 1000 + (uint64_t)i;
    size_t done = 99;
    assert_int_equal(sidik_gallery_create(3, SIDIK_SIMD_SCALAR, &g), 0);
    assert_int_equal(sidik_gallery_insert_many(NULL, ids, sig, 1, &done), SIDIK_EINVAL);
    assert_int_equal(done, 0);
    assert_int_equal(sidik_gallery_insert_many(g, NULL, sig, 1, &done), SIDIK_EINVAL);
    assert_int_equal(sidik_gallery_insert_many(g, ids, NULL, 1, &done), SIDIK_EINVAL);
    done = 99;
    assert_int_equal(sidik_gallery_insert_many(g, ids, sig, N, &done), SIDIK_ERANGE);
    assert_int_equal(done, 0);
    assert_int_equal(sidik_gallery_size(g), 0);
    assert_int_equal(sidik_gallery_insert_many(g, NULL, NULL, 0, &done), 0);
    assert_int_equal(sidik_gallery_insert_many(g, ids, sig, N - 1, NULL), 0);
    assert_int_equal(sidik_gallery_size(g), N - 1);
    /* An id twice in a batch: those before the second are in, it and the
     * rest are not. */
    const uint64_t twice[] = {1, 2, 3, 2, 5};
    assert_int_equal(sidik_gallery_insert_many(g, twice, sig, 5, &done), SIDIK_EEXISTS);
    assert_int_equal(done, 3);
    assert_int_equal(sidik_gallery_size(g), N - 1 + 3);
    assert_int_equal(sidik_gallery_insert(g, 3, &sig[0]), SIDIK_EEXISTS);
    assert_int_equal(sidik_gallery_insert(g, 5, &sig[0]), 0);
    /* An id already in the gallery stops the batch at it. */
    const uint64_t again[] = {6, 1000, 7};
    assert_int_equal(sidik_gallery_insert_many(g, again, sig, 3, &done), SIDIK_EEXISTS);
    assert_int_equal(done, 1);
    assert_int_equal(sidik_gallery_remove(g, 6), 0);
    assert_int_equal(sidik_gallery_remove(g, 7), SIDIK_ENOTFOUND);
    sidik_gallery_destroy(g);
    sidik_free(sig);
}

/* Every person of g, found by a scan for probe: its block lane read back
 * into got[id - first] with its offsets; *part_max and *part_min the
 * partitions' largest and smallest counts. times (may be NULL): how often
 * each person was found. Returns how many were found. */
static uint32_t scan_back(sidik_gallery *g, uint32_t nparts, const sidik_person_sig *probe,
                          uint64_t first, uint32_t n, sidik_person_sig *got,
                          float (*off)[SIDIK_SIG_FINGERS], float *score, uint32_t *times,
                          uint64_t *part_max, uint64_t *part_min)
{
    sidik_probe pr = {0};
    sidik__sig_probe_init(&pr.sig, probe);
    sidik_probe *probes[1] = {&pr};
    const float poff[1][SIDIK_SIG_FINGERS] = {{0}};
    sidik__hit *best = sidik_xcalloc(n, sizeof *best);
    uint32_t seen = 0;
    *part_max = 0;
    *part_min = UINT64_MAX;
    for (uint32_t part = 0; part < nparts; part++) {
        uint32_t kept;
        uint64_t scanned;
        sidik__gallery_scan(g, part, probes, poff, 1, n, best, &kept, &scanned);
        *part_max = scanned > *part_max ? scanned : *part_max;
        *part_min = scanned < *part_min ? scanned : *part_min;
        for (uint32_t h = 0; h < kept; h++) {
            int lane;
            const sidik__sig_block *b = sidik__gallery_block(g, part, best[h].slot, &lane);
            uint64_t i = best[h].id - first;
            assert_true(i < n);
            sidik__sig_block_get(b, lane, &got[i]);
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
                off[i][f] = b->offset[f][lane];
            score[i] = best[h].score;
            if (times != NULL)
                times[i]++;
        }
        seen += kept;
    }
    sidik_free(best);
    return seen;
}

/* scan_back, finding all n persons. */
static void read_back(sidik_gallery *g, uint32_t nparts, const sidik_person_sig *probe,
                      uint64_t first, uint32_t n, sidik_person_sig *got,
                      float (*off)[SIDIK_SIG_FINGERS], float *score, uint64_t *part_max,
                      uint64_t *part_min)
{
    assert_int_equal(
        scan_back(g, nparts, probe, first, n, got, off, score, NULL, part_max, part_min), n);
}

/* Batches of every size from 1 up, in a gallery with a cohort: each person
 * reads back with the bytes, offsets and scan score one insert at a time
 * gives, and the partitions stay even. */
static void test_search_insert_many_same_as_one_by_one(void **state)
{
    (void)state;
    enum { DISTINCT = 24, N = 700, PARTS = 5, FIRST = 5000 };
    sidik_person_sig *c = cohort_of(8);
    sidik_person_sig *sig = sidik_xcalloc(N, sizeof *sig);
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        if (i < DISTINCT) {
            person((uint64_t)i, 0, NULL, r);
            if (i % 5 == 1)
                r->views[i % 10].count = 3; /* an absent finger */
            assert_int_equal(sidik_sig_person(r, &sig[i], NULL), 0);
        } else {
            sig[i] = sig[i % DISTINCT];
        }
        ids[i] = FIRST + (uint64_t)i;
    }
    sidik_gallery *one, *many;
    assert_int_equal(sidik_gallery_create(PARTS, SIDIK_SIMD_SCALAR, &one), 0);
    assert_int_equal(sidik_gallery_create(PARTS, SIDIK_SIMD_SCALAR, &many), 0);
    assert_int_equal(sidik_gallery_set_cohort(one, c, 8), 0);
    assert_int_equal(sidik_gallery_set_cohort(many, c, 8), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(sidik_gallery_insert(one, ids[i], &sig[i]), 0);
    size_t at = 0, batch = 1, largest = 0;
    while (at < N) {
        size_t n = N - at < batch ? N - at : batch, done;
        assert_int_equal(sidik_gallery_insert_many(many, &ids[at], &sig[at], n, &done), 0);
        assert_int_equal(done, n);
        largest = n > largest ? n : largest;
        at += n;
        batch++;
    }
    assert_int_equal(sidik_gallery_size(many), N);
    sidik_person_sig *got_one = sidik_xcalloc(N, sizeof *got_one);
    sidik_person_sig *got_many = sidik_xcalloc(N, sizeof *got_many);
    float(*off_one)[SIDIK_SIG_FINGERS] = sidik_xcalloc(N, sizeof *off_one);
    float(*off_many)[SIDIK_SIG_FINGERS] = sidik_xcalloc(N, sizeof *off_many);
    float score_one[N], score_many[N];
    uint64_t max_one, min_one, max_many, min_many;
    read_back(one, PARTS, &sig[3], FIRST, N, got_one, off_one, score_one, &max_one, &min_one);
    read_back(many, PARTS, &sig[3], FIRST, N, got_many, off_many, score_many, &max_many, &min_many);
    int nonzero = 0;
    for (int i = 0; i < N; i++) {
        assert_memory_equal(&got_many[i], &sig[i], sizeof sig[i]);
        assert_memory_equal(&got_one[i], &sig[i], sizeof sig[i]);
        assert_memory_equal(off_many[i], off_one[i], sizeof off_one[i]);
        assert_true(score_many[i] == score_one[i]);
        nonzero += off_many[i][0] != 0;
    }
    assert_true(nonzero > N / 2);
    /* Each batch goes to the emptiest partition. */
    assert_true(max_many - min_many <= largest);
    sidik_gallery_destroy(one);
    sidik_gallery_destroy(many);
    sidik_free(off_one);
    sidik_free(off_many);
    sidik_free(got_one);
    sidik_free(got_many);
    sidik_free(r);
    sidik_free(sig);
    sidik_free(c);
}

/* n signatures: those of synthetic persons first..first + distinct - 1,
 * repeated in turn. The caller frees them. */
static sidik_person_sig *repeated_persons(int n, int distinct, uint64_t first)
{
    sidik_person_sig *sig = sidik_xcalloc((size_t)n, sizeof *sig);
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    for (int i = 0; i < n; i++) {
        if (i < distinct) {
            person(first + (uint64_t)i, 0, NULL, r);
            assert_int_equal(sidik_sig_person(r, &sig[i], NULL), 0);
        } else {
            sig[i] = sig[i % distinct];
        }
    }
    sidik_free(r);
    return sig;
}

/* A batch that runs over the end of a chunk (4,096 persons) into a new
 * one: every person reads back whole. */
static void test_search_insert_many_across_chunks(void **state)
{
    (void)state;
    enum { N = SIDIK__CHUNK_PERSONS + 150, BATCH = 200, FIRST = 70000 };
    sidik_person_sig *sig = repeated_persons(N, 4, 40);
    uint64_t *ids = sidik_xcalloc(N, sizeof *ids);
    for (int i = 0; i < N; i++)
        ids[i] = FIRST + (uint64_t)i;
    sidik_gallery *g;
    assert_int_equal(sidik_gallery_create(1, SIDIK_SIMD_SCALAR, &g), 0);
    for (size_t at = 0; at < N; at += BATCH) {
        size_t n = N - at < BATCH ? N - at : BATCH, done;
        assert_int_equal(sidik_gallery_insert_many(g, &ids[at], &sig[at], n, &done), 0);
        assert_int_equal(done, n);
    }
    /* So the batch from slot 4,000 runs to 4,199. */
    assert_int_not_equal(SIDIK__CHUNK_PERSONS % BATCH, 0);
    sidik_person_sig *got = sidik_xcalloc(N, sizeof *got);
    float(*off)[SIDIK_SIG_FINGERS] = sidik_xcalloc(N, sizeof *off);
    float *score = sidik_xcalloc(N, sizeof *score);
    uint64_t hi, lo;
    read_back(g, 1, &sig[0], FIRST, N, got, off, score, &hi, &lo);
    for (int i = 0; i < N; i++)
        assert_memory_equal(&got[i], &sig[i], sizeof sig[i]);
    assert_int_equal(hi, N);
    sidik_gallery_destroy(g);
    sidik_free(score);
    sidik_free(off);
    sidik_free(got);
    sidik_free(ids);
    sidik_free(sig);
}

/* Writers at once on a gallery of two partitions: four threads inserting
 * batches (more than the partitions, so batches wait for one another to
 * finish writing), one inserting persons one at a time, one removing
 * persons as soon as they are in. Afterwards every person not removed
 * reads back whole, exactly once, and no removed one is found. */
enum { RACE_N = 3000, RACE_FIRST = 90000, RACE_BATCHERS = 4 };

typedef struct race_writer {
    sidik_gallery *g;
    const sidik_person_sig *sig;
    uint32_t from, to, batch; /* persons from..to-1; batch 0: one by one */
} race_writer;

static void *race_write(void *arg)
{
    race_writer *w = arg;
    uint64_t ids[SIDIK_GALLERY_INSERT_MAX];
    for (uint32_t at = w->from; at < w->to;) {
        uint32_t n = w->batch == 0 ? 1 : w->to - at < w->batch ? w->to - at : w->batch;
        for (uint32_t j = 0; j < n; j++)
            ids[j] = RACE_FIRST + at + j;
        size_t done = 0;
        int rc = w->batch == 0 ? sidik_gallery_insert(w->g, ids[0], &w->sig[at])
                               : sidik_gallery_insert_many(w->g, ids, &w->sig[at], n, &done);
        if (rc != 0 || (w->batch != 0 && done != n))
            return (void *)1;
        at += n;
    }
    return NULL;
}

/* Removes every seventh person, each as soon as it is in. */
static void *race_remove(void *arg)
{
    sidik_gallery *g = arg;
    for (uint32_t i = 0; i < RACE_N; i += 7)
        while (sidik_gallery_remove(g, RACE_FIRST + i) == SIDIK_ENOTFOUND)
            sched_yield();
    return NULL;
}

static void test_search_writers_race(void **state)
{
    (void)state;
    sidik_person_sig *sig = repeated_persons(RACE_N, 16, 300);
    for (int i = 0; i < RACE_N; i++)
        sig[i].scale[i % 10] = 0.001f * (float)(i + 1); /* every person's bytes its own */
    sidik_gallery *g;
    /* No cohort: the writers meet at the lock as often as they can. */
    assert_int_equal(sidik_gallery_create(2, SIDIK_SIMD_SCALAR, &g), 0);
    /* Four batch writers on the first 2,400 persons, batches of 1 to 64;
     * one writer one by one on the rest. */
    race_writer w[RACE_BATCHERS + 1];
    pthread_t t[RACE_BATCHERS + 2];
    for (uint32_t k = 0; k < RACE_BATCHERS; k++) {
        w[k] = (race_writer){g, sig, k * 600, (k + 1) * 600, 1 + 21 * k};
        assert_int_equal(pthread_create(&t[k], NULL, race_write, &w[k]), 0);
    }
    w[RACE_BATCHERS] = (race_writer){g, sig, 2400, RACE_N, 0};
    assert_int_equal(pthread_create(&t[RACE_BATCHERS], NULL, race_write, &w[RACE_BATCHERS]), 0);
    assert_int_equal(pthread_create(&t[RACE_BATCHERS + 1], NULL, race_remove, g), 0);
    for (int k = 0; k < RACE_BATCHERS + 2; k++) {
        void *failed;
        pthread_join(t[k], &failed);
        assert_null(failed);
    }
    const uint32_t removed = (RACE_N + 6) / 7;
    assert_int_equal(sidik_gallery_size(g), RACE_N - removed);

    sidik_person_sig *got = sidik_xcalloc(RACE_N, sizeof *got);
    float(*off)[SIDIK_SIG_FINGERS] = sidik_xcalloc(RACE_N, sizeof *off);
    float *score = sidik_xcalloc(RACE_N, sizeof *score);
    uint32_t *times = sidik_xcalloc(RACE_N, sizeof *times);
    uint64_t hi, lo;
    assert_int_equal(scan_back(g, 2, &sig[0], RACE_FIRST, RACE_N, got, off, score, times, &hi, &lo),
                     RACE_N - removed);
    for (int i = 0; i < RACE_N; i++) {
        assert_int_equal(times[i], i % 7 == 0 ? 0 : 1);
        if (i % 7 != 0)
            assert_memory_equal(&got[i], &sig[i], sizeof sig[i]);
    }
    /* Slots are never reused: the two partitions hold every insert. */
    assert_int_equal(atomic_load(&g->part[0]->count) + atomic_load(&g->part[1]->count), RACE_N);
    sidik_gallery_destroy(g);
    sidik_free(times);
    sidik_free(score);
    sidik_free(off);
    sidik_free(got);
    sidik_free(sig);
}

/* ---- the cascade on a small population --------------------------------- */

static void serial_run(void *ctx, uint32_t n, void (*task)(void *, uint32_t), void *arg)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++)
        task(arg, i);
}

static int fetch(void *ctx, uint64_t id, sidik_fmr *out)
{
    (void)ctx;
    return sidik_synth_impression(&params, SEED, id, 0, out, NULL, NULL);
}

static int fetch_fails(void *ctx, uint64_t id, sidik_fmr *out)
{
    (void)ctx;
    (void)id;
    (void)out;
    return -5; /* -EIO, as a disk would */
}

/* Fusion from a separate population: genuine and impostor finger scores. */
static sidik_fusion *learn(void)
{
    enum { P = 40 };
    static uint32_t gen[P * 10], imp[P * 10 * 4];
    sidik_fmr *a = sidik_xmalloc(sizeof *a), *b = sidik_xmalloc(sizeof *b);
    sidik_matcher *m;
    assert_int_equal(sidik_matcher_create(SIDIK_SIMD_SCALAR, &m), 0);
    sidik_finger *fa[P][10], *fb[P][10];
    for (int i = 0; i < P; i++) {
        assert_int_equal(sidik_synth_impression(&params, SEED + 1, (uint64_t)i, 0, a, NULL, NULL), 0);
        assert_int_equal(sidik_synth_impression(&params, SEED + 1, (uint64_t)i, 1, b, NULL, NULL), 0);
        for (int f = 0; f < 10; f++) {
            assert_int_equal(sidik_finger_create(&a->views[f], &fa[i][f]), 0);
            assert_int_equal(sidik_finger_create(&b->views[f], &fb[i][f]), 0);
        }
    }
    size_t ni = 0;
    for (int i = 0; i < P; i++)
        for (int f = 0; f < 10; f++) {
            gen[i * 10 + f] = sidik_match_score(m, fa[i][f], fb[i][f]);
            for (int d = 1; d <= 4; d++)
                imp[ni++] = sidik_match_score(m, fa[i][f], fb[(i + d) % P][f]);
        }
    for (int i = 0; i < P; i++)
        for (int f = 0; f < 10; f++) {
            sidik_finger_destroy(fa[i][f]);
            sidik_finger_destroy(fb[i][f]);
        }
    sidik_matcher_destroy(m);
    sidik_free(a);
    sidik_free(b);
    sidik_fusion *fu;
    assert_int_equal(sidik_fusion_create(gen, P * 10, imp, ni, &fu), 0);
    return fu;
}

static void finds_reenrollments(int with_cohort)
{
    sidik_fusion *fu = learn();
    sidik_gallery *g;
    assert_int_equal(sidik_gallery_create(3, SIDIK_SIMD_SCALAR, &g), 0);
    if (with_cohort) {
        sidik_person_sig *c = cohort_of(40);
        assert_int_equal(sidik_gallery_set_cohort(g, c, 40), 0);
        sidik_free(c);
    }
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    sidik_person_sig sig;
    for (uint64_t id = 0; id < PERSONS; id++) {
        person(id, 0, NULL, r);
        assert_int_equal(sidik_sig_person(r, &sig, NULL), 0);
        assert_int_equal(sidik_gallery_insert(g, id, &sig), 0);
    }
    /* Probes: person 5 again; person 17 with fingers 2 and 7 swapped;
     * person 33 without finger 4; two new persons. */
    sidik_synth_alter swap = {.swap_a = 2, .swap_b = 7}, miss = {.missing = 1u << 3};
    struct {
        uint64_t person;
        const sidik_synth_alter *alter;
        int dup;
    } want[] = {{5, NULL, 1}, {17, &swap, 1}, {33, &miss, 1}, {PERSONS + 1, NULL, 0},
                {PERSONS + 2, NULL, 0}};
    enum { NP = sizeof want / sizeof want[0] };
    sidik_probe *probes[NP];
    for (int i = 0; i < NP; i++) {
        person(want[i].person, want[i].dup ? 3 : 0, want[i].alter, r);
        assert_int_equal(sidik_probe_create(r, &probes[i], NULL), 0);
    }
    sidik_pool pool = {serial_run, NULL};
    sidik_search_result res[NP];
    sidik_search_config cfg = {.fusion = fu, .fetch = fetch, .shortlist = 8,
                               .duplicate_fpir = 1e-3, .review_fpir = 1e-2, .reject_llr = -6,
                               .level = SIDIK_SIMD_SCALAR};
    assert_int_equal(sidik_search(g, &cfg, &pool, probes, NP, res), 0);
    for (int i = 0; i < NP; i++) {
        assert_int_equal(res[i].status, 0);
        assert_int_equal(res[i].scanned, PERSONS);
        assert_int_equal(res[i].shortlisted, 8);
        if (want[i].dup) {
            assert_int_equal(res[i].decision, SIDIK_DECISION_DUPLICATE);
            assert_int_equal(res[i].candidate[0].id, want[i].person);
            assert_true(res[i].candidate[0].llr >= res[i].candidate[0].threshold);
        } else {
            assert_int_equal(res[i].decision, SIDIK_DECISION_UNIQUE);
            assert_int_equal(res[i].ncandidates, 0);
        }
    }
    /* The missing finger was not compared; the swapped ones scored low. */
    assert_int_equal(res[2].candidate[0].compared & (1u << 3), 0);

    /* Removed: a later search no longer finds person 5. */
    assert_int_equal(sidik_gallery_remove(g, 5), 0);
    assert_int_equal(sidik_search(g, &cfg, &pool, probes, 1, res), 0);
    assert_int_equal(res[0].scanned, PERSONS - 1);
    assert_int_equal(res[0].decision, SIDIK_DECISION_UNIQUE);

    /* A fetch error fails that probe with the same error. */
    cfg.fetch = fetch_fails;
    assert_int_equal(sidik_search(g, &cfg, &pool, probes + 1, 1, res), 0);
    assert_int_equal(res[0].status, -5);
    cfg.fetch = fetch;

    /* Bad configurations. */
    sidik_search_config bad = cfg;
    bad.shortlist = 0;
    assert_int_equal(sidik_search(g, &bad, &pool, probes, 1, res), SIDIK_EINVAL);
    bad = cfg;
    bad.shortlist = SIDIK_SEARCH_MAX_SHORTLIST + 1;
    assert_int_equal(sidik_search(g, &bad, &pool, probes, 1, res), SIDIK_EINVAL);
    bad = cfg;
    bad.review_fpir = 1e-4; /* below duplicate_fpir */
    assert_int_equal(sidik_search(g, &bad, &pool, probes, 1, res), SIDIK_EINVAL);
    bad = cfg;
    bad.duplicate_fpir = NAN;
    assert_int_equal(sidik_search(g, &bad, &pool, probes, 1, res), SIDIK_EINVAL);
    bad = cfg;
    bad.fusion = NULL;
    assert_int_equal(sidik_search(g, &bad, &pool, probes, 1, res), SIDIK_EINVAL);
    assert_int_equal(sidik_search(g, &cfg, &pool, probes, 0, res), SIDIK_EINVAL);
    assert_int_equal(sidik_search(g, &cfg, &pool, probes, SIDIK_SEARCH_MAX_BATCH + 1, res),
                     SIDIK_EINVAL);
    sidik_probe *nullp[1] = {NULL};
    assert_int_equal(sidik_search(g, &cfg, &pool, nullp, 1, res), SIDIK_EINVAL);

    for (int i = 0; i < NP; i++)
        sidik_probe_destroy(probes[i]);
    sidik_free(r);
    sidik_gallery_destroy(g);
    sidik_fusion_destroy(fu);
}

static void test_search_finds_reenrollments(void **state)
{
    (void)state;
    finds_reenrollments(0);
}

static void test_search_finds_reenrollments_with_cohort(void **state)
{
    (void)state;
    finds_reenrollments(1);
}

int main(void)
{
    sidik_synth_params_default(&params);
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_search_signature_rejects_bad_input),
        SIDIK_TEST(test_search_scan_levels_identical),
        SIDIK_TEST(test_search_gallery_rejects_bad_input),
        SIDIK_TEST(test_search_cohort_rejects_bad_input),
        SIDIK_TEST(test_search_cohort_offsets_and_scores),
        SIDIK_TEST(test_search_insert_many_rejects_bad_input),
        SIDIK_TEST(test_search_insert_many_same_as_one_by_one),
        SIDIK_TEST(test_search_insert_many_across_chunks),
        SIDIK_TEST(test_search_writers_race),
        SIDIK_TEST(test_search_finds_reenrollments),
        SIDIK_TEST(test_search_finds_reenrollments_with_cohort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
