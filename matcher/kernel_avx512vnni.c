/* AVX-512 with VNNI (built with -mavx512f -mavx512bw -mavx512vl
 * -mavx512vnni): the signature scan's products with VPDPBUSD, one
 * instruction per 16 persons, harmonic and ring pair (sig_int.h has the
 * block layout). Chosen at run time for the avx512 level when the CPU has
 * VNNI (sidik__sig_scan_get); the rest of the level is kernel_avx512.c.
 * Its rotation step sums with VPDPWSSD (sig_rotation.h). */
#include "sig_int.h"

#include <immintrin.h>

static inline void sig_products_vnni(const sidik__sig_probe *p, int f, const sidik__sig_block *b,
                                     int32_t (*cre)[SIDIK__SIG_LANES],
                                     int32_t (*cim)[SIDIK__SIG_LANES])
{
    for (int k = 0; k < SIDIK_SIG_HARMONICS; k++) {
        __m512i re = _mm512_set1_epi32(-p->bias_re[f][k]);
        __m512i im = _mm512_set1_epi32(-p->bias_im[f][k]);
        for (int m = 0; m < SIDIK__SIG_RING_PAIRS; m++) {
            int32_t pr, pi;
            __builtin_memcpy(&pr, p->re[f][k][m], 4);
            __builtin_memcpy(&pi, p->im[f][k][m], 4);
            __m512i g = _mm512_loadu_si512(b->c[f][k][m]);
            re = _mm512_dpbusd_epi32(re, g, _mm512_set1_epi32(pr));
            im = _mm512_dpbusd_epi32(im, g, _mm512_set1_epi32(pi));
        }
        _mm512_storeu_si512(cre[k], re);
        _mm512_storeu_si512(cim[k], im);
    }
}
#define SIG_ROTATION_VNNI
#include "sig_rotation.h"
#define SIG_PRODUCTS sig_products_vnni
#define SCAN_NAME    sidik__sig_scan_avx512vnni
#include "sig_scan_impl.h"
