/*
 * bench_sig_scan: the search signature scan's own speed, per SIMD level.
 *
 * PERSONS synthetic persons (sidik_synth, impression 0) are put into the
 * scan's blocks of 16; one probe (another person) is scanned against all of
 * them, every finger, as sidik_search's first stage does, in a loop for a
 * fixed time on one thread; then a batch of 32 probes, the finger outer and
 * the probes inner as the gallery scan runs them. Prints nanoseconds per
 * person per probe, persons and fingers per second per core, and the ratio
 * to the scalar oracle, measured in the same run. The gallery (5,160 bytes a
 * person) is much larger than the caches at the default size, so memory
 * traffic is included. Then the signature's computation itself: each build
 * of sig_build_impl.h the CPU has, microseconds per finger over the same
 * persons' fingers, with the ratio to the baseline build.
 *
 * Prints figures; never passes or fails.
 * Usage: bench_sig_scan [PERSONS [SECONDS]]   defaults 65536, 1 (per level)
 */
#include "bench_pool.h"
#include "sig_int.h"
#include "sidik/common.h"
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>

#define BATCH 32

typedef struct scan_level {
    const char *name;
    sidik__sig_scan_fn fn;
    int available;
} scan_level;

/* Seconds per (person x probe) for nprobes probes: the best of three runs
 * of secs/3 each. */
static double measure(sidik__sig_scan_fn fn, sidik__sig_probe *const *probes, int nprobes,
                      const sidik__sig_block *b, size_t nblocks, double secs, float *sink)
{
    double best = 1e9;
    for (int run = 0; run < 3; run++) {
        size_t done = 0;
        double t0 = bench_now(), t;
        do {
            for (size_t k = 0; k < nblocks; k++) {
                float total[BATCH][SIDIK__SIG_LANES] = {{0}};
                for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
                    for (int i = 0; i < nprobes; i++)
                        if (probes[i]->scale[f] > 0)
                            fn(probes[i], f, &b[k], SIDIK__SIG_LANES, 0, total[i], NULL);
                *sink += total[nprobes - 1][k % SIDIK__SIG_LANES];
            }
            done += nblocks * SIDIK__SIG_LANES * (size_t)nprobes;
            t = bench_now() - t0;
        } while (t < secs / 3);
        if (t / (double)done < best)
            best = t / (double)done;
    }
    return best;
}

/* The signature's computation per build: microseconds per finger, the best
 * of three passes over the fingers within secs. */
static void build_times(const sidik_template *fingers, size_t n, int best, double secs)
{
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    const struct {
        const char *name;
        int (*fn)(const sidik_template *t, const sidik__sig_weights *w, sidik_finger_sig *out,
                  float *scale);
        int available;
    } builds[] = {
        {"baseline", sidik__sig_finger_base, 1},
        {"avx2", sidik__sig_finger_avx2, best >= SIDIK_SIMD_AVX2 && f.fma},
        {"avx512", sidik__sig_finger_avx512, best >= SIDIK_SIMD_AVX512 && f.fma},
    };
    double minutiae = 0;
    for (size_t i = 0; i < n; i++)
        minutiae += fingers[i].count;
    printf("signature computation, %zu fingers of %.1f minutiae on average, 1 thread:\n", n,
           minutiae / (double)n);
    double base = 0;
    float sink = 0;
    for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++) {
        if (!builds[b].available) {
            printf("  %-12s not on this CPU\n", builds[b].name);
            continue;
        }
        double best_us = 1e30, t0 = bench_now();
        for (int pass = 0; pass < 3 || (pass < 100 && bench_now() - t0 < secs); pass++) {
            double p0 = bench_now();
            for (size_t i = 0; i < n; i++) {
                sidik_finger_sig sig;
                float scale = 0;
                builds[b].fn(&fingers[i], &sidik__sig_weights_product, &sig, &scale);
                sink += scale;
            }
            double us = (bench_now() - p0) * 1e6 / (double)n;
            best_us = us < best_us ? us : best_us;
        }
        if (b == 0)
            base = best_us;
        printf("  %-12s %8.2f us per finger %8.2fx baseline\n", builds[b].name, best_us,
               base / best_us);
    }
    printf("(checksum %g)\n", (double)sink);
}

int main(int argc, char **argv)
{
    size_t persons = argc > 1 ? strtoull(argv[1], NULL, 10) : 65536;
    double secs = argc > 2 ? atof(argv[2]) : 1;
    if (persons < SIDIK__SIG_LANES || !(secs > 0)) {
        fprintf(stderr, "usage: bench_sig_scan [PERSONS [SECONDS]]\n");
        return 2;
    }
    persons -= persons % SIDIK__SIG_LANES;
    size_t nblocks = persons / SIDIK__SIG_LANES;
    sidik_synth_params params;
    sidik_synth_params_default(&params);
    sidik__sig_block *b = sidik_xcalloc(nblocks, sizeof *b);
    sidik_fmr *rec = sidik_xcalloc(1, sizeof *rec);
    sidik_person_sig sig;
    double t0 = bench_now();
    /* A few hundred distinct persons repeated make the same memory traffic
     * as a gallery of distinct ones, and are quicker to generate. */
    enum { DISTINCT = 256 };
    sidik_person_sig *distinct = sidik_xcalloc(DISTINCT, sizeof *distinct);
    sidik_template *fingers = sidik_xcalloc(DISTINCT * SIDIK_FMR_MAX_VIEWS, sizeof *fingers);
    size_t nfingers = 0;
    for (int i = 0; i < DISTINCT; i++) {
        sidik_synth_impression(&params, 11, (uint64_t)i, 0, rec, NULL, NULL);
        sidik_sig_person(rec, &distinct[i], NULL);
        for (uint32_t v = 0; v < rec->nviews; v++)
            if (rec->views[v].count >= SIDIK_SIG_MIN_MINUTIAE)
                fingers[nfingers++] = rec->views[v];
    }
    for (size_t i = 0; i < persons; i++)
        sidik__sig_block_put(&b[i / SIDIK__SIG_LANES], (int)(i % SIDIK__SIG_LANES),
                             &distinct[(i * 7919) % DISTINCT]);
    sidik__sig_probe *probes[BATCH];
    for (int i = 0; i < BATCH; i++) {
        sidik_synth_impression(&params, 12, (uint64_t)i, 0, rec, NULL, NULL);
        sidik_sig_person(rec, &sig, NULL);
        probes[i] = sidik_xcalloc(1, sizeof *probes[i]);
        sidik__sig_probe_init(probes[i], &sig);
    }
    printf("bench_sig_scan: %zu persons (%zu MB in blocks of 16), prepared in %.1f s; 1 thread\n",
           persons, nblocks * sizeof *b >> 20, bench_now() - t0);

    sidik_cpu_features cf;
    sidik_cpu_detect(&cf);
    int best = (int)sidik_cpu_best_level(&cf);
    scan_level lv[] = {
        {"scalar", sidik__sig_scan_scalar, 1},
        {"sse42", sidik__sig_scan_sse42, best >= SIDIK_SIMD_SSE42},
        {"avx2", sidik__sig_scan_avx2, best >= SIDIK_SIMD_AVX2},
        {"avx512", sidik__sig_scan_avx512, best >= SIDIK_SIMD_AVX512},
        {"avx512+vnni", sidik__sig_scan_avx512vnni, best >= SIDIK_SIMD_AVX512 && cf.avx512vnni},
    };
    printf("  %-12s %6s %12s %16s %16s %9s\n", "level", "probes", "ns/person", "persons/s/core",
           "fingers/s/core", "x scalar");
    float sink = 0;
    double scalar[2] = {0, 0};
    for (size_t l = 0; l < sizeof lv / sizeof lv[0]; l++) {
        if (!lv[l].available) {
            printf("  %-12s not on this CPU\n", lv[l].name);
            continue;
        }
        for (int batch = 0; batch < 2; batch++) {
            int np = batch ? BATCH : 1;
            double s = measure(lv[l].fn, probes, np, b, nblocks, l == 0 ? secs * 2 : secs, &sink);
            if (l == 0)
                scalar[batch] = s;
            printf("  %-12s %6d %12.1f %16.0f %16.0f %8.2fx\n", lv[l].name, np, s * 1e9, 1 / s,
                   SIDIK_SIG_FINGERS / s, scalar[batch] / s);
        }
    }
    printf("(checksum %g)\n", (double)sink);
    build_times(fingers, nfingers, best, secs);
    sidik_free(fingers);
    for (int i = 0; i < BATCH; i++)
        sidik_free(probes[i]);
    sidik_free(distinct);
    sidik_free(rec);
    sidik_free(b);
    return 0;
}
