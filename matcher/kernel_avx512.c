/* AVX-512 level (built with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq):
 * eight cylinders of B per 512-bit vector, counted with VPOPCNTQ. */
#include "mcc.h"
#include "sig_int.h"

#include <immintrin.h>

void sidik__xor_popcount_avx512(const sidik_finger *a, const sidik_finger *b, uint16_t *out)
{
    for (int i = 0; i < a->n; i++) {
        __m512i ai[SIDIK__MCC_WORDS];
        for (int w = 0; w < SIDIK__MCC_WORDS; w++)
            ai[w] = _mm512_set1_epi64((long long)a->cyl[w * a->npad + i]);
        for (int j = 0; j < b->npad; j += 8) {
            __m512i acc = _mm512_setzero_si512();
            for (int w = 0; w < SIDIK__MCC_WORDS; w++) {
                __m512i bv = _mm512_loadu_si512(&b->cyl[w * b->npad + j]);
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(ai[w], bv)));
            }
            _mm_storeu_si128((__m128i *)(out + i * b->npad + j), _mm512_cvtepi64_epi16(acc));
        }
    }
}

/* The consolidation's window test (kernel_impl.h's pair_window, which the
 * compilers leave half scalar): the same comparisons on one vector of 16
 * candidates, the nearest by VPMINUD over the squared distances' bits. */
static inline uint32_t pair_window_avx512(const sidik__stretched *sb, int j0, int nb,
                                          const uint8_t *used, float x, float y, int theta, int *at)
{
    const __m512 bx = _mm512_loadu_ps(sb->x + j0), by = _mm512_loadu_ps(sb->y + j0);
    const __m512 dx = _mm512_sub_ps(bx, _mm512_set1_ps(x)),
                 dy = _mm512_sub_ps(by, _mm512_set1_ps(y));
    const __m512 d2 = _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy));
    const __m512i ang = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(sb->angle + j0)));
    const __m512i dt =
        _mm512_and_si512(_mm512_add_epi32(ang, _mm512_set1_epi32(SIDIK__PAIR_DTHETA - theta)),
                         _mm512_set1_epi32(255));
    const int left = nb - j0;
    __mmask16 ok = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    ok &= _mm_cmpeq_epi8_mask(_mm_loadu_si128((const __m128i *)(used + j0)), _mm_setzero_si128());
    ok &= _mm512_cmp_ps_mask(by, _mm512_set1_ps(y - SIDIK__PAIR_DIST), _CMP_GE_OQ);
    ok &= _mm512_cmp_ps_mask(by, _mm512_set1_ps(y + SIDIK__PAIR_DIST), _CMP_LE_OQ);
    ok &= _mm512_cmp_ps_mask(d2, _mm512_set1_ps(SIDIK__PAIR_DIST * SIDIK__PAIR_DIST), _CMP_LT_OQ);
    ok &= _mm512_cmple_epu32_mask(dt, _mm512_set1_epi32(2 * SIDIK__PAIR_DTHETA));
    const __m512i key = _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), ok, _mm512_castps_si512(d2));
    const uint32_t kmin = (uint32_t)_mm512_reduce_min_epu32(key);
    const __mmask16 at_min = _mm512_cmpeq_epu32_mask(key, _mm512_set1_epi32((int)kmin));
    *at = j0 + (int)__builtin_ctz((unsigned)at_min | 0x10000u);
    return kmin;
}
#define PAIR_WINDOW_BEST pair_window_avx512

#define KERNEL(name) sidik__##name##_avx512
#include "kernel_impl.h"

/* The signature products without VNNI: as the avx2 level's, 16 lanes per
 * vector (each lane's four unsigned bytes split into two 16-bit pairs,
 * PMADDWD against the probe's signed pairs; exact). */
static inline __m512i sig_pairs(int8_t a, int8_t b)
{
    return _mm512_set1_epi32((int)((uint32_t)(uint16_t)a | (uint32_t)(uint16_t)b << 16));
}

static inline void sig_products_avx512(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                       int32_t (*cre)[SIDIK__SIG_LANES],
                                       int32_t (*cim)[SIDIK__SIG_LANES])
{
    const __m512i lo_bytes = _mm512_set1_epi32(0x00ff00ff);
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        __m512i re = _mm512_set1_epi32(-p->bias_re[f][k]);
        __m512i im = _mm512_set1_epi32(-p->bias_im[f][k]);
        for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
            const int8_t *pr = p->re[f][k][m], *pi = p->im[f][k][m];
            __m512i g = _mm512_loadu_si512(b->c[f][k][m]);
            __m512i e = _mm512_and_si512(g, lo_bytes);
            __m512i o = _mm512_and_si512(_mm512_srli_epi16(g, 8), lo_bytes);
            re = _mm512_add_epi32(re,
                                  _mm512_add_epi32(_mm512_madd_epi16(e, sig_pairs(pr[0], pr[2])),
                                                   _mm512_madd_epi16(o, sig_pairs(pr[1], pr[3]))));
            im = _mm512_add_epi32(im,
                                  _mm512_add_epi32(_mm512_madd_epi16(e, sig_pairs(pi[0], pi[2])),
                                                   _mm512_madd_epi16(o, sig_pairs(pi[1], pi[3]))));
        }
        _mm512_storeu_si512(cre[k], re);
        _mm512_storeu_si512(cim[k], im);
    }
}
#include "sig_rotation.h"
#define SIG_PRODUCTS sig_products_avx512
#define SCAN_NAME    sidik__sig_scan_avx512
#include "sig_scan_impl.h"
