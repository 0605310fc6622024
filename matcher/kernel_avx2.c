/* AVX2 level (built with -mavx2): four cylinders of B per 256-bit vector.
 * AVX2 has no popcount, so bytes are counted with the nibble lookup table
 * (vpshufb) and summed per 64-bit lane with vpsadbw (Mula, Kurz, Lemire,
 * "Faster population counts using AVX2 instructions", 2018). */
#include "mcc.h"
#include "sig_int.h"

#include <immintrin.h>

static inline __m256i popcount_bytes(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

void sidik__xor_popcount_avx2(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        __m256i ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = _mm256_set1_epi64x((long long)a->cyl[w * a->npad + i]);
        for (int j = 0; j < b->npad; j += 4) {
            /* Byte counts reach at most 8 per word, 72 over 9 words: they fit
             * a byte, so the horizontal sum runs once, after the loop. */
            __m256i acc = _mm256_setzero_si256();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
                __m256i bv = _mm256_loadu_si256((const __m256i *)&b->cyl[w * b->npad + j]);
                acc = _mm256_add_epi8(acc, popcount_bytes(_mm256_xor_si256(ai[w], bv)));
            }
            __m256i sums = _mm256_sad_epu8(acc, _mm256_setzero_si256());
            uint16_t *o = out + i * b->npad + j;
            o[0] = (uint16_t)_mm256_extract_epi64(sums, 0);
            o[1] = (uint16_t)_mm256_extract_epi64(sums, 1);
            o[2] = (uint16_t)_mm256_extract_epi64(sums, 2);
            o[3] = (uint16_t)_mm256_extract_epi64(sums, 3);
        }
    }
}

/* The relaxation compatibilities, eight lanes at a time (compat_simd.h);
 * the direction ramp's table as two eight-entry permutes and a blend. */
#define CF          __m256
#define CI          __m256i
#define VP(name)    _mm256_##name
#define C_LOADI(p)  _mm256_loadu_si256((const __m256i *)(p))
#define C_AND(a, b) _mm256_and_si256((a), (b))
#define C_ABS(x)    _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (x))
static inline __m256 compat_ramp(__m256i d, const float *ramp)
{
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(ramp), d),
                            _mm256_permutevar8x32_ps(_mm256_loadu_ps(ramp + 8), d),
                            _mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_set1_epi32(7))));
}
#include "compat_simd.h"

/* Row v, columns u0 .. u0 + 7, 0 outside the columns kept. */
static inline __m256i compat8(const sidik__relax_geom *g, int cnt, int v, int u0, const float *ramp,
                              __m256 scale)
{
    __m256i u = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(u0));
    __m256i keep = _mm256_andnot_si256(_mm256_cmpeq_epi32(u, _mm256_set1_epi32(v)),
                                       _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), u));
    return _mm256_and_si256(compat_lanes(g, v, u0, ramp, scale), keep);
}

void sidik__compat_avx2(const sidik__relax_geom *g, int cnt, uint16_t rho_t[][SIDIK__MAX_PAIRS])
{
    float ramp[16];
    for (int d = 0; d < 16; d++)
        ramp[d] = sidik__direction_ramp(d);
    const __m256 scale = _mm256_set1_ps(32768.0f / (float)(cnt - 1));
    for (int v = 0; v < cnt; v++)
        for (int u0 = 0; u0 < SIDIK__MAX_PAIRS; u0 += 16) {
            /* at most 32768: the unsigned saturating pack is exact */
            __m256i two = _mm256_packus_epi32(compat8(g, cnt, v, u0, ramp, scale),
                                              compat8(g, cnt, v, u0 + 8, ramp, scale));
            _mm256_storeu_si256((__m256i *)(rho_t[v] + u0), _mm256_permute4x64_epi64(two, 0xD8));
        }
}
#define COMPAT_OWN

#define KERNEL(name) sidik__##name##_avx2
#include "kernel_impl.h"

/* The signature products, 8 lanes per vector: each lane's four unsigned
 * bytes split into two 16-bit pairs (bytes 0, 2 and 1, 3), PMADDWD against
 * the probe's matching signed pairs. Exact: no 16-bit saturation, unlike
 * PMADDUBSW, whose pair sums of 255 x 127 would overflow. */
static inline __m256i sig_pairs(int8_t a, int8_t b)
{
    return _mm256_set1_epi32((int)((uint32_t)(uint16_t)a | (uint32_t)(uint16_t)b << 16));
}

static inline void sig_products_avx2(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                     int32_t (*cre)[SIDIK__SIG_LANES],
                                     int32_t (*cim)[SIDIK__SIG_LANES])
{
    const __m256i lo_bytes = _mm256_set1_epi32(0x00ff00ff);
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        __m256i re0 = _mm256_set1_epi32(-p->bias_re[f][k]), re1 = re0;
        __m256i im0 = _mm256_set1_epi32(-p->bias_im[f][k]), im1 = im0;
        for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
            const int8_t *pr = p->re[f][k][m], *pi = p->im[f][k][m];
            __m256i re_e = sig_pairs(pr[0], pr[2]), re_o = sig_pairs(pr[1], pr[3]);
            __m256i im_e = sig_pairs(pi[0], pi[2]), im_o = sig_pairs(pi[1], pi[3]);
            const __m256i *g = (const __m256i *)b->c[f][k][m];
            __m256i g0 = _mm256_loadu_si256(g), g1 = _mm256_loadu_si256(g + 1);
            __m256i e0 = _mm256_and_si256(g0, lo_bytes), o0 = _mm256_and_si256(_mm256_srli_epi16(g0, 8), lo_bytes);
            __m256i e1 = _mm256_and_si256(g1, lo_bytes), o1 = _mm256_and_si256(_mm256_srli_epi16(g1, 8), lo_bytes);
            re0 = _mm256_add_epi32(re0, _mm256_add_epi32(_mm256_madd_epi16(e0, re_e), _mm256_madd_epi16(o0, re_o)));
            re1 = _mm256_add_epi32(re1, _mm256_add_epi32(_mm256_madd_epi16(e1, re_e), _mm256_madd_epi16(o1, re_o)));
            im0 = _mm256_add_epi32(im0, _mm256_add_epi32(_mm256_madd_epi16(e0, im_e), _mm256_madd_epi16(o0, im_o)));
            im1 = _mm256_add_epi32(im1, _mm256_add_epi32(_mm256_madd_epi16(e1, im_e), _mm256_madd_epi16(o1, im_o)));
        }
        _mm256_storeu_si256((__m256i *)cre[k], re0);
        _mm256_storeu_si256((__m256i *)(cre[k] + 8), re1);
        _mm256_storeu_si256((__m256i *)cim[k], im0);
        _mm256_storeu_si256((__m256i *)(cim[k] + 8), im1);
    }
}
#include "sig_rotation.h"
#define SIG_PRODUCTS sig_products_avx2
#define SCAN_NAME    sidik__sig_scan_avx2
#include "sig_scan_impl.h"
