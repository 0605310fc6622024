/*
 * bench_cohort: what cohort normalisation does to the signature scan's
 * power, on synthetic persons and on the real FVC2002 fingers.
 *
 *  1. Synthetic ten-prints: TEST persons (impression 0 enrolled, impression
 *     1 as probe) and a cohort of COHORT other persons of the same seed.
 *     Every probe against every enrolled person, each finger's similarity
 *     (sidik_sig_similarity) fused over the ten positions five ways: as the
 *     search did before cohorts (similarity less the impostor mean), less
 *     the probe finger's cohort mean, less the gallery finger's, both
 *     z-normalised, and less both means (what sidik_gallery_set_cohort
 *     does). Prints d' and the share of mates below the threshold that
 *     passes 1e-2 .. 3e-5 of the impostor persons (a gallery of N persons
 *     with a shortlist of S needs about S / N).
 *  2. FVC2002, single fingers: the signature's EER over the extended
 *     impostors, raw and less both fingers' means against a synthetic
 *     cohort (COHORT persons, all ten positions).
 *
 * Prints figures; never passes or fails.
 * Usage: bench_cohort [TEST [COHORT [SEED]]]   defaults 600 128 42
 */
#include "bench_data.h"
#include "sidik/common.h"
#include "sidik/signature.h"
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPOSTOR_MEAN 0.09f /* the search's SIDIK__SIG_IMPOSTOR_MEAN */

enum { RAW, PROBE, GALLERY, BOTH_Z, BOTH_MEAN, WAYS };
static const char *const way_name[WAYS] = {"similarity - impostor mean", "less probe's mean",
                                           "less gallery's mean", "both z-normalised",
                                           "less both means (the product)"};

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static float sim(const sidik_person_sig *a, const sidik_person_sig *b, int f)
{
    return sidik_sig_similarity(&a->f[f], a->scale[f], &b->f[f], b->scale[f]);
}

/* Mean and standard deviation of finger f of s against the cohort's. */
static void cohort_stats(const sidik_person_sig *s, int f, const sidik_person_sig *c, uint32_t nc,
                         float *mean, float *sd)
{
    double s1 = 0, s2 = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < nc; i++)
        if (s->scale[f] > 0 && c[i].scale[f] > 0) {
            double x = sim(&c[i], s, f);
            s1 += x;
            s2 += x * x;
            n++;
        }
    *mean = n ? (float)(s1 / n) : IMPOSTOR_MEAN;
    *sd = n > 1 ? (float)sqrt(s2 / n - (s1 / n) * (s1 / n)) : 1;
}

static void synthetic(uint32_t nt, uint32_t nc, uint64_t seed)
{
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_person_sig *g = sidik_xcalloc(nt + nc, sizeof *g), *pr = sidik_xcalloc(nt, sizeof *pr);
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    for (uint32_t i = 0; i < nt + nc; i++)
        for (uint32_t imp = 0; imp < (i < nt ? 2u : 1u); imp++)
            if (sidik_synth_impression(&p, seed, i, imp, r, NULL, NULL) != 0 ||
                sidik_sig_person(r, imp ? &pr[i] : &g[i], NULL) != 0)
                exit(1);
    const sidik_person_sig *cohort = g + nt;
    float(*pm)[10] = sidik_xcalloc(nt, sizeof *pm), (*ps)[10] = sidik_xcalloc(nt, sizeof *ps);
    float(*gm)[10] = sidik_xcalloc(nt, sizeof *gm), (*gs)[10] = sidik_xcalloc(nt, sizeof *gs);
    for (uint32_t i = 0; i < nt; i++)
        for (int f = 0; f < 10; f++) {
            cohort_stats(&pr[i], f, cohort, nc, &pm[i][f], &ps[i][f]);
            cohort_stats(&g[i], f, cohort, nc, &gm[i][f], &gs[i][f]);
        }
    size_t nimp = (size_t)nt * (nt - 1), ni = 0;
    float *gen[WAYS], *imp[WAYS];
    for (int w = 0; w < WAYS; w++) {
        gen[w] = sidik_xcalloc(nt, sizeof *gen[w]);
        imp[w] = sidik_xcalloc(nimp, sizeof *imp[w]);
    }
    for (uint32_t i = 0; i < nt; i++)
        for (uint32_t j = 0; j < nt; j++) {
            float a[WAYS] = {0};
            for (int f = 0; f < 10; f++) {
                if (!(pr[i].scale[f] > 0 && g[j].scale[f] > 0))
                    continue;
                float s = sim(&g[j], &pr[i], f);
                a[RAW] += s - IMPOSTOR_MEAN;
                a[PROBE] += s - pm[i][f];
                a[GALLERY] += s - gm[j][f];
                a[BOTH_Z] += (s - pm[i][f]) / ps[i][f] + (s - gm[j][f]) / gs[j][f];
                a[BOTH_MEAN] += s - pm[i][f] - gm[j][f] + IMPOSTOR_MEAN;
            }
            for (int w = 0; w < WAYS; w++) {
                if (i == j)
                    gen[w][i] = a[w];
                else
                    imp[w][ni] = a[w];
            }
            ni += i != j;
        }
    printf("synthetic ten-prints, seed %llu: %u mates, %zu impostor pairs, cohort %u\n",
           (unsigned long long)seed, nt, nimp, nc);
    printf("  %-30s %6s   mates missed at an impostor pass of\n", "fused score", "d'");
    printf("  %-30s %6s %9s %9s %9s %9s\n", "", "", "1e-2", "1e-3", "1e-4", "3e-5");
    static const double pass[] = {1e-2, 1e-3, 1e-4, 3e-5};
    for (int w = 0; w < WAYS; w++) {
        qsort(imp[w], nimp, sizeof *imp[w], cmp_float);
        double g1 = 0, g2 = 0, i1 = 0, i2 = 0;
        for (uint32_t i = 0; i < nt; i++)
            g1 += gen[w][i], g2 += (double)gen[w][i] * gen[w][i];
        for (size_t k = 0; k < nimp; k++)
            i1 += imp[w][k], i2 += (double)imp[w][k] * imp[w][k];
        g1 /= nt, g2 = g2 / nt - g1 * g1, i1 /= (double)nimp, i2 = i2 / (double)nimp - i1 * i1;
        printf("  %-30s %6.2f", way_name[w], (g1 - i1) / sqrt((g2 + i2) / 2));
        for (int k = 0; k < 4; k++) {
            float t = imp[w][(size_t)((1 - pass[k]) * (double)nimp)];
            uint32_t miss = 0;
            for (uint32_t i = 0; i < nt; i++)
                miss += gen[w][i] <= t;
            printf(" %4u/%-4u", miss, nt);
        }
        printf("\n");
        sidik_free(gen[w]);
        sidik_free(imp[w]);
    }
    sidik_free(pm), sidik_free(ps), sidik_free(gm), sidik_free(gs);
    sidik_free(g), sidik_free(pr), sidik_free(r);
}

/* The EER of genuine against impostor scores (both sorted here). */
static double eer(float *gen, size_t ng, float *imp, size_t ni)
{
    qsort(gen, ng, sizeof *gen, cmp_float);
    qsort(imp, ni, sizeof *imp, cmp_float);
    size_t below = 0;
    for (size_t k = 0; k < ni; k++) {
        while (below < ng && gen[below] <= imp[k])
            below++;
        double fnmr = (double)below / (double)ng, fmr = (double)(ni - k - 1) / (double)ni;
        if (fnmr >= fmr)
            return (fnmr + fmr) / 2;
    }
    return 0.5;
}

static void fvc(uint32_t nc)
{
    size_t n;
    bench_template *bt = bench_load_templates(bench_default_data(), &n);
    if (bt == NULL)
        return;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_person_sig *c;
    if (sidik_synth_cohort(&p, SIDIK_SYNTH_COHORT_SEED, nc, &c) != 0)
        exit(1);
    sidik_finger_sig *s = sidik_xcalloc(n, sizeof *s);
    float *scale = sidik_xcalloc(n, sizeof *scale), *mean = sidik_xcalloc(n, sizeof *mean);
    for (size_t i = 0; i < n; i++) {
        sidik_sig_finger(&bt[i].t, &s[i], &scale[i]);
        double sum = 0;
        uint32_t k = 0;
        for (uint32_t j = 0; j < nc; j++)
            for (int f = 0; f < 10; f++)
                if (c[j].scale[f] > 0 && scale[i] > 0) {
                    sum += sidik_sig_similarity(&c[j].f[f], c[j].scale[f], &s[i], scale[i]);
                    k++;
                }
        mean[i] = k ? (float)(sum / k) : 0;
    }
    size_t cap = n * n / 2, ng = 0, ni = 0;
    float *g0 = sidik_xcalloc(cap, sizeof *g0), *i0 = sidik_xcalloc(cap, sizeof *i0);
    float *g1 = sidik_xcalloc(cap, sizeof *g1), *i1 = sidik_xcalloc(cap, sizeof *i1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (bt[i].db != bt[j].db)
                continue;
            float x = sidik_sig_similarity(&s[i], scale[i], &s[j], scale[j]);
            float y = x - mean[i] - mean[j];
            if (bt[i].finger == bt[j].finger)
                g0[ng] = x, g1[ng++] = y;
            else
                i0[ni] = x, i1[ni++] = y;
        }
    printf("FVC2002 single fingers, %zu templates (%zu genuine, %zu extended impostor pairs):\n"
           "  signature EER %.2f%% raw, %.2f%% less both fingers' means against a synthetic "
           "cohort of %u persons\n",
           n, ng, ni, 100 * eer(g0, ng, i0, ni), 100 * eer(g1, ng, i1, ni), nc);
    sidik_free(g0), sidik_free(i0), sidik_free(g1), sidik_free(i1);
    sidik_free(s), sidik_free(scale), sidik_free(mean), sidik_free(c);
    free(bt);
}

int main(int argc, char **argv)
{
    uint32_t nt = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 600;
    uint32_t nc = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 128;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 42;
    if (nt < 10 || nc < 1 || nc > SIDIK_GALLERY_MAX_COHORT) {
        fprintf(stderr, "usage: bench_cohort [TEST [COHORT [SEED]]]\n");
        return 2;
    }
    synthetic(nt, nc, seed);
    fvc(nc);
    return 0;
}
