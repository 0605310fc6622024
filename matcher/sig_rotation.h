/*
 * The signature scan's rotation step (sidik__sig_best_rotation, sig_int.h)
 * with the ISA's own 16-bit multiply-adds, for the ISA files to pass as
 * SIG_ROTATION: two harmonics' cross products, shifted with rounding, packed into each
 * 32-bit lane (even harmonic low, odd high), multiplied by a pair of Q12
 * weights and summed into 32 bits by one PMADDWD (VPDPWSSD with VNNI).
 * Integer and exact, then the oracle's float operations lane for lane, so
 * the bits are the oracle's.
 *
 * Include after <immintrin.h> in a file built with AVX2 or AVX-512BW (and
 * define SIG_ROTATION_VNNI first for VPDPWSSD).
 */
#include "sig_int.h"

#include <string.h>

/* A pair of adjacent Q12 weights, as the 32-bit pattern PMADDWD wants. */
static inline int32_t sig_rot_weights(const int16_t *w)
{
    int32_t v;
    memcpy(&v, w, sizeof v);
    return v;
}

#if defined(__AVX512BW__)

#ifdef SIG_ROTATION_VNNI
#define SIG_ROT_MADD(acc, x, w) _mm512_dpwssd_epi32((acc), (x), (w))
#else
#define SIG_ROT_MADD(acc, x, w) _mm512_add_epi32((acc), _mm512_madd_epi16((x), (w)))
#endif

/* Harmonics 2j and 2j + 1 of c, shifted, as 16-bit pairs. */
static inline __m512i sig_rot_pack(const int32_t (*c)[SIDIK__SIG_LANES], int j)
{
    const __m512i half = _mm512_set1_epi32(SIDIK__SIG_ROT_HALF);
    __m512i e = _mm512_srai_epi32(_mm512_add_epi32(_mm512_loadu_si512(c[2 * j]), half),
                                  SIDIK__SIG_ROT_SHIFT);
    __m512i o = _mm512_srai_epi32(_mm512_add_epi32(_mm512_loadu_si512(c[2 * j + 1]), half),
                                  SIDIK__SIG_ROT_SHIFT);
    return _mm512_mask_blend_epi16(0xAAAAAAAAu, e, _mm512_slli_epi32(o, 16));
}

static inline void sig_rotation_simd(const sidik__sig_tables *tb,
                                     const int32_t (*cre)[SIDIK__SIG_LANES],
                                     const int32_t (*cim)[SIDIK__SIG_LANES], float *best)
{
    enum { PAIRS = SIDIK_SIG_HARMONICS / 2 };
    __m512i re[PAIRS], im[PAIRS], v = _mm512_setzero_si512();
    for (int j = 0; j < PAIRS; j++) {
        re[j] = sig_rot_pack(cre, j);
        im[j] = sig_rot_pack(cim, j);
        v = SIG_ROT_MADD(v, re[j], _mm512_set1_epi32(sig_rot_weights(&tb->w[2 * j])));
    }
    __m512 bv = _mm512_cvtepi32_ps(v);
    for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
        __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
        for (int j = 0; j < PAIRS; j++) {
            a = SIG_ROT_MADD(a, re[j], _mm512_set1_epi32(sig_rot_weights(&tb->cos[r][2 * j])));
            b = SIG_ROT_MADD(b, im[j], _mm512_set1_epi32(sig_rot_weights(&tb->sin[r][2 * j])));
        }
        __m512 fa = _mm512_cvtepi32_ps(a), fb = _mm512_cvtepi32_ps(b);
        bv = _mm512_max_ps(bv, _mm512_max_ps(_mm512_sub_ps(fa, fb), _mm512_add_ps(fa, fb)));
    }
    _mm512_storeu_ps(best, _mm512_mul_ps(bv, _mm512_set1_ps(SIDIK__SIG_ROT_UNSCALE)));
}

#elif defined(__AVX2__)

/* Harmonics 2j and 2j + 1 of c, lanes 8h .. 8h + 7, shifted, as 16-bit
 * pairs. */
static inline __m256i sig_rot_pack(const int32_t (*c)[SIDIK__SIG_LANES], int j, int h)
{
    const __m256i half = _mm256_set1_epi32(SIDIK__SIG_ROT_HALF);
    __m256i e = _mm256_loadu_si256((const __m256i *)(c[2 * j] + 8 * h));
    __m256i o = _mm256_loadu_si256((const __m256i *)(c[2 * j + 1] + 8 * h));
    e = _mm256_srai_epi32(_mm256_add_epi32(e, half), SIDIK__SIG_ROT_SHIFT);
    o = _mm256_srai_epi32(_mm256_add_epi32(o, half), SIDIK__SIG_ROT_SHIFT);
    return _mm256_blend_epi16(e, _mm256_slli_epi32(o, 16), 0xAA);
}

static inline __m256i sig_rot_madd(__m256i acc, __m256i x, const int16_t *w)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_set1_epi32(sig_rot_weights(w))));
}

static inline void sig_rotation_simd(const sidik__sig_tables *tb,
                                     const int32_t (*cre)[SIDIK__SIG_LANES],
                                     const int32_t (*cim)[SIDIK__SIG_LANES], float *best)
{
    enum { PAIRS = SIDIK_SIG_HARMONICS / 2 };
    for (int h = 0; h < 2; h++) {
        __m256i re[PAIRS], im[PAIRS], v = _mm256_setzero_si256();
        for (int j = 0; j < PAIRS; j++) {
            re[j] = sig_rot_pack(cre, j, h);
            im[j] = sig_rot_pack(cim, j, h);
            v = sig_rot_madd(v, re[j], &tb->w[2 * j]);
        }
        __m256 bv = _mm256_cvtepi32_ps(v);
        for (int r = 0; r < SIDIK__SIG_ROT_PAIRS; r++) {
            __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
            for (int j = 0; j < PAIRS; j++) {
                a = sig_rot_madd(a, re[j], &tb->cos[r][2 * j]);
                b = sig_rot_madd(b, im[j], &tb->sin[r][2 * j]);
            }
            __m256 fa = _mm256_cvtepi32_ps(a), fb = _mm256_cvtepi32_ps(b);
            bv = _mm256_max_ps(bv, _mm256_max_ps(_mm256_sub_ps(fa, fb), _mm256_add_ps(fa, fb)));
        }
        _mm256_storeu_ps(best + 8 * h, _mm256_mul_ps(bv, _mm256_set1_ps(SIDIK__SIG_ROT_UNSCALE)));
    }
}

#else
#error "sig_rotation.h needs AVX2 or AVX-512BW"
#endif

#define SIG_ROTATION sig_rotation_simd
