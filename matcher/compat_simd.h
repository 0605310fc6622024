/*
 * The relaxation compatibilities of one row and a vector of columns, written
 * once for the ISA files that do them by hand (kernel_avx2.c, 8 lanes;
 * kernel_avx512.c, 16): kernel_impl.h's compat with the same IEEE operations
 * in the same order, the clamps as MAXPS/MINPS (which return the second
 * operand for a NaN, as the C's ternaries do), and the direction ramp read
 * from a 16-entry table built with sidik__direction_ramp (it is 0 from 14
 * units on). GCC's own vectorisation of the generic loop made the clamps
 * compare-and-blend chains and cost about a tenth of a comparison.
 *
 * Before including, define
 *   CF, CI        the float and integer vector types,
 *   VP(name)      the intrinsic prefix pasted to name (_mm256_##name),
 *   C_LOADI(p)    an integer vector from int32_t *p, C_AND(a, b),
 *   C_ABS(x)      |x| of a float vector,
 * and compat_ramp(d, ramp): the table's entries at d (0..15) per lane.
 */
#include "mcc.h"

/* Row v, columns u0 .. u0 + lanes - 1, as 32-bit values; the caller masks
 * the columns to keep (u < cnt, u != v). */
static inline CI compat_lanes(const sidik__relax_geom *g, int v, int u0, const float *ramp,
                              CF scale)
{
    const CF zero = VP(setzero_ps)(), one = VP(set1_ps)(1.0f);
    CF dxa = VP(sub_ps)(VP(set1_ps)(g->ax[v]), VP(loadu_ps)(g->ax + u0));
    CF dya = VP(sub_ps)(VP(set1_ps)(g->ay[v]), VP(loadu_ps)(g->ay + u0));
    CF dxb = VP(sub_ps)(VP(set1_ps)(g->bx[v]), VP(loadu_ps)(g->bx + u0));
    CF dyb = VP(sub_ps)(VP(set1_ps)(g->by[v]), VP(loadu_ps)(g->by + u0));
    CF d2a = VP(add_ps)(VP(mul_ps)(dxa, dxa), VP(mul_ps)(dya, dya));
    CF d2b = VP(add_ps)(VP(mul_ps)(dxb, dxb), VP(mul_ps)(dyb, dyb));
    CF dot = VP(add_ps)(VP(mul_ps)(dxa, dxb), VP(mul_ps)(dya, dyb));
    CF crs = VP(sub_ps)(VP(mul_ps)(dya, dxb), VP(mul_ps)(dxa, dyb));
    CF da = VP(sqrt_ps)(d2a), db = VP(sqrt_ps)(d2b);
    CF m = VP(mul_ps)(da, db);
    CF r1 = VP(sub_ps)(one, VP(mul_ps)(VP(sub_ps)(C_ABS(VP(sub_ps)(da, db)), VP(set1_ps)(3.0f)),
                                       VP(set1_ps)(0.25f)));
    r1 = VP(min_ps)(VP(max_ps)(r1, zero), one);
    CF num = VP(add_ps)(VP(mul_ps)(VP(loadu_ps)(g->turn_c + u0), dot),
                        VP(mul_ps)(VP(loadu_ps)(g->turn_s + u0), crs));
    CF cosb = VP(div_ps)(num, VP(add_ps)(m, VP(set1_ps)(1e-6f)));
    CF r3 = VP(mul_ps)(VP(sub_ps)(cosb, VP(set1_ps)(0.9563f)),
                       VP(set1_ps)(1.0f / (0.9744f - 0.9563f)));
    r3 = VP(min_ps)(VP(max_ps)(r3, zero), one);
    CI d = VP(sub_epi32)(VP(sub_epi32)(VP(set1_epi32)(g->aang[v]), C_LOADI(g->aang + u0)),
                         VP(sub_epi32)(VP(set1_epi32)(g->bang[v]), C_LOADI(g->bang + u0)));
    d = C_AND(d, VP(set1_epi32)(255));
    d = VP(min_epi32)(d, VP(sub_epi32)(VP(set1_epi32)(256), d));
    CF r2 = compat_ramp(VP(min_epi32)(d, VP(set1_epi32)(15)), ramp);
    CF r = VP(mul_ps)(VP(mul_ps)(VP(mul_ps)(r1, r2), r3), scale);
    return VP(cvttps_epi32)(VP(add_ps)(r, VP(set1_ps)(0.5f)));
}
