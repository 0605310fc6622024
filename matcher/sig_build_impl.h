/*
 * The signature's computation (sidik_sig_finger), written once in plain C
 * and built per instruction set: signature.c for baseline x86-64,
 * sig_build_avx2.c and sig_build_avx512.c with their flags and -O3, the
 * build chosen once for the CPU. Define SIG_BUILD(name) before including.
 *
 * Why it is fast: single precision throughout, sines and cosines from a
 * short polynomial instead of libm, every loop element-wise across the
 * lanes (rays, or ray and minutia pairs) or the 16 harmonics, so the
 * compiler turns each into whole vectors, and opposite rays sharing their
 * phasors. About 3 us for a 38-minutia finger with AVX-512 (11 us
 * baseline) where the double-precision libm form it replaced took about
 * 135 us; bench_sig_scan prints every build's time.
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
#define SIG_HALF      (SIG_ANGLES / 2) /* rays n and n + SIG_HALF are opposite */

/* Constants the builds share (sidik__sig_consts, signature.c). */
typedef struct sig_consts {
    float ray_c[SIG_ANGLES], ray_s[SIG_ANGLES]; /* each ray's direction */
    /* dft[n][k]: cos and -sin of harmonic k at ray n, k fastest so the
     * harmonics' sums run across a vector. */
    float dft_c[SIG_ANGLES][SIDIK_SIG_HARMONICS], dft_s[SIG_ANGLES][SIDIK_SIG_HARMONICS];
    float dft_sign[SIDIK_SIG_HARMONICS]; /* (-1)^k: harmonic k at ray n + 24 */
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

/* *dst = max(*dst, |a|) lane by lane, in bit operations (exact): the sign
 * bit cleared, then a select on |a| > *dst. A macro, as
 * SIDIK__F32X16_MAX_INTO is, for GCC's ABI warning. */
typedef int32_t sig_ivec __attribute__((vector_size(SIG_VEC * sizeof(int32_t))));
#define SIG_VEC_ABS_MAX_INTO(dst, a)                              \
    do {                                                          \
        sig_ivec ai_, di_;                                        \
        sig_vec abs_;                                             \
        __builtin_memcpy(&ai_, &(a), sizeof ai_);                 \
        ai_ &= 0x7fffffff;                                        \
        __builtin_memcpy(&abs_, &ai_, sizeof abs_);               \
        sig_ivec m_ = abs_ > *(dst);                              \
        __builtin_memcpy(&di_, (dst), sizeof di_);                \
        di_ = (ai_ & m_) | (di_ & ~m_);                           \
        __builtin_memcpy((dst), &di_, sizeof di_);                \
    } while (0)

/* The spectrum's lanes (see sig_finger): SIG_SLOTS minutiae side by side,
 * SIG_HALF rays each, and SIG_GROUPS minutiae per slot and pass. */
#define SIG_SLOTS  2
#define SIG_GROUPS 2
#define SIG_LANES  (SIG_SLOTS * SIG_HALF)
#define SIG_CHUNKS (SIG_LANES / SIG_VEC)
_Static_assert(SIG_LANES % SIG_VEC == 0, "the lanes fill whole vectors");

int SIG_BUILD(sig_finger)(const sidik_template *t, sidik_finger_sig *out, float *scale)
{
    const sig_consts *k = sidik__sig_consts();
    const float two_pi = 6.28318530718f;
    const float dl = (SIG_LAMBDA_HI - SIG_LAMBDA_LO) / (SIDIK_SIG_RINGS - 1);

    /* The complex spectrum on the polar grid, summed over the minutiae:
     * S(m, n) = sum of e^(i theta) e^(-i lambda_m u_n), u_n the minutia's
     * position along ray n. Ray n + SIG_HALF points the other way (u is
     * negated), so with P = e^(-i lambda_m u_n) its term is e^(i theta)
     * conj(P): four real sums give both rays, and the phasors are computed
     * for half of the rays only.
     *
     * Lanes are (slot, half ray): SIG_SLOTS minutiae side by side, each
     * slot summing its own share of the minutiae, the slots added at the
     * end. A pass takes SIG_GROUPS minutiae per slot, so each sum is
     * loaded and stored once for all of them; the last pass fills its
     * empty places with minutiae of weight zero, whose products are exact
     * zeros. */
    float rr[SIDIK_SIG_RINGS][SIG_LANES] __attribute__((aligned(64)));
    float ii[SIDIK_SIG_RINGS][SIG_LANES] __attribute__((aligned(64)));
    float ri[SIDIK_SIG_RINGS][SIG_LANES] __attribute__((aligned(64)));
    float ir[SIDIK_SIG_RINGS][SIG_LANES] __attribute__((aligned(64)));
    memset(rr, 0, sizeof rr);
    memset(ii, 0, sizeof ii);
    memset(ri, 0, sizeof ri);
    memset(ir, 0, sizeof ir);
    /* Each minutia's position and direction as floats, in whole passes:
     * the places after the last minutia have weight zero. */
    const int per_pass = SIG_SLOTS * SIG_GROUPS;
    const int count = (t->count + per_pass - 1) / per_pass * per_pass;
    float mx[SIDIK_TMPL_MAX_MINUTIAE + SIG_SLOTS * SIG_GROUPS];
    float my[SIDIK_TMPL_MAX_MINUTIAE + SIG_SLOTS * SIG_GROUPS];
    float mc[SIDIK_TMPL_MAX_MINUTIAE + SIG_SLOTS * SIG_GROUPS];
    float ms[SIDIK_TMPL_MAX_MINUTIAE + SIG_SLOTS * SIG_GROUPS];
    for (int i = 0; i < count; i++) {
        const sidik_minutia *mi = &t->m[i < t->count ? i : 0];
        mx[i] = mi->x;
        my[i] = mi->y;
        sig_sincos((float)mi->angle * (two_pi / 256), &ms[i], &mc[i]);
        if (i >= t->count)
            mc[i] = ms[i] = 0;
    }
    for (int i = 0; i < count; i += per_pass) {
        float ac[SIG_GROUPS][SIG_LANES], as[SIG_GROUPS][SIG_LANES];
        float pr[SIG_GROUPS][SIG_LANES], pi[SIG_GROUPS][SIG_LANES];
        float sr[SIG_GROUPS][SIG_LANES], si[SIG_GROUPS][SIG_LANES];
        float u[SIG_GROUPS][SIG_LANES];
        for (int g = 0; g < SIG_GROUPS; g++)
            for (int slot = 0; slot < SIG_SLOTS; slot++) {
                const int j = i + g * SIG_SLOTS + slot;
                for (int n = 0; n < SIG_HALF; n++) {
                    ac[g][slot * SIG_HALF + n] = mc[j];
                    as[g][slot * SIG_HALF + n] = ms[j];
                    u[g][slot * SIG_HALF + n] = mx[j] * k->ray_c[n] + my[j] * k->ray_s[n];
                }
            }
        /* Along a ray the phase grows linearly with the ring, so each
         * ring's phasor is the previous one turned by a fixed step: two
         * sincos per minutia and half ray instead of 32. */
        for (int g = 0; g < SIG_GROUPS; g++)
            for (int l = 0; l < SIG_LANES; l++) {
                float ps, qs;
                sig_sincos(SIG_LAMBDA_LO * u[g][l], &ps, &pr[g][l]);
                sig_sincos(dl * u[g][l], &qs, &sr[g][l]);
                pi[g][l] = -ps;
                si[g][l] = -qs;
            }
        for (int c = 0; c < SIG_CHUNKS; c++) {
            sig_vec vac[SIG_GROUPS], vas[SIG_GROUPS], vpr[SIG_GROUPS], vpi[SIG_GROUPS];
            sig_vec vsr[SIG_GROUPS], vsi[SIG_GROUPS];
            for (int g = 0; g < SIG_GROUPS; g++) {
                memcpy(&vac[g], &ac[g][c * SIG_VEC], sizeof vac[g]);
                memcpy(&vas[g], &as[g][c * SIG_VEC], sizeof vas[g]);
                memcpy(&vpr[g], &pr[g][c * SIG_VEC], sizeof vpr[g]);
                memcpy(&vpi[g], &pi[g][c * SIG_VEC], sizeof vpi[g]);
                memcpy(&vsr[g], &sr[g][c * SIG_VEC], sizeof vsr[g]);
                memcpy(&vsi[g], &si[g][c * SIG_VEC], sizeof vsi[g]);
            }
            for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
                sig_vec a, b, e, f;
                memcpy(&a, &rr[m][c * SIG_VEC], sizeof a);
                memcpy(&b, &ii[m][c * SIG_VEC], sizeof b);
                memcpy(&e, &ri[m][c * SIG_VEC], sizeof e);
                memcpy(&f, &ir[m][c * SIG_VEC], sizeof f);
                for (int g = 0; g < SIG_GROUPS; g++) {
                    a += vac[g] * vpr[g];
                    b += vas[g] * vpi[g];
                    e += vac[g] * vpi[g];
                    f += vas[g] * vpr[g];
                    sig_vec nr = vpr[g] * vsr[g] - vpi[g] * vsi[g];
                    vpi[g] = vpr[g] * vsi[g] + vpi[g] * vsr[g];
                    vpr[g] = nr;
                }
                memcpy(&rr[m][c * SIG_VEC], &a, sizeof a);
                memcpy(&ii[m][c * SIG_VEC], &b, sizeof b);
                memcpy(&ri[m][c * SIG_VEC], &e, sizeof e);
                memcpy(&ir[m][c * SIG_VEC], &f, sizeof f);
            }
        }
    }

    /* Its magnitude, less the grid's mean so the correlation the scan
     * computes is a centred (Pearson-like) one. The mean is summed per ray,
     * then over the rays in order. */
    float sp[SIDIK_SIG_RINGS][SIG_ANGLES], ray_sum[SIG_ANGLES] = {0};
    for (int m = 0; m < SIDIK_SIG_RINGS; m++) {
        const float *srr = rr[m], *sii = ii[m], *sri = ri[m], *sir = ir[m];
        for (int n = 0; n < SIG_HALF; n++) {
            _Static_assert(SIG_SLOTS == 2, "the slots' sums are added here");
            const float r_r = srr[n] + srr[SIG_HALF + n], i_i = sii[n] + sii[SIG_HALF + n];
            const float r_i = sri[n] + sri[SIG_HALF + n], i_r = sir[n] + sir[SIG_HALF + n];
            const float re = r_r - i_i, im = r_i + i_r, re2 = r_r + i_i, im2 = i_r - r_i;
            sp[m][n] = sqrtf(re * re + im * im);
            sp[m][n + SIG_HALF] = sqrtf(re2 * re2 + im2 * im2);
        }
    }
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int n = 0; n < SIG_ANGLES; n++)
            ray_sum[n] += sp[m][n];
    float mean = 0;
    for (int n = 0; n < SIG_ANGLES; n++)
        mean += ray_sum[n];
    mean /= SIDIK_SIG_RINGS * SIG_ANGLES;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int n = 0; n < SIG_ANGLES; n++)
            sp[m][n] -= mean;

    /* Angular harmonics of each ring; harmonic k > 0 stands for itself and
     * its mirror -k (the spectrum is real), hence the energy weight 2. */
    float fr[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS], fi[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS];
    float energy_k[SIDIK_SIG_HARMONICS];
    sig_vec ek[SIG_HV] = {{0}};
    for (int m0 = 0; m0 < SIDIK_SIG_RINGS; m0 += SIG_DFT_RINGS) {
        sig_vec ar[SIG_DFT_RINGS][SIG_HV] = {{{0}}}, ai[SIG_DFT_RINGS][SIG_HV] = {{{0}}};
        /* Ray n + 24's term of harmonic k is ray n's times (-1)^k, so the
         * sum runs over 24 rays of v_n + (-1)^k v_(n+24), the sign a
         * multiplication by +-1 (exact) per lane. */
        for (int n = 0; n < SIG_HALF; n++)
            for (int j = 0; j < SIG_HV; j++) {
                /* One vector at a time straight from the table: copied
                 * as a whole array, GCC went through the stack in halves
                 * and stalled each load on the store it forwards from. */
                sig_vec c, s, sign;
                memcpy(&c, &k->dft_c[n][j * SIG_VEC], sizeof c);
                memcpy(&s, &k->dft_s[n][j * SIG_VEC], sizeof s);
                memcpy(&sign, &k->dft_sign[j * SIG_VEC], sizeof sign);
                for (int r = 0; r < SIG_DFT_RINGS; r++) {
                    const sig_vec v = sp[m0 + r][n] + sp[m0 + r][n + SIG_HALF] * sign;
                    ar[r][j] += v * c;
                    ai[r][j] += v * s;
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
    /* The peak per lane, then over the lanes: magnitudes and maxima are
     * exact, so any order gives the same peak. */
    sig_vec lane_peak = {0};
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int j = 0; j < SIG_HV; j++) {
            sig_vec a, b;
            memcpy(&a, &fr[m][j * SIG_VEC], sizeof a);
            memcpy(&b, &fi[m][j * SIG_VEC], sizeof b);
            a *= norm;
            b *= norm;
            memcpy(&fr[m][j * SIG_VEC], &a, sizeof a);
            memcpy(&fi[m][j * SIG_VEC], &b, sizeof b);
            SIG_VEC_ABS_MAX_INTO(&lane_peak, a);
            SIG_VEC_ABS_MAX_INTO(&lane_peak, b);
        }
    float peak_lanes[SIG_VEC], peak = 0;
    memcpy(peak_lanes, &lane_peak, sizeof peak_lanes);
    for (int j = 0; j < SIG_VEC; j++)
        peak = peak_lanes[j] > peak ? peak_lanes[j] : peak;
    const float q = 127 / peak, round = 12582912.0f;
    for (int m = 0; m < SIDIK_SIG_RINGS; m++)
        for (int h = 0; h < SIDIK_SIG_HARMONICS; h++) {
            out->c[m][h][0] = (int8_t)(int)((fr[m][h] * q + round) - round);
            out->c[m][h][1] = (int8_t)(int)((fi[m][h] * q + round) - round);
        }
    *scale = peak / 127;
    return 0;
}
