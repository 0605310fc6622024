/*
 * The signature's computation (sidik_sig_finger), written once in plain C
 * and built per instruction set: signature.c for baseline x86-64,
 * sig_build_avx2.c and sig_build_avx512.c with their flags and -O3, the
 * build chosen once for the CPU. Define SIG_BUILD(name) before including.
 *
 * Why it is fast: single precision throughout, sines and cosines from a
 * short polynomial instead of libm, every loop element-wise across the
 * lanes (rays, or ray and minutia pairs) or the 16 harmonics, so the
 * compiler turns each into whole vectors, opposite rays sharing their
 * phasors, and fused multiply-adds. About 2.6 us for a 38-minutia finger
 * with AVX-512 where the double-precision libm form it replaced took about
 * 135 us; bench_sig_scan prints every build's time.
 *
 * Why every build gives the same bytes: the loops are element-wise (sums
 * run in a fixed order per lane; the few reductions at the end are scalar
 * and ordered), the matcher is built with -ffp-contract=off and without
 * -ffast-math, and only correctly rounded operations are used (+, -, *, /,
 * sqrt, fused multiply-add written out as SIG_FMA or fmaf, conversions).
 * The vector builds run only where the CPU has FMA; the baseline build,
 * for CPUs without it, gets the same roundings from libm's fmaf, one call
 * a lane, and is the slow oracle (about 80 times the AVX-512 build's
 * time). tests/unit/matcher/test_signature.c compares the builds byte for
 * byte, and each against a double-precision reference.
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
 * float: x reduced by the nearest multiple of pi/2 (pi/2 split in three),
 * then minimax polynomials on [-pi/4, pi/4] and the quadrant's swap and
 * signs as selects. Correctly rounded operations only (fmaf among them,
 * see SIG_FMA), so a loop of it vectorises and every build rounds alike. */
static inline void sig_sincos(float x, float *s, float *c)
{
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float k = fmaf(x, 0.636619772f, round) - round;
    float r = fmaf(-k, 1.5703125f, x);
    r = fmaf(-k, 4.83751297e-4f, r);
    r = fmaf(-k, 7.54978995e-8f, r);
    float r2 = r * r;
    float ps =
        fmaf(r * r2, fmaf(r2, fmaf(r2, -1.95152959e-4f, 8.33216087e-3f), -1.66666546e-1f), r);
    float pc = fmaf(r2 * r2, fmaf(r2, fmaf(r2, 2.443315711e-5f, -1.388731625e-3f), 4.166664568e-2f),
                    fmaf(-0.5f, r2, 1.0f));
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

/* a * b + c rounded once, lane by lane. The AVX2 and AVX-512 builds use
 * the CPU's fused multiply-add (signature.c chooses them only where it has
 * one); the baseline build computes the same correctly rounded result
 * with fmaf, a lane at a time: slower, but the same bytes, as the builds
 * must give. Fused, the phasor recurrence below is 8 operations a step
 * where it was 14. A macro, for GCC's ABI warning on vector arguments. */
#if SIG_VEC == 16
#include <immintrin.h>
#define SIG_FMA(a, b, c) ((sig_vec)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif SIG_VEC == 8
#include <immintrin.h>
#define SIG_FMA(a, b, c) ((sig_vec)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
static inline sig_vec sig_fma_lanes(sig_vec a, sig_vec b, sig_vec c)
{
    sig_vec r;
    for (int l = 0; l < SIG_VEC; l++)
        r[l] = fmaf(a[l], b[l], c[l]);
    return r;
}
#define SIG_FMA(a, b, c) sig_fma_lanes(a, b, c)
#endif

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
/* Vectors of lanes stepped together through the rings: each ring's step
 * waits on the previous one (a multiplication, then a fused one), so
 * SIG_GROUPS x SIG_BLOCK independent recurrences keep the unit busy. All
 * three with AVX-512's 32 registers, two of AVX2's six (more would spill
 * its 16), one in the baseline build. With the fused steps, `bench_sig_scan
 * 1024 0.3` on the 2-core AMD EPYC VM: 2.6 us a finger with AVX-512 (3.0
 * before), 5.1 with AVX2 (5.6); the baseline build's fmaf calls, 210 us. */
#if SIG_VEC == 16
#define SIG_BLOCK SIG_CHUNKS
#elif SIG_VEC == 8
#define SIG_BLOCK 2
#else
#define SIG_BLOCK 1
#endif
_Static_assert(SIG_CHUNKS % SIG_BLOCK == 0, "whole blocks of vectors");

int SIG_BUILD(sig_finger)(const sidik_template *t, const sidik__sig_weights *w,
                          sidik_finger_sig *out, float *scale)
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
                    u[g][slot * SIG_HALF + n] = fmaf(mx[j], k->ray_c[n], my[j] * k->ray_s[n]);
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
        for (int c0 = 0; c0 < SIG_CHUNKS; c0 += SIG_BLOCK) {
            sig_vec vac[SIG_GROUPS][SIG_BLOCK], vas[SIG_GROUPS][SIG_BLOCK];
            sig_vec vpr[SIG_GROUPS][SIG_BLOCK], vpi[SIG_GROUPS][SIG_BLOCK];
            sig_vec vsr[SIG_GROUPS][SIG_BLOCK], vsi[SIG_GROUPS][SIG_BLOCK];
            for (int g = 0; g < SIG_GROUPS; g++)
                for (int b = 0; b < SIG_BLOCK; b++) {
                    const int l = (c0 + b) * SIG_VEC;
                    memcpy(&vac[g][b], &ac[g][l], sizeof vac[g][b]);
                    memcpy(&vas[g][b], &as[g][l], sizeof vas[g][b]);
                    memcpy(&vpr[g][b], &pr[g][l], sizeof vpr[g][b]);
                    memcpy(&vpi[g][b], &pi[g][l], sizeof vpi[g][b]);
                    memcpy(&vsr[g][b], &sr[g][l], sizeof vsr[g][b]);
                    memcpy(&vsi[g][b], &si[g][l], sizeof vsi[g][b]);
                }
            for (int m = 0; m < SIDIK_SIG_RINGS; m++)
                for (int b = 0; b < SIG_BLOCK; b++) {
                    const int l = (c0 + b) * SIG_VEC;
                    sig_vec sa, sb, se, sf;
                    memcpy(&sa, &rr[m][l], sizeof sa);
                    memcpy(&sb, &ii[m][l], sizeof sb);
                    memcpy(&se, &ri[m][l], sizeof se);
                    memcpy(&sf, &ir[m][l], sizeof sf);
                    for (int g = 0; g < SIG_GROUPS; g++) {
                        const sig_vec p_r = vpr[g][b], p_i = vpi[g][b];
                        sa = SIG_FMA(vac[g][b], p_r, sa);
                        sb = SIG_FMA(vas[g][b], p_i, sb);
                        se = SIG_FMA(vac[g][b], p_i, se);
                        sf = SIG_FMA(vas[g][b], p_r, sf);
                        vpr[g][b] = SIG_FMA(p_r, vsr[g][b], -(p_i * vsi[g][b]));
                        vpi[g][b] = SIG_FMA(p_r, vsi[g][b], p_i * vsr[g][b]);
                    }
                    memcpy(&rr[m][l], &sa, sizeof sa);
                    memcpy(&ii[m][l], &sb, sizeof sb);
                    memcpy(&ri[m][l], &se, sizeof se);
                    memcpy(&ir[m][l], &sf, sizeof sf);
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
            sp[m][n] = sqrtf(fmaf(re, re, im * im));
            sp[m][n + SIG_HALF] = sqrtf(fmaf(re2, re2, im2 * im2));
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
                    /* (adding a zero vector broadcasts a float) */
                    const sig_vec near = sp[m0 + r][n] + (sig_vec){0};
                    const sig_vec far = sp[m0 + r][n + SIG_HALF] + (sig_vec){0};
                    const sig_vec v = SIG_FMA(far, sign, near); /* exact: sign is +-1 */
                    ar[r][j] = SIG_FMA(v, c, ar[r][j]);
                    ai[r][j] = SIG_FMA(v, s, ai[r][j]);
                }
            }
        for (int r = 0; r < SIG_DFT_RINGS; r++) {
            for (int j = 0; j < SIG_HV; j++) { /* each term's weight (sig_int.h) */
                sig_vec wv;
                memcpy(&wv, &w->w[m0 + r][j * SIG_VEC], sizeof wv);
                ar[r][j] *= wv;
                ai[r][j] *= wv;
            }
            memcpy(fr[m0 + r], ar[r], sizeof ar[r]);
            memcpy(fi[m0 + r], ai[r], sizeof ai[r]);
            for (int j = 0; j < SIG_HV; j++)
                ek[j] = SIG_FMA(ar[r][j], ar[r][j], SIG_FMA(ai[r][j], ai[r][j], ek[j]));
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
            out->c[m][h][0] = (int8_t)(int)(fmaf(fr[m][h], q, round) - round);
            out->c[m][h][1] = (int8_t)(int)(fmaf(fi[m][h], q, round) - round);
        }
    *scale = peak / 127;
    return 0;
}

/* The probe form of a person (sidik__sig_probe_init, sig_int.h). Every
 * insert into a gallery with a cohort prepares the person this way, so it
 * is on the load path. Seen as (re, im) pairs of bytes, p->re[f][k] is
 * column k of the finger's ring x harmonic matrix: a transpose of 16 x 16
 * 16-bit pairs, done as four rounds of interleaving row i with row i + 8
 * (after four, rows are columns), each a two-vector shuffle the compiler
 * turns into one or two instructions. p->im is the same pairs turned to
 * (-im, re). Integer operations only: every build gives the same bytes.
 * (Written element by element it was 4% of a million-person cold start's
 * CPU.) */
typedef int16_t sig_row __attribute__((vector_size(32))); /* 16 pairs */
typedef int8_t sig_row8 __attribute__((vector_size(32))); /* the same 32 bytes */

/* The shuffles' lanes, GCC's and clang's __builtin_shufflevector taking
 * them as constants: of (a, b), lane i of a is i and of b 16 + i (32 + i
 * for bytes). */
#define SIG_LO8 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define SIG_HI8 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define SIG_SWAP                                                                                  \
    1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18, 21, 20, 23, 22, 25, 24, \
        27, 26, 29, 28, 31, 30
#define SIG_NEG_EVEN                                                                               \
    0, 33, 2, 35, 4, 37, 6, 39, 8, 41, 10, 43, 12, 45, 14, 47, 16, 49, 18, 51, 20, 53, 22, 55, 24, \
        57, 26, 59, 28, 61, 30, 63

void SIG_BUILD(sig_probe_init)(sidik__sig_probe *p, const sidik_person_sig *s)
{
    _Static_assert(sizeof p->re[0][0] == sizeof(sig_row), "a column is one row vector");
    _Static_assert(SIDIK_SIG_RINGS == 16 && SIDIK_SIG_HARMONICS == 16, "16 x 16 pairs");
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        p->scale[f] = s->scale[f];
        sig_row m[SIDIK_SIG_RINGS], sum_lo = {0}, sum_hi = {0};
        for (int r = 0; r < SIDIK_SIG_RINGS; r++) {
            sig_row8 b;
            memcpy(&b, s->f[f].c[r], sizeof b);
            /* sidik_sig_finger never writes -128; clamping keeps a negated
             * coefficient a byte whatever the input. */
            b -= b == -128;
            memcpy(&m[r], &b, sizeof b);
            sum_lo += (sig_row)(m[r] << 8) >> 8; /* the real bytes, widened */
            sum_hi += m[r] >> 8;                 /* the imaginary ones */
        }
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            p->bias_re[f][k] = 128 * (sum_lo[k] + sum_hi[k]);
            p->bias_im[f][k] = 128 * (sum_lo[k] - sum_hi[k]);
        }
        for (int round = 0; round < 4; round++) {
            sig_row t[SIDIK_SIG_RINGS];
            for (int i = 0; i < SIDIK_SIG_RINGS / 2; i++) {
                t[2 * i] = __builtin_shufflevector(m[i], m[i + 8], SIG_LO8);
                t[2 * i + 1] = __builtin_shufflevector(m[i], m[i + 8], SIG_HI8);
            }
            memcpy(m, t, sizeof m);
        }
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            /* Real part of g * conj(p): (br, bi); imaginary: (-bi, br). */
            sig_row8 re, turned;
            memcpy(&re, &m[k], sizeof re);
            turned = __builtin_shufflevector(re, re, SIG_SWAP);
            turned = __builtin_shufflevector(-turned, turned, SIG_NEG_EVEN);
            memcpy(p->re[f][k], &re, sizeof re);
            memcpy(p->im[f][k], &turned, sizeof turned);
        }
    }
}
