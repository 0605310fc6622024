/*
 * bench_match: how fast the matcher compares fingers, per SIMD level.
 *
 *  (a) 1:1 full matches: probes with 30-40 minutiae (the typical flat
 *      capture) against every template of the real FVC2002 B sets, in a loop
 *      for a fixed time; comparisons per second on one core, and the
 *      SIMD/scalar ratio measured in the same run.
 *
 * Prints figures; never passes or fails. Usage: bench_match [DATA_DIR]
 * [SECONDS_PER_LEVEL] [ONLY_LEVEL]; ONLY_LEVEL (for profiling) runs one level.
 */
#include "bench_data.h"
#include "sidik/common.h"
#include "sidik/matcher.h"

#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : bench_default_data();
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
    printf("finger preparation: %.1f us per template\n\n", prep * 1e6);

    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    sidik_simd_level best = sidik_cpu_best_level(&f);
    printf("(a) 1:1 full matches, %zu probes of 30-40 minutiae x %zu templates, 1 thread\n", np, n);
    double scalar = 0;
    uint64_t first = 0;
    sidik_simd_level only;
    bool one = argc > 3 && sidik_simd_level_parse(argv[3], &only) == 0;
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
    for (size_t i = 0; i < n; i++)
        sidik_finger_destroy(all[i]);
    sidik_free(all);
    sidik_free(probes);
    free(bt);
    return 0;
}
