/*
 * The signature's computation (sidik_sig_finger), written once in plain C
 * and built per instruction set: signature.c for baseline x86-64,
 * sig_build_avx2.c and sig_build_avx512.c with their flags and -O3, the
 * build chosen once for the CPU. Define SIG_BUILD(name) before including.
 *
 * Why it is fast: single precision throughout, sines and cosines from a
 * short polynomial instead of libm, and every loop element-wise across the
 * 48 rays or the 16 harmonics, so the compiler turns each into whole
 * vectors. About 4 us for a 38-minutia finger with AVX-512 (18 us baseline)
 * where the double-precision libm form it replaced took about 135 us;
 * bench_sig_scan prints every build's time.
 *
 * Why every build gives the same bytes: the loops are element-wise (sums
 * run in a fixed order per lane; the few reductions at the end are scalar
 * and ordered), the matcher is built with -ffp-contract=off and without
 * -ffast-math, and only correctly rounded operations are used (+, -, *, /,
 * sqrt, conversions). tests/unit/matcher/test_signature.c compares the
 * builds byte for byte, and each against a double-precision reference.
 */
#include "sig_int.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The band: below 0.03 rad/px (wavelengths above 200 px, the size of the
 * whole print) the spectrum is dominated by how much of the finger was
 * captured; above 0.20 it follows minutia positions too finely to survive
 * skin distortion and missing minutiae. 48 angles resolve the 16 harmonics
 * kept. docs/search.md has the sweep. */
#define SIG_LAMBDA_LO 0.03f
#define SIG_LAMBDA_HI 0.20f
#define SIG_ANGLES    48

/* Constants the builds share (sidik__sig_consts, signature.c). */
typedef struct sig_consts {
    float ray_c[SIG_ANGLES], ray_s[SIG_ANGLES]; /* each ray's direction */
    /* dft[n][k]: cos and -sin of harmonic k at ray n, k fastest so the
     * harmonics' sums run across a vector. */
    float dft_c[SIG_ANGLES][SIDIK_SIG_HARMONICS], dft_s[SIG_ANGLES][SIDIK_SIG_HARMONICS];
} sig_consts;

const sig_consts *sidik__sig_consts(void);

/* sin and cos of x for |x| < 2^12, to a few units in the last place of a
 * float: x reduced by the nearest multiple of pi/2 (pi/2 split in three so
 * the products are exact), then minimax polynomials on [-pi/4, pi/4] and
 * the quadrant's swap and signs as selects. Plain arithmetic only, so a
 * loop of it vectorises and every build rounds alike. */
static inline void sig_sincos(float x, float *s, float *c)
{
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float k = (x * 0.636619772f + round) - round;
    float r = x - k * 1.5703125f;
    r = r - k * 4.83751297e-4f;
    r = r - k * 7.54978995e-8f;
    float r2 = r * r;
    float ps = r + r * r2 * (-1.66666546e-1f + r2 * (8.33216087e-3f + r2 * -1.95152959e-4f));
    float pc = 1.0f - 0.5f * r2 +
               r2 * r2 * (4.166664568e-2f + r2 * (-1.388731625e-3f + r2 * 2.443315711e-5f));
    int q = (int)k;
    float sv = (q & 1) ? pc : ps, cv = (q & 1) ? ps : pc;
    *s = (q & 2) ? -sv : sv;
    *c = ((q + 1) & 2) ? -cv : cv;
}

/* The harmonics' sums use GCC's generic vectors of SIG_VEC floats (the
 * including file sets it to its registers' width; 4 by default), lane by
 * lane the same IEEE operations at any width. SIG_DFT_RINGS rings are
 * summed together so eight independent chains stay in registers. */
#ifndef SIG_VEC
#define SIG_VEC 4
#endif
#define SIG_DFT_RINGS (SIG_VEC / 4 < 1 ? 1 : SIG_VEC / 4)
#define SIG_HV        (SIDIK_SIG_HARMONICS / SIG_VEC) /* vectors per ring */
typedef float sig_vec __attribute__((vector_size(SIG_VEC * sizeof(float))));

int SIG_BUILD(sig_finger)(const sidik_template *t, sidik_finger_sig *out, float *scale)
{
    const sig_consts *k = sidik__sig_consts();
    const float two_pi = 6.28318530718f;
    const float dl = (SIG_LAMBDA_HI - SIG_LAMBDA_LO) / (SIDIK_SIG_RINGS - 1);

    /* The complex spectrum on the polar grid, summed over the minutiae. */
    float re[SIDIK_SIG_RINGS][SIG_ANGLES], im[SIDIK_SIG_RINGS][SIG_ANGLES];
    memset(re, 0, sizeof re);
    memset(im, 0, sizeof im);
    for (int i = 0; i < t->count; i++) {
        const float x = t->m[i].x, y = t->m[i].y, th = (float)t->m[i].angle * (two_pi / 256);
        /* Along a ray the phase theta - lambda u grows linearly with the
         * ring, so each ring's phasor is the previous one turned by a fixed
         * step: two sincos per minutia and ray instead of 16. */
        float pr[SIG_ANGLES], pi[SIG_ANGLES], sr[SIG_ANGLES], si[SIG_ANGLES];
        for (int n = 0; n < SIG_ANGLES; n++) {
            float u = x * k->ray_c[n] + y * k->ray_s[n];
            float ms;
            sig_sincos(th - SIG_LAMBDA_LO * u, &pi[n], &pr[n]);
            sig_sincos(dl * u, &ms, &sr[n]);
            si[n] = -ms;
        }
        for (int m = 0; m < SIDIK_SIG_RINGS; m++)
            for (int n = 0; n < SIG_ANGLES; n++) {
                re[m][n] += pr[n];
                im[m][n] += pi[n];
                float nr = pr[n] * sr[n] - pi[n] * si[n];
                pi[n] = pr[n] * si[n] + pi[n] * sr[n];
                pr[n] = nr;
            }
    }

    /* Its magnitude, less the grid's mean so the correlation the scan
     * computes is a centred (Pearson-like) one. The mean is summed per ray,
     * then over the rays in order. */
    float sp[SIDIK_SIG_RINGS][SIG_ANGLES], ray_sum[SIG_ANGLES] = {0};
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int n = 0; n < SIG_ANGLES; n++) {
            sp[m][n] = sqrtf(re[m][n] * re[m][n] + im[m][n] * im[m][n]);
            ray_sum[n] += sp[m][n];
        }
    float mean = 0;
    for (int n = 0; n < SIG_ANGLES; n++)
        mean += ray_sum[n];
    mean /= SIDIK_SIG_RINGS * SIG_ANGLES;

    /* Angular harmonics of each ring; harmonic k > 0 stands for itself and
     * its mirror -k (the spectrum is real), hence the energy weight 2. */
    float fr[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS], fi[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS];
    float energy_k[SIDIK_SIG_HARMONICS];
    sig_vec ek[SIG_HV] = {{0}};
    for (int m0 = 0; m0 < SIDIK_SIG_RINGS; m0 += SIG_DFT_RINGS) {
        sig_vec ar[SIG_DFT_RINGS][SIG_HV] = {{{0}}}, ai[SIG_DFT_RINGS][SIG_HV] = {{{0}}};
        for (int n = 0; n < SIG_ANGLES; n++) {
            sig_vec c[SIG_HV], s[SIG_HV];
            memcpy(c, k->dft_c[n], sizeof c);
            memcpy(s, k->dft_s[n], sizeof s);
            for (int r = 0; r < SIG_DFT_RINGS; r++) {
                const float v = sp[m0 + r][n] - mean;
                for (int j = 0; j < SIG_HV; j++) {
                    ar[r][j] += v * c[j];
                    ai[r][j] += v * s[j];
                }
            }
        }
        for (int r = 0; r < SIG_DFT_RINGS; r++) {
            memcpy(fr[m0 + r], ar[r], sizeof ar[r]);
            memcpy(fi[m0 + r], ai[r], sizeof ai[r]);
            for (int j = 0; j < SIG_HV; j++)
                ek[j] += ar[r][j] * ar[r][j] + ai[r][j] * ai[r][j];
        }
    }
    memcpy(energy_k, ek, sizeof energy_k);
    float energy = energy_k[0];
    for (int h = 1; h < SIDIK_SIG_HARMONICS; h++)
        energy += 2 * energy_k[h];
    if (!(energy > 0))
        return 0;

    /* Unit energy, then bytes scaled so the largest coefficient is 127. */
    const float norm = 1 / sqrtf(energy);
    float peak = 0;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int h = 0; h < SIDIK_SIG_HARMONICS; h++) {
            fr[m][h] *= norm;
            fi[m][h] *= norm;
            float a = fabsf(fr[m][h]), b = fabsf(fi[m][h]);
            a = a > b ? a : b;
            peak = a > peak ? a : peak;
        }
    const float q = 127 / peak, round = 12582912.0f;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int h = 0; h < SIDIK_SIG_HARMONICS; h++) {
            out->c[m][h][0] = (int8_t)(int)((fr[m][h] * q + round) - round);
            out->c[m][h][1] = (int8_t)(int)((fi[m][h] * q + round) - round);
        }
    *scale = peak / 127;
    return 0;
}
