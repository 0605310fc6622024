/*
 * The signature scan, written once in plain C and compiled once per SIMD
 * level (sig_scan_scalar.c without vectorisation: the oracle; the ISA files
 * with their flags and -O3), like kernel_impl.h. The products are integer
 * (exact in any order); the rotation step is element-wise over float lanes;
 * the sum over fingers runs in finger order in every build. So every level
 * returns bit-identical scores, and the tests check it.
 *
 * Before including, define SCAN_NAME to the level's function name, and
 * optionally SIG_PRODUCTS(a, b, cre, cim): the level's own version of the
 * integer product loop below (a: the gallery finger's rings, b: the probe
 * finger's), for levels where the compiler's vectorisation of it is poor.
 */
#include "sig_int.h"

#ifndef SIG_PRODUCTS
static inline void sig_products(const int8_t (*a)[SIDIK_SIG_HARMONICS][2],
                                const int16_t (*b)[2][SIDIK_SIG_HARMONICS][2], int32_t *cre,
                                int32_t *cim)
{
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            int32_t ar = a[m][k][0], ai = a[m][k][1];
            cre[k] += ar * b[m][0][k][0] + ai * b[m][0][k][1];
            cim[k] += ar * b[m][1][k][0] + ai * b[m][1][k][1];
        }
}
#define SIG_PRODUCTS sig_products
#endif

void SCAN_NAME(const sidik__sig_probe *p, const sidik_person_sig *g, int count, float *out,
               float *fsim)
{
    const sidik__sig_tables *tb = sidik__sig_tables_get();
    for (int i = 0; i < count; i++) {
        const sidik_person_sig *gi = &g[i];
        float total = 0;
        for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
            float sim = 0;
            if (p->scale[f] > 0 && gi->scale[f] > 0) {
                int32_t cre[SIDIK_SIG_HARMONICS] = {0}, cim[SIDIK_SIG_HARMONICS] = {0};
                SIG_PRODUCTS(gi->f[f].c, p->p[f], cre, cim);
                sim = sidik__sig_best_rotation(tb, cre, cim) * (gi->scale[f] * p->scale[f]);
                total += sim - SIDIK__SIG_IMPOSTOR_MEAN;
            }
            if (fsim != NULL)
                fsim[i * SIDIK_SIG_FINGERS + f] = sim;
        }
        out[i] = total;
    }
}
