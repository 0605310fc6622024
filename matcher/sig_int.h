/*
 * Private to matcher/: the signature's rotation tables, a probe's signature
 * in the form the scan multiplies, and the scan kernel every SIMD level
 * provides.
 */
#ifndef SIDIK_MATCHER_SIG_INT_H
#define SIDIK_MATCHER_SIG_INT_H

#include <stdint.h>

#include "sidik/cpu.h"
#include "sidik/signature.h"

/* Mean similarity of two different persons' fingers at the same position
 * (sidik_synth population: 0.0903 over 800 persons of seed 7, each with the
 * next, `bench_sig_weights`; 0.109 before the signature had weights):
 * subtracted from every finger's similarity before the fingers are summed,
 * so a finger absent on either side counts as an average impostor finger,
 * neither for nor against. docs/search.md. */
#define SIDIK__SIG_IMPOSTOR_MEAN 0.09f

/* The scan reads the gallery in blocks of 16 persons laid out for SIMD:
 * lanes are persons. Per finger, harmonic and pair of rings, one 64-byte
 * vector holds each lane's four coefficients (re, im of the even ring, re,
 * im of the odd ring) as unsigned bytes, value + 128, so one VPDPBUSD
 * (unsigned x signed bytes, four products summed into each 32-bit lane)
 * multiplies 16 persons by the probe's matching four bytes. The +128 is
 * taken off exactly afterwards: the probe's bytes summed times 128. */
#define SIDIK__SIG_LANES      16
#define SIDIK__SIG_RING_PAIRS (SIDIK_SIG_RINGS / 2)

typedef struct sidik__sig_block {
    uint8_t c[SIDIK_SIG_FINGERS][SIDIK_SIG_HARMONICS][SIDIK__SIG_RING_PAIRS][SIDIK__SIG_LANES][4];
    float scale[SIDIK_SIG_FINGERS][SIDIK__SIG_LANES]; /* 0: absent */
    /* The person's cohort offset per finger (sidik_gallery_set_cohort):
     * its mean similarity to the cohort's fingers at that position, less
     * SIDIK__SIG_IMPOSTOR_MEAN; 0 without a cohort. */
    float offset[SIDIK_SIG_FINGERS][SIDIK__SIG_LANES];
} sidik__sig_block;

_Static_assert(sizeof(sidik__sig_block) % 64 == 0, "blocks stay cache-line aligned in an array");

/* Lane `lane` of b: written from s (its offsets set to 0), read back into
 * s. */
void sidik__sig_block_put(sidik__sig_block *b, int lane, const sidik_person_sig *s);
/* Lanes lane..lane + n - 1 of b from s[0..n), with their cohort offsets
 * (NULL: 0), a cache line at a time. */
void sidik__sig_block_put_many(sidik__sig_block *b, int lane, const sidik_person_sig *s, int n,
                               const float (*offset)[SIDIK_SIG_FINGERS]);
void sidik__sig_block_get(const sidik__sig_block *b, int lane, sidik_person_sig *s);

/* A probe finger in the form the products want: for each harmonic and ring
 * pair, the four signed bytes a gallery dword is multiplied by to give the
 * real part of g * conj(p) (br, bi, br', bi') and its imaginary part
 * (-bi, br, -bi', br'); and, per harmonic, 128 times each form's byte sum.
 * Coefficients are quantised to [-127, 127], so -bi always fits a byte. */
typedef struct sidik__sig_probe {
    int8_t re[SIDIK_SIG_FINGERS][SIDIK_SIG_HARMONICS][SIDIK__SIG_RING_PAIRS][4];
    int8_t im[SIDIK_SIG_FINGERS][SIDIK_SIG_HARMONICS][SIDIK__SIG_RING_PAIRS][4];
    int32_t bias_re[SIDIK_SIG_FINGERS][SIDIK_SIG_HARMONICS];
    int32_t bias_im[SIDIK_SIG_FINGERS][SIDIK_SIG_HARMONICS];
    float scale[SIDIK_SIG_FINGERS]; /* 0: absent */
} sidik__sig_probe;

void sidik__sig_probe_init(sidik__sig_probe *p, const sidik_person_sig *s);

/* The rotation tables: 9 rotations within +-36 degrees are 0 and four
 * pairs +-a. With A = sum over k of w_k re_k cos(k a) and B = sum of
 * w_k im_k sin(k a) (w_k = 2 for k > 0: harmonic k stands for itself and its
 * mirror -k, the spectrum being real), the correlation at +a is A - B and
 * at -a is A + B: one pass over the harmonics serves both.
 *
 * The sums are integer: each harmonic's cross product (below 2^19 in
 * magnitude: 16 rings x 2 products of at most 128 x 127) shifted right by
 * SIDIK__SIG_ROT_SHIFT fits 16 bits, the weights are Q12 (at most 8192), so
 * 16 products sum below 2^31 and two harmonics at a time are one PMADDWD or
 * VPDPWSSD per 16-bit pair, at every SIMD level, exactly. The shift drops
 * what is far below the signature's own int8 rounding; the result is scaled
 * back by SIDIK__SIG_ROT_UNSCALE, so similarities keep their float scale.
 * In float, the rotations took a third of the scan (docs/search.md). */
#define SIDIK__SIG_ROT_PAIRS   ((SIDIK_SIG_ROTATIONS - 1) / 2)
#define SIDIK__SIG_ROT_SHIFT   5
#define SIDIK__SIG_ROT_HALF    (1 << (SIDIK__SIG_ROT_SHIFT - 1))
#define SIDIK__SIG_ROT_ONE     4096 /* Q12 */
#define SIDIK__SIG_ROT_UNSCALE (1.0f / (SIDIK__SIG_ROT_ONE >> SIDIK__SIG_ROT_SHIFT))

typedef struct sidik__sig_tables {
    /* Q12, harmonics 2j and 2j + 1 adjacent: read as one int32, a pair is
     * the 16-bit pair PMADDWD multiplies. */
    int16_t w[SIDIK_SIG_HARMONICS];                         /* w_k */
    int16_t cos[SIDIK__SIG_ROT_PAIRS][SIDIK_SIG_HARMONICS]; /* w_k cos(k a) */
    int16_t sin[SIDIK__SIG_ROT_PAIRS][SIDIK_SIG_HARMONICS]; /* w_k sin(k a) */
} sidik__sig_tables;

_Static_assert((int64_t)(1 << (19 - SIDIK__SIG_ROT_SHIFT)) * 2 * SIDIK__SIG_ROT_ONE *
                       SIDIK_SIG_HARMONICS <=
                   INT32_MAX + 1ll,
               "the rotation's integer sums cannot overflow");

const sidik__sig_tables *sidik__sig_tables_get(void);

/* The weight of each ring and harmonic of the signature, applied to its
 * coefficients before they are scaled to unit energy, so the correlation
 * the scan computes counts each term by how well it tells mates from
 * impostors. Each entry is the square root of (genuine mean - impostor mean)
 * / variance of that term's share of the correlation, measured on synthetic
 * persons and scaled to a mean weight of 1 (bench_sig_weights prints the
 * table and what it does; docs/search.md). */
typedef struct sidik__sig_weights {
    float w[SIDIK_SIG_RINGS][SIDIK_SIG_HARMONICS];
} sidik__sig_weights;

extern const sidik__sig_weights sidik__sig_weights_product; /* sig_weights.c */

/* sidik_sig_finger's computation per build (sig_build_impl.h), for a
 * template of at least SIDIK_SIG_MIN_MINUTIAE minutiae and out zeroed;
 * exposed so the tests can compare the builds. Call a build only where the
 * CPU has its instruction set. */
int sidik__sig_finger_base(const sidik_template *t, const sidik__sig_weights *w,
                           sidik_finger_sig *out, float *scale);
int sidik__sig_finger_avx2(const sidik_template *t, const sidik__sig_weights *w,
                           sidik_finger_sig *out, float *scale);
int sidik__sig_finger_avx512(const sidik_template *t, const sidik__sig_weights *w,
                             sidik_finger_sig *out, float *scale);
/* sidik_sig_finger with weights w (the build chosen for the CPU):
 * bench_sig_weights derives the weights from unweighted signatures. */
int sidik__sig_finger_weighted(const sidik_template *t, const sidik__sig_weights *w,
                               sidik_finger_sig *out, float *scale);
/* sidik__sig_probe_init per build, likewise. */
void sidik__sig_probe_init_base(sidik__sig_probe *p, const sidik_person_sig *s);
void sidik__sig_probe_init_avx2(sidik__sig_probe *p, const sidik_person_sig *s);
void sidik__sig_probe_init_avx512(sidik__sig_probe *p, const sidik_person_sig *s);

/* 16 lanes as one value: GCC's generic vectors, lowered to whatever each
 * build's ISA has (one AVX-512 register, two AVX2, four SSE, or scalar
 * code), always element-wise with the same IEEE operations per lane. */
typedef float sidik__f32x16 __attribute__((vector_size(64)));
typedef int32_t sidik__i32x16 __attribute__((vector_size(64)));

/* *dst = max(*dst, a) lane by lane, as a bitwise select on a > *dst, which
 * is exact. A macro: vector arguments would trip GCC's ABI warning in
 * builds without AVX-512. */
#define SIDIK__F32X16_MAX_INTO(dst, a)                            \
    do {                                                          \
        sidik__f32x16 a_ = (a);                                   \
        sidik__i32x16 m_ = a_ > *(dst), ai_, di_;                 \
        __builtin_memcpy(&ai_, &a_, sizeof ai_);                  \
        __builtin_memcpy(&di_, (dst), sizeof di_);                \
        di_ = (ai_ & m_) | (di_ & ~m_);                           \
        __builtin_memcpy((dst), &di_, sizeof di_);                \
    } while (0)

/* The best rotation's correlation of the lanes' harmonic cross products
 * (cre, cim: [harmonic][lane]) into best[lane]: the oracle every level's
 * SIG_ROTATION must equal. Integer sums (exact in any order), then per lane
 * the same float operations: conversion, A - B and A + B, maxima (exact),
 * and the unscaling by a power of two. */
static inline void sidik__sig_best_rotation(const sidik__sig_tables *tb,
                                            const int32_t (*cre)[SIDIK__SIG_LANES],
                                            const int32_t (*cim)[SIDIK__SIG_LANES], float *best)
{
    int32_t re[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES], im[SIDIK_SIG_HARMONICS][SIDIK__SIG_LANES];
    int32_t v[SIDIK__SIG_LANES] = {0};
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
        for (int j = 0; j < SIDIK__SIG_LANES; j++) {
            /* Rounded to nearest (ties up); >> of a negative value is
             * arithmetic in GCC and Clang. */
            re[k][j] = (cre[k][j] + SIDIK__SIG_ROT_HALF) >> SIDIK__SIG_ROT_SHIFT;
            im[k][j] = (cim[k][j] + SIDIK__SIG_ROT_HALF) >> SIDIK__SIG_ROT_SHIFT;
            v[j] += re[k][j] * tb->w[k];
        }
    sidik__f32x16 bv;
    sidik__i32x16 iv;
    __builtin_memcpy(&iv, v, sizeof iv);
    bv = __builtin_convertvector(iv, sidik__f32x16);
    for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
        int32_t a[SIDIK__SIG_LANES] = {0}, b[SIDIK__SIG_LANES] = {0};
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++)
            for (int j = 0; j < SIDIK__SIG_LANES; j++) {
                a[j] += re[k][j] * tb->cos[r][k];
                b[j] += im[k][j] * tb->sin[r][k];
            }
        sidik__i32x16 ia, ib;
        __builtin_memcpy(&ia, a, sizeof ia);
        __builtin_memcpy(&ib, b, sizeof ib);
        sidik__f32x16 fa = __builtin_convertvector(ia, sidik__f32x16);
        sidik__f32x16 fb = __builtin_convertvector(ib, sidik__f32x16);
        sidik__f32x16 plus = fa - fb;
        SIDIK__F32X16_MAX_INTO(&plus, fa + fb);
        SIDIK__F32X16_MAX_INTO(&bv, plus);
    }
    bv *= SIDIK__SIG_ROT_UNSCALE;
    __builtin_memcpy(best, &bv, sizeof bv);
}

/* One finger f of the probe against the first `lanes` persons of block b
 * (lanes 1..16; lanes past it are never read): for every lane whose finger
 * is present, total[lane] += ((similarity - SIDIK__SIG_IMPOSTOR_MEAN) -
 * probe_offset) - the lane's offset, in that order, the similarity being
 * sidik_sig_similarity's value exactly; sim[lane] (when not NULL) gets the
 * similarity, 0 where absent. probe_offset is the probe finger's cohort
 * offset (0 without a cohort, which leaves similarity - mean exactly). The
 * probe's finger must be present. Fingers are added in the caller's order,
 * so summing them 0..9 gives the same total at every level. */
typedef void (*sidik__sig_scan_fn)(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                   int lanes, float probe_offset, float *total, float *sim);

#define SIDIK__DECLARE_SIG_SCAN(sfx)                                                        \
    void sidik__sig_scan_##sfx(const sidik__sig_probe *p, int f, const sidik__sig_block *b, \
                               int lanes, float probe_offset, float *total, float *sim);
SIDIK__DECLARE_SIG_SCAN(scalar)
SIDIK__DECLARE_SIG_SCAN(sse42)
SIDIK__DECLARE_SIG_SCAN(avx2)
SIDIK__DECLARE_SIG_SCAN(avx512)
SIDIK__DECLARE_SIG_SCAN(avx512vnni)

/* The scan for level: at avx512, the VPDPBUSD kernel when the CPU has
 * AVX512-VNNI. NULL for an unknown level. */
sidik__sig_scan_fn sidik__sig_scan_get(sidik_simd_level level);

#endif
