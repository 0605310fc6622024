/*
 * bench_sig_weights: derives the search signature's weights per ring and
 * harmonic (matcher/sig_weights.c) and measures what they do.
 *
 *  1. TRAIN synthetic persons of seed TRAIN_SEED, impressions 0 and 1,
 *     signatures without weights. For each finger pair, mates (the same
 *     person) and impostors (the next three persons, the same position),
 *     each term of the correlation at the pair's best rotation:
 *     w_k Re(a_rk conj(b_rk) e^(i k angle)) over the two signatures'
 *     energies (w_k = 2 for k > 0). A term's weight is (its mean over mates
 *     - its mean over impostors) / its variance (the mean of the two): the
 *     weight a linear discriminant gives independent terms. Scaled to a mean
 *     of 1; negative ones would be 0 (none have been).
 *  2. Prints the square roots as the C table sig_weights.c holds (the
 *     signature multiplies its coefficients by them, so the correlation of
 *     two signatures weighs each term by the weight itself).
 *  3. On TEST persons of another seed: per-finger d' and fused d' (the ten
 *     fingers summed), and the mates missed at the thresholds that pass
 *     1e-2 .. 3e-5 of the impostor persons, without and with the weights
 *     (applied to the bytes and requantised, as the signature does), and
 *     the mean impostor similarity with them (the search's
 *     SIDIK__SIG_IMPOSTOR_MEAN).
 * Without cohort normalisation; bench_cohort measures the product's score.
 * Prints figures; never passes or fails.
 *
 * Usage: bench_sig_weights [TRAIN [TRAIN_SEED [TEST [TEST_SEED]]]]
 *   defaults 800 42 800 7
 */
#include "sig_int.h"
#include "sidik/common.h"
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R = SIDIK_SIG_RINGS, K = SIDIK_SIG_HARMONICS, NROT = SIDIK_SIG_ROTATIONS };

static double rot_c[NROT][K], rot_s[NROT][K];

/* A finger's signature as doubles, and whether it is present. */
typedef struct {
    double re[R][K], im[R][K];
    int ok;
} finger;

typedef struct {
    finger f[SIDIK_SIG_FINGERS];
} person;

/* Unweighted signatures of impression imp of persons 0..n-1, or weighted by w. */
static void persons(uint64_t seed, uint32_t n, uint32_t imp, const sidik__sig_weights *w,
                    person *out)
{
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *rec = sidik_xmalloc(sizeof *rec);
    for (uint32_t i = 0; i < n; i++) {
        if (sidik_synth_impression(&p, seed, i, imp, rec, NULL, NULL) != 0)
            exit(1);
        memset(&out[i], 0, sizeof out[i]);
        for (uint32_t v = 0; v < rec->nviews; v++) {
            const sidik_template *t = &rec->views[v];
            if (t->position < 1 || t->position > SIDIK_SIG_FINGERS)
                continue;
            sidik_finger_sig s;
            float scale;
            sidik__sig_finger_weighted(t, w, &s, &scale);
            finger *f = &out[i].f[t->position - 1];
            f->ok = scale > 0;
            for (int r = 0; r < R; r++)
                for (int k = 0; k < K; k++)
                    f->re[r][k] = s.c[r][k][0], f->im[r][k] = s.c[r][k][1];
        }
    }
    sidik_free(rec);
}

/* The correlation of a and b at their best rotation, each term times W
 * (NULL: 1); *at gets that rotation. */
static double similarity(const finger *a, const finger *b, const double (*W)[K], int *at)
{
    double ea = 0, eb = 0, cre[K] = {0}, cim[K] = {0};
    for (int k = 0; k < K; k++)
        for (int r = 0; r < R; r++) {
            double w = (k ? 2 : 1) * (W != NULL ? W[r][k] : 1);
            ea += w * (a->re[r][k] * a->re[r][k] + a->im[r][k] * a->im[r][k]);
            eb += w * (b->re[r][k] * b->re[r][k] + b->im[r][k] * b->im[r][k]);
            cre[k] += w * (a->re[r][k] * b->re[r][k] + a->im[r][k] * b->im[r][k]);
            cim[k] += w * (a->im[r][k] * b->re[r][k] - a->re[r][k] * b->im[r][k]);
        }
    double best = -INFINITY;
    for (int n = 0; n < NROT; n++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += cre[k] * rot_c[n][k] - cim[k] * rot_s[n][k];
        if (s > best)
            best = s, *at = n;
    }
    return best / sqrt(ea * eb);
}

static void derive(const person *g, const person *p, uint32_t n, double (*W)[K])
{
    static double sum[2][R][K], sq[2][R][K];
    double count[2] = {0, 0};
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t d = 0; d < 4; d++) {
            const int mate = d == 0;
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
                const finger *a = &p[i].f[f], *b = &g[(i + d) % n].f[f];
                if (!a->ok || !b->ok)
                    continue;
                int at = 0;
                similarity(a, b, NULL, &at);
                double ea = 0, eb = 0;
                for (int k = 0; k < K; k++)
                    for (int r = 0; r < R; r++) {
                        ea += (k ? 2 : 1) * (a->re[r][k] * a->re[r][k] + a->im[r][k] * a->im[r][k]);
                        eb += (k ? 2 : 1) * (b->re[r][k] * b->re[r][k] + b->im[r][k] * b->im[r][k]);
                    }
                for (int k = 0; k < K; k++)
                    for (int r = 0; r < R; r++) {
                        double cre = a->re[r][k] * b->re[r][k] + a->im[r][k] * b->im[r][k];
                        double cim = a->im[r][k] * b->re[r][k] - a->re[r][k] * b->im[r][k];
                        double x =
                            (k ? 2 : 1) * (cre * rot_c[at][k] - cim * rot_s[at][k]) / sqrt(ea * eb);
                        sum[mate][r][k] += x;
                        sq[mate][r][k] += x * x;
                    }
                count[mate]++;
            }
        }
    double total = 0;
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++) {
            double m[2], v[2];
            for (int c = 0; c < 2; c++) {
                m[c] = sum[c][r][k] / count[c];
                v[c] = sq[c][r][k] / count[c] - m[c] * m[c];
            }
            double w = (m[1] - m[0]) / ((v[0] + v[1]) / 2);
            W[r][k] = w > 0 ? w : 0;
            total += W[r][k];
        }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++)
            W[r][k] *= R * K / total;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* d' of mates against impostors, per finger and fused, and the misses. */
static void evaluate(const char *name, const person *g, const person *p, uint32_t n,
                     const double (*W)[K])
{
    double mean = 0, count = 0; /* the impostor mean, subtracted before fusing */
    for (uint32_t i = 0; i + 1 < n; i++)
        for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
            if (p[i + 1].f[f].ok && g[i].f[f].ok) {
                int at;
                mean += similarity(&p[i + 1].f[f], &g[i].f[f], W, &at);
                count++;
            }
    mean /= count;
    size_t nimp = (size_t)n * (n - 1), c = 0;
    double *imp = sidik_xmalloc(nimp * sizeof *imp), *gen = sidik_xmalloc(n * sizeof *gen);
    double fs[2] = {0, 0}, fq[2] = {0, 0}, fn[2] = {0, 0};
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            double s = 0;
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
                if (!p[i].f[f].ok || !g[j].f[f].ok)
                    continue;
                int at;
                double x = similarity(&p[i].f[f], &g[j].f[f], W, &at);
                s += x - mean;
                int mate = i == j;
                fs[mate] += x, fq[mate] += x * x, fn[mate]++;
            }
            if (i == j)
                gen[i] = s;
            else
                imp[c++] = s;
        }
    double fm[2], fv[2];
    for (int m = 0; m < 2; m++)
        fm[m] = fs[m] / fn[m], fv[m] = fq[m] / fn[m] - fm[m] * fm[m];
    double gm = 0, gv = 0, im = 0, iv = 0;
    for (uint32_t i = 0; i < n; i++)
        gm += gen[i], gv += gen[i] * gen[i];
    for (size_t k = 0; k < nimp; k++)
        im += imp[k], iv += imp[k] * imp[k];
    gm /= n, gv = gv / n - gm * gm, im /= (double)nimp, iv = iv / (double)nimp - im * im;
    qsort(imp, nimp, sizeof *imp, cmp_double);
    printf("  %-26s %8.3f %8.3f %8.4f", name, (fm[1] - fm[0]) / sqrt((fv[0] + fv[1]) / 2),
           (gm - im) / sqrt((gv + iv) / 2), mean);
    static const double pass[] = {1e-2, 1e-3, 1e-4, 3e-5};
    for (int k = 0; k < 4; k++) {
        double t = imp[(size_t)((1 - pass[k]) * (double)nimp)];
        uint32_t miss = 0;
        for (uint32_t i = 0; i < n; i++)
            miss += gen[i] < t;
        printf(" %6u", miss);
    }
    printf("   of %u\n", n);
    sidik_free(imp);
    sidik_free(gen);
}

int main(int argc, char **argv)
{
    uint32_t ntrain = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 800;
    uint64_t train_seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    uint32_t ntest = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 800;
    uint64_t test_seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 7;
    if (ntrain < 4 || ntest < 4) {
        fprintf(stderr, "usage: bench_sig_weights [TRAIN [TRAIN_SEED [TEST [TEST_SEED]]]]\n");
        return 2;
    }
    for (int n = 0; n < NROT; n++) {
        double a = (n - NROT / 2) * (double)SIDIK_SIG_ROT_MAX / (NROT / 2) * M_PI / 180;
        for (int k = 0; k < K; k++)
            rot_c[n][k] = cos(k * a), rot_s[n][k] = sin(k * a);
    }
    static sidik__sig_weights none; /* every weight 1: the signature without weights */
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++)
            none.w[r][k] = 1;
    person *g = sidik_xcalloc(ntrain, sizeof *g), *p = sidik_xcalloc(ntrain, sizeof *p);
    persons(train_seed, ntrain, 0, &none, g);
    persons(train_seed, ntrain, 1, &none, p);
    static double W[R][K];
    derive(g, p, ntrain, W);
    printf("/* bench_sig_weights %u %llu: square roots of the weights, rings down, harmonics "
           "across */\n",
           ntrain, (unsigned long long)train_seed);
    sidik__sig_weights table;
    for (int r = 0; r < R; r++) {
        printf("    {");
        for (int k = 0; k < K; k++) {
            table.w[r][k] = (float)sqrt(W[r][k]);
            printf("%s%.4ff", k ? ", " : "", table.w[r][k]);
        }
        printf("},\n");
    }
    sidik_free(g);
    sidik_free(p);

    g = sidik_xcalloc(ntest, sizeof *g), p = sidik_xcalloc(ntest, sizeof *p);
    persons(test_seed, ntest, 0, &none, g);
    persons(test_seed, ntest, 1, &none, p);
    printf("\nheld out: %u persons of seed %llu, mates missed at an impostor pass of\n", ntest,
           (unsigned long long)test_seed);
    printf("  %-26s %8s %8s %8s %6s %6s %6s %6s\n", "", "finger d'", "fused d'", "imp.mean", "1e-2",
           "1e-3", "1e-4", "3e-5");
    evaluate("without weights", g, p, ntest, NULL);
    persons(test_seed, ntest, 0, &table, g);
    persons(test_seed, ntest, 1, &table, p);
    evaluate("weighted, as the signature", g, p, ntest, NULL);
    sidik_free(g);
    sidik_free(p);
    return 0;
}
