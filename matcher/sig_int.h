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
 * (sidik_synth population, 600 persons, all pairs: 0.109): subtracted from every
 * finger's similarity before the fingers are summed, so a finger absent on
 * either side counts as an average impostor finger, neither for nor
 * against. docs/search.md. */
#define SIDIK__SIG_IMPOSTOR_MEAN 0.11f

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
} sidik__sig_block;

_Static_assert(sizeof(sidik__sig_block) % 64 == 0, "blocks stay cache-line aligned in an array");

/* Lane `lane` of b: written from s, read back into s. */
void sidik__sig_block_put(sidik__sig_block *b, int lane, const sidik_person_sig *s);
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
 * at -a is A + B: one pass over the harmonics serves both. */
#define SIDIK__SIG_ROT_PAIRS ((SIDIK_SIG_ROTATIONS - 1) / 2)

typedef struct sidik__sig_tables {
    float w[SIDIK_SIG_HARMONICS];
    float cos[SIDIK__SIG_ROT_PAIRS][SIDIK_SIG_HARMONICS]; /* w_k cos(k a) */
    float sin[SIDIK__SIG_ROT_PAIRS][SIDIK_SIG_HARMONICS]; /* w_k sin(k a) */
} sidik__sig_tables;

const sidik__sig_tables *sidik__sig_tables_get(void);

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
 * (cre, cim: [harmonic][lane]) into best[lane]. Element-wise over the lanes
 * in one fixed order of operations, so the scalar build and every SIMD build
 * round identically. */
static inline void sidik__sig_best_rotation(const sidik__sig_tables *tb,
                                            const int32_t (*cre)[SIDIK__SIG_LANES],
                                            const int32_t (*cim)[SIDIK__SIG_LANES], float *best)
{
    sidik__f32x16 re[SIDIK_SIG_HARMONICS], im[SIDIK_SIG_HARMONICS], v = {0};
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        sidik__i32x16 r, i;
        __builtin_memcpy(&r, cre[k], sizeof r);
        __builtin_memcpy(&i, cim[k], sizeof i);
        re[k] = __builtin_convertvector(r, sidik__f32x16);
        im[k] = __builtin_convertvector(i, sidik__f32x16);
        v += re[k] * tb->w[k];
    }
    for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
        sidik__f32x16 a = {0}, b = {0};
        for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
            a += re[k] * tb->cos[r][k];
            b += im[k] * tb->sin[r][k];
        }
        sidik__f32x16 plus = a - b;
        SIDIK__F32X16_MAX_INTO(&plus, a + b);
        SIDIK__F32X16_MAX_INTO(&v, plus);
    }
    __builtin_memcpy(best, &v, sizeof v);
}

/* One finger f of the probe against the first `lanes` persons of block b
 * (lanes 1..16; lanes past it are never read): for every lane whose finger
 * is present, total[lane] += similarity - SIDIK__SIG_IMPOSTOR_MEAN, the
 * similarity being sidik_sig_similarity's value exactly; sim[lane] (when
 * not NULL) gets the similarity, 0 where absent. The probe's finger must be
 * present. Fingers are added in the caller's order, so summing them 0..9
 * gives the same total at every level. */
typedef void (*sidik__sig_scan_fn)(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                    int lanes, float *total, float *sim);

#define SIDIK__DECLARE_SIG_SCAN(sfx)                                                              \
    void sidik__sig_scan_##sfx(const sidik__sig_probe *p, int f, const sidik__sig_block *b,       \
                               int lanes, float *total, float *sim);
SIDIK__DECLARE_SIG_SCAN(scalar)
SIDIK__DECLARE_SIG_SCAN(sse42)
SIDIK__DECLARE_SIG_SCAN(avx2)
SIDIK__DECLARE_SIG_SCAN(avx512)
SIDIK__DECLARE_SIG_SCAN(avx512vnni)

/* The scan for level: at avx512, the VPDPBUSD kernel when the CPU has
 * AVX512-VNNI. NULL for an unknown level. */
sidik__sig_scan_fn sidik__sig_scan_get(sidik_simd_level level);

#endif
