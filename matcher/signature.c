/*
 * The search signature (sidik/signature.h): the complex spectral minutiae
 * representation, sampled on a polar grid and kept as angular harmonics.
 * The computation itself is sig_build_impl.h, built here for baseline
 * x86-64 and in sig_build_avx2.c and sig_build_avx512.c, the build chosen
 * once for the CPU.
 */
#define SIG_BUILD(name) sidik__##name##_base
#include "sig_build_impl.h"
#include "sidik/common.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static sidik__sig_tables tables;
static sig_consts consts;
static int (*build)(const sidik_template *t, const sidik__sig_weights *w, sidik_finger_sig *out,
                    float *scale);
static void (*probe_build)(sidik__sig_probe *p, const sidik_person_sig *s);
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build(void)
{
    const double pi = 3.14159265358979323846;
    for (int n = 0; n < SIG_ANGLES; n++) {
        consts.ray_c[n] = (float)cos(2 * pi * n / SIG_ANGLES);
        consts.ray_s[n] = (float)sin(2 * pi * n / SIG_ANGLES);
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            consts.dft_c[n][k] = (float)cos(2 * pi * k * n / SIG_ANGLES);
            consts.dft_s[n][k] = (float)-sin(2 * pi * k * n / SIG_ANGLES);
        }
    }
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
        consts.dft_sign[k] = k % 2 ? -1.0f : 1.0f;
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        /* Harmonic k > 0 stands for itself and its mirror -k (the spectrum
         * is real), hence the weight 2. */
        double w = k ? 2.0 : 1.0;
        tables.w[k] = (int16_t)lrint(w * SIDIK__SIG_ROT_ONE);
        for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
            double alpha = SIDIK_SIG_ROT_MAX * (r + 1.0) / SIDIK__SIG_ROT_PAIRS * pi / 180;
            tables.cos[r][k] = (int16_t)lrint(w * cos(k * alpha) * SIDIK__SIG_ROT_ONE);
            tables.sin[r][k] = (int16_t)lrint(w * sin(k * alpha) * SIDIK__SIG_ROT_ONE);
        }
    }
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    sidik_simd_level level = sidik_cpu_best_level(&f);
    /* The vector builds use fused multiply-adds (sig_build_impl.h). */
    build = !f.fma                       ? sidik__sig_finger_base
            : level >= SIDIK_SIMD_AVX512 ? sidik__sig_finger_avx512
            : level >= SIDIK_SIMD_AVX2   ? sidik__sig_finger_avx2
                                         : sidik__sig_finger_base;
    probe_build = level >= SIDIK_SIMD_AVX512 ? sidik__sig_probe_init_avx512
                  : level >= SIDIK_SIMD_AVX2 ? sidik__sig_probe_init_avx2
                                             : sidik__sig_probe_init_base;
}

const sidik__sig_tables *sidik__sig_tables_get(void)
{
    pthread_once(&tables_once, tables_build);
    return &tables;
}

const sig_consts *sidik__sig_consts(void)
{
    pthread_once(&tables_once, tables_build);
    return &consts;
}

int sidik_sig_finger(const sidik_template *t, sidik_finger_sig *out, float *scale)
{
    return sidik__sig_finger_weighted(t, &sidik__sig_weights_product, out, scale);
}

int sidik__sig_finger_weighted(const sidik_template *t, const sidik__sig_weights *w,
                               sidik_finger_sig *out, float *scale)
{
    if (t == NULL || w == NULL || out == NULL || scale == NULL)
        return SIDIK_EINVAL;
    memset(out, 0, sizeof *out);
    *scale = 0;
    if (t->count > SIDIK_TMPL_MAX_MINUTIAE)
        return SIDIK_EINVAL; /* m[] holds no more: the count is a lie */
    pthread_once(&tables_once, tables_build);
    if (t->count < SIDIK_SIG_MIN_MINUTIAE)
        return 0;
    return build(t, w, out, scale);
}

int sidik_sig_person(const sidik_fmr *rec, sidik_person_sig *out, const char **why)
{
    if (rec == NULL || out == NULL)
        return SIDIK_EINVAL;
    memset(out, 0, sizeof *out);
    const sidik_template *best[SIDIK_SIG_FINGERS] = {0};
    for (uint32_t v = 0; v < rec->nviews && v < SIDIK_FMR_MAX_VIEWS; v++) {
        const sidik_template *t = &rec->views[v];
        if (t->position < 1 || t->position > SIDIK_SIG_FINGERS)
            continue;
        const sidik_template **slot = &best[t->position - 1];
        if (*slot == NULL || t->count > (*slot)->count)
            *slot = t;
    }
    int usable = 0;
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        if (best[f] == NULL)
            continue;
        sidik_sig_finger(best[f], &out->f[f], &out->scale[f]);
        usable += out->scale[f] > 0;
    }
    if (usable == 0) {
        if (why != NULL)
            *why = "no view with a finger position 1..10 and at least 6 minutiae";
        return SIDIK_ENOTFOUND;
    }
    return 0;
}

void sidik__sig_probe_init(sidik__sig_probe *p, const sidik_person_sig *s)
{
    pthread_once(&tables_once, tables_build);
    probe_build(p, s);
}

void sidik__sig_block_put_many(sidik__sig_block *b, int lane, const sidik_person_sig *s, int n,
                               const float (*offset)[SIDIK_SIG_FINGERS])
{
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        for (int j = 0; j < n; j++) {
            b->scale[f][lane + j] = s[j].scale[f];
            b->offset[f][lane + j] = offset != NULL ? offset[j][f] : 0;
        }
        /* Line by line, each line's lanes together: writing one person at
         * a time touched all 1,280 lines of the block (80 KB) per person,
         * a seventh of a cold start's CPU. */
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
            for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++)
                for (int j = 0; j < n; j++) {
                    /* The four bytes re, im of ring 2m and of ring 2m + 1
                     * as one word, each plus 128 (the sign bit flipped). */
                    _Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                                   "bytes in memory order");
                    uint16_t even, odd;
                    memcpy(&even, s[j].f[f].c[2 * m][k], sizeof even);
                    memcpy(&odd, s[j].f[f].c[2 * m + 1][k], sizeof odd);
                    uint32_t w = ((uint32_t)odd << 16 | even) ^ 0x80808080u;
                    memcpy(b->c[f][k][m][lane + j], &w, sizeof w);
                }
    }
}

void sidik__sig_block_put(sidik__sig_block *b, int lane, const sidik_person_sig *s)
{
    sidik__sig_block_put_many(b, lane, s, 1, NULL);
}

void sidik__sig_block_get(const sidik__sig_block *b, int lane, sidik_person_sig *s)
{
    memset(s, 0, sizeof *s);
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        s->scale[f] = b->scale[f][lane];
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
            for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
                const uint8_t *d = b->c[f][k][m][lane];
                s->f[f].c[2 * m][k][0] = (int8_t)(d[0] - 128);
                s->f[f].c[2 * m][k][1] = (int8_t)(d[1] - 128);
                s->f[f].c[2 * m + 1][k][0] = (int8_t)(d[2] - 128);
                s->f[f].c[2 * m + 1][k][1] = (int8_t)(d[3] - 128);
            }
    }
}

float sidik_sig_similarity(const sidik_finger_sig *a, float scale_a, const sidik_finger_sig *b,
                           float scale_b)
{
    if (!(scale_a > 0) || !(scale_b > 0))
        return 0;
    /* Lane 0 of the scan's rotation step, so this is the scan's value
     * exactly. */
    int32_t cre[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES] = {{0}};
    int32_t cim[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES] = {{0}};
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            int ar = a->c[m][k][0], ai = a->c[m][k][1], br = b->c[m][k][0], bi = b->c[m][k][1];
            cre[k][0] += ar * br + ai * bi;
            cim[k][0] += ai * br - ar * bi;
        }
    float best[SIDIK__SIG_LANES];
    sidik__sig_best_rotation(sidik__sig_tables_get(), cre, cim, best);
    return best[0] * (scale_a * scale_b);
}
