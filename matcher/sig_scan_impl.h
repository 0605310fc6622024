/*
 * The signature scan of one finger over one block of 16 persons, written
 * once in plain C and compiled once per SIMD level (kernel_scalar.c without
 * vectorisation: the oracle; the ISA files with their flags and -O3), like
 * kernel_impl.h. The products are integer (exact in any order); the rotation
 * step and the finger's addition into the totals are element-wise over the
 * lanes in one order. So every level returns bit-identical scores, and the
 * tests check it.
 *
 * Before including, define SCAN_NAME to the level's function name, and
 * optionally SIG_PRODUCTS(p, f, b, cre, cim): the level's own version of the
 * integer product loop below, for levels where the compiler's vectorisation
 * of it is poor; and SIG_ROTATION(tb, cre, cim, best), the level's own
 * sidik__sig_best_rotation (sig_rotation.h has them), giving the same bits.
 * The level's products may compute every lane (the scan only hands them
 * blocks whose 16 lanes are all published); the plain loop computes only
 * the first `lanes`, which is what a partly filled block needs.
 */
#include "sig_int.h"

static inline void sig_products_lanes(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                      int lanes, int32_t (*cre)[SIDIK__SIG_LANES],
                                      int32_t (*cim)[SIDIK__SIG_LANES])
{
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        for (int j = 0; j < SIDIK__SIG_LANES; j++) {
            cre[k][j] = -p->bias_re[f][k];
            cim[k][j] = -p->bias_im[f][k];
        }
        for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
            const int8_t *pr = p->re[f][k][m], *pi = p->im[f][k][m];
            for (int j = 0; j < lanes; j++) {
                const uint8_t *g = b->c[f][k][m][j];
                cre[k][j] += g[0] * pr[0] + g[1] * pr[1] + g[2] * pr[2] + g[3] * pr[3];
                cim[k][j] += g[0] * pi[0] + g[1] * pi[1] + g[2] * pi[2] + g[3] * pi[3];
            }
        }
    }
}

void SCAN_NAME(const sidik__sig_probe *p, int f, const sidik__sig_block *b, int lanes,
               float probe_offset, float *total, float *sim)
{
    int32_t cre[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES], cim[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES];
#ifdef SIG_PRODUCTS
    if (lanes == SIDIK__SIG_LANES)
        SIG_PRODUCTS(p, f, b, cre, cim);
    else
#endif
        sig_products_lanes(p, f, b, lanes, cre, cim);
    float best[SIDIK__SIG_LANES];
#ifdef SIG_ROTATION
    SIG_ROTATION(sidik__sig_tables_get(), cre, cim, best);
#else
    sidik__sig_best_rotation(sidik__sig_tables_get(), cre, cim, best);
#endif
    const float ps = p->scale[f];
    for (int j = 0; j < lanes; j++) {
        float gs = b->scale[f][j];
        float s = gs > 0 ? best[j] * (gs * ps) : 0;
        if (gs > 0)
            total[j] += ((s - SIDIK__SIG_IMPOSTOR_MEAN) - probe_offset) - b->offset[f][j];
        if (sim != NULL)
            sim[j] = s;
    }
}
