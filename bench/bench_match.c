/*
 * bench_match: how fast the matcher compares fingers, per SIMD level.
 *
 *  (a) 1:1 full matches: probes with 30-40 minutiae (the typical flat
 *      capture) against every template of the real FVC2002 B sets, in a loop
 *      for a fixed time; comparisons per second on one core, and the
 *      SIMD/scalar ratio measured in the same run.
 *  (b) 1:N search: one probe against an in-memory gallery of N fingers (the
 *      FVC templates replicated under random rigid transforms: rotation
 *      within +-45 degrees, the range the matcher is held to, translation
 *      within +-60 px; shuffled), at each SIMD level, on 1 and 2 threads.
 *      Every gallery finger gets the full match: this build has no
 *      prefiltering cascade, so nothing can be missed and the figure is the
 *      full matcher's. Each configuration scans for at most a few seconds;
 *      the gallery is shuffled, so the rate over any prefix is the rate.
 *
 * Prints figures; never passes or fails.
 * Usage: bench_match [DATA_DIR [SECONDS [ONLY_LEVEL [GALLERY]]]]
 *   SECONDS per (a) level (default 2); ONLY_LEVEL runs one level (for
 *   profiling; "all" for every level); GALLERY fingers for (b) (default
 *   1,000,000; 0 skips (b)).
 */
#include "bench_data.h"
#include "mcc.h"
#include "template_pose.h"
#include "sidik/common.h"
#include "sidik/matcher.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Comparisons per second of probes x gallery at level: the best of five
 * runs of secs/5 each (the best filters out time stolen by the other core's
 * work; every run covers the same probes in the same order). */
static double one_to_one(sidik_simd_level level, sidik_finger **probes, size_t np,
                         sidik_finger **gallery, size_t ng, double secs, uint64_t *checksum)
{
    sidik_matcher *m;
    if (sidik_matcher_create(level, &m) != 0)
        return 0;
    double best = 0;
    uint64_t sum = 0;
    for (int run = 0; run < 5; run++) {
        uint64_t done = 0;
        double t0 = now(), t;
        size_t p = 0;
        do {
            for (size_t g = 0; g < ng; g++)
                sum += sidik_match_score(m, probes[p], gallery[g]);
            done += ng;
            p = (p + 1) % np;
        } while ((t = now() - t0) < secs / 5);
        if ((double)done / t > best)
            best = (double)done / t;
    }
    sidik_matcher_destroy(m);
    *checksum = sum;
    return best;
}

/* ---- (b) ---------------------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct build_job {
    const bench_template *src;
    size_t nsrc;
    sidik_finger **gallery;
    size_t from, to;
    uint64_t seed;
};

static void *build_part(void *arg)
{
    struct build_job *j = arg;
    uint64_t s = j->seed;
    for (size_t g = j->from; g < j->to; g++) {
        sidik_template t;
        const sidik_template *src = &j->src[rng(&s) % j->nsrc].t;
        double deg = (double)(rng(&s) % 9001) / 100.0 - 45.0;
        double dx = (double)(rng(&s) % 121) - 60.0, dy = (double)(rng(&s) % 121) - 60.0;
        sidik_test_pose(src, deg, 1.0, dx, dy, 100, &t);
        if (sidik_finger_create(&t, &j->gallery[g]) != 0)
            abort();
    }
    return NULL;
}

struct scan_job {
    sidik_simd_level level;
    const sidik_finger *probe;
    sidik_finger *const *gallery;
    size_t from, to;
    uint32_t threshold;
    double deadline;
    size_t scanned, hits;
};

static void *scan_part(void *arg)
{
    struct scan_job *j = arg;
    sidik_matcher *m;
    if (sidik_matcher_create(j->level, &m) != 0)
        return NULL;
    for (size_t g = j->from; g < j->to; g++) {
        j->hits += sidik_match_score(m, j->probe, j->gallery[g]) >= j->threshold;
        j->scanned++;
        if ((j->scanned & 255) == 0 && now() > j->deadline)
            break;
    }
    sidik_matcher_destroy(m);
    return NULL;
}

/* Fingers per second of one probe against gallery[0..n) on nthreads, each
 * thread with its own slice, for at most secs. */
static double one_to_many(sidik_simd_level level, int nthreads, const sidik_finger *probe,
                          sidik_finger *const *gallery, size_t n, uint32_t threshold, double secs,
                          size_t *scanned, size_t *hits)
{
    struct scan_job job[2];
    pthread_t th[2];
    double t0 = now();
    for (int t = 0; t < nthreads; t++) {
        job[t] = (struct scan_job){level,
                                   probe,
                                   gallery,
                                   n * (size_t)t / (size_t)nthreads,
                                   n * (size_t)(t + 1) / (size_t)nthreads,
                                   threshold,
                                   t0 + secs,
                                   0,
                                   0};
        pthread_create(&th[t], NULL, scan_part, &job[t]);
    }
    *scanned = *hits = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        *scanned += job[t].scanned;
        *hits += job[t].hits;
    }
    return (double)*scanned / (now() - t0);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The lowest score with FMR <= 0.1% on the extended impostors (all pairs
 * of different fingers within a DB): the decision threshold (b) counts hits
 * at. */
static uint32_t fmr1000_threshold(const bench_template *bt, sidik_finger **all, size_t n)
{
    sidik_matcher *m;
    if (sidik_matcher_create(SIDIK_SIMD_SCALAR, &m) != 0)
        return SIDIK_MATCH_SCORE_MAX;
    uint32_t *imp = sidik_xcalloc(n * n / 2 + 1, sizeof *imp);
    size_t ni = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (bt[i].db == bt[j].db && bt[i].finger != bt[j].finger)
                imp[ni++] = sidik_match_score(m, all[i], all[j]);
    qsort(imp, ni, sizeof *imp, cmp_u32);
    size_t allowed = ni / 1000;
    uint32_t t = ni > allowed ? imp[ni - 1 - allowed] + 1 : 0;
    sidik_free(imp);
    sidik_matcher_destroy(m);
    return t;
}

static void part_b(const bench_template *bt, sidik_finger **all, size_t n, sidik_finger *probe,
                   size_t gallery_n, sidik_simd_level best, bool one, sidik_simd_level only)
{
    uint32_t threshold = fmr1000_threshold(bt, all, n);
    printf("\n(b) 1:N search, one probe against %zu gallery fingers (FVC templates under random\n"
           "    rigid transforms), full match for every finger, hits at score >= %u (FMR 0.1%%\n"
           "    on the FVC2002 extended impostors)\n",
           gallery_n, threshold);
    sidik_finger **gallery = sidik_xcalloc(gallery_n, sizeof *gallery);
    double t0 = now();
    struct build_job jobs[2];
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        jobs[t] = (struct build_job){bt,
                                     n,
                                     gallery,
                                     gallery_n * (size_t)t / 2,
                                     gallery_n * (size_t)(t + 1) / 2,
                                     0x5151d1c0ull + (uint64_t)t};
        pthread_create(&th[t], NULL, build_part, &jobs[t]);
    }
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    printf("    gallery prepared in %.1f s on 2 threads (%zu MB)\n", now() - t0,
           sidik_alloc_bytes() >> 20);
    printf("    %-7s %7s %14s %14s %10s %9s %7s\n", "level", "threads", "fingers/s", "per core",
           "vs scalar", "scanned", "hits");
    double scalar[3] = {0, 0, 0};
    for (int l = 0; l <= (int)best; l++) {
        if (one && l != (int)only)
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            size_t scanned, hits;
            double rate = one_to_many((sidik_simd_level)l, threads, probe, gallery, gallery_n,
                                      threshold, 4.0, &scanned, &hits);
            if (scalar[threads] == 0)
                scalar[threads] = rate;
            printf("    %-7s %7d %14.0f %14.0f %9.2fx %9zu %7zu\n",
                   sidik_simd_level_name((sidik_simd_level)l), threads, rate, rate / threads,
                   rate / scalar[threads], scanned, hits);
        }
    }
    printf("    (no prefiltering cascade yet: prefilter miss rate 0 by construction)\n");
    for (size_t g = 0; g < gallery_n; g++)
        sidik_finger_destroy(gallery[g]);
    sidik_free(gallery);
}

/* Seconds per template for one build of the finger preparation: the
 * best of `rounds` passes over every template, the builds' passes taken in
 * turn so that both see the same machine. */
static void preparation_builds(const bench_template *bt, size_t n, int rounds, double *base,
                               double *avx2)
{
    int (*build[2])(const sidik_template *, sidik_finger **) = {sidik__finger_build_base,
                                                                sidik__finger_build_avx2};
    double best[2] = {1e9, 1e9};
    for (int r = 0; r < rounds; r++)
        for (int b = 0; b < 2; b++) {
            double t0 = now();
            for (size_t i = 0; i < n; i++) {
                sidik_finger *f;
                if (build[b](&bt[i].t, &f) != 0)
                    abort();
                sidik_finger_destroy(f);
            }
            double t = (now() - t0) / (double)n;
            best[b] = t < best[b] ? t : best[b];
        }
    *base = best[0];
    *avx2 = best[1];
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 && argv[1][0] != '\0' ? argv[1] : bench_default_data();
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    size_t n;
    bench_template *bt = bench_load_templates(dir, &n);
    if (bt == NULL)
        return 1;
    sidik_finger **all = sidik_xcalloc(n, sizeof *all), **probes = sidik_xcalloc(n, sizeof *all);
    size_t np = 0, mins = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        if (sidik_finger_create(&bt[i].t, &all[i]) != 0)
            return 1;
        mins += bt[i].t.count;
        if (bt[i].t.count >= 30 && bt[i].t.count <= 40)
            probes[np++] = all[i];
    }
    double prep = (now() - t0) / (double)n;
    printf("bench_match: %zu templates from %s (%.1f minutiae on average)\n", n, dir,
           (double)mins / (double)n);
    printf("finger preparation: %.1f us per template\n", prep * 1e6);

    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    sidik_simd_level best = sidik_cpu_best_level(&f);
    if (best >= SIDIK_SIMD_AVX2) {
        double base, avx2;
        preparation_builds(bt, n, 7, &base, &avx2);
        printf("  its two builds, best of 7 passes in turn: baseline %.1f us, avx2 %.1f us "
               "(%.2fx)\n",
               base * 1e6, avx2 * 1e6, base / avx2);
    }
    printf("\n");
    printf("(a) 1:1 full matches, %zu probes of 30-40 minutiae x %zu templates, 1 thread\n", np, n);
    double scalar = 0;
    uint64_t first = 0;
    sidik_simd_level only = SIDIK_SIMD_SCALAR;
    bool one = argc > 3 && sidik_simd_level_parse(argv[3], &only) == 0;
    size_t gallery_n = argc > 4 ? (size_t)strtoull(argv[4], NULL, 10) : 1000000;
    for (int l = 0; l <= (int)best; l++) {
        if (one && l != (int)only)
            continue;
        uint64_t sum;
        double rate = one_to_one((sidik_simd_level)l, probes, np, all, n, secs, &sum);
        if (scalar == 0) {
            scalar = rate;
            first = sum;
        }
        printf("  %-7s %10.0f comparisons/s  (%.2fx scalar)\n",
               sidik_simd_level_name((sidik_simd_level)l), rate, rate / scalar);
        (void)first;
    }
    if (gallery_n > 0 && np > 0)
        part_b(bt, all, n, probes[0], gallery_n, best, one, only);
    for (size_t i = 0; i < n; i++)
        sidik_finger_destroy(all[i]);
    sidik_free(all);
    sidik_free(probes);
    free(bt);
    return 0;
}
