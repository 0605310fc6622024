/*
 * Private to matcher/: the prepared finger, its constants, and the kernel
 * table the SIMD levels fill.
 *
 * The local descriptor is the Minutia Cylinder-Code (Cappelli, Ferrara,
 * Maltoni, "Minutia Cylinder-Code: a new representation and matching
 * technique for fingerprint recognition", IEEE TPAMI 32(12), 2010), bit
 * version, 12 x 12 cells x 5 angular sections. Only the cells inside the
 * cylinder's circle are stored (they are the only ones that can be set), so a
 * cylinder is SIDIK__MCC_BITS bits in SIDIK__MCC_WORDS 64-bit words. The
 * reasons for every choice, and the measurements behind them, are in
 * matcher/README.md.
 */
#ifndef SIDIK_MATCHER_MCC_H
#define SIDIK_MATCHER_MCC_H

#include <stdint.h>

#include "sidik/cpu.h"
#include "sidik/matcher.h"

/* Cylinder geometry (500 dpi pixels, radians). */
#define SIDIK__MCC_NS      12          /* cells along the diameter */
#define SIDIK__MCC_ND      5           /* angular sections */
#define SIDIK__MCC_R       70.0f       /* radius */
#define SIDIK__MCC_SIGMA_S (28.0f / 3) /* spatial Gaussian */
#define SIDIK__MCC_SIGMA_D (2.0f * 3.14159265358979f / 9)
#define SIDIK__MCC_MU_PSI  0.01f /* a cell's bit is set above this */
#define SIDIK__MCC_OMEGA   50.0f /* hull enlargement for valid cells */
#define SIDIK__MCC_MIN_VC  0.75f /* valid cells a usable cylinder needs */
#define SIDIK__MCC_MIN_M   2     /* neighbours a usable cylinder needs */
#define SIDIK__MCC_CELLS   112   /* cells of the 12x12 grid inside the circle */
#define SIDIK__MCC_BITS    (SIDIK__MCC_CELLS * SIDIK__MCC_ND) /* 560 */
#define SIDIK__MCC_WORDS   9                                  /* 576 bits */

_Static_assert(SIDIK__MCC_BITS <= SIDIK__MCC_WORDS * 64, "cylinder fits its words");

/* Occupancy grid: which 16-pixel cells lie within 30 px of a minutia. It
 * covers x and y from -64 to 960 pixels (an 1.9-inch rolled print fits). */
#define SIDIK__OCC_CELL   16
#define SIDIK__OCC_ORIGIN (-64)
#define SIDIK__OCC_SIZE   64
#define SIDIK__OCC_RADIUS 30.0f

/* Cylinders are stored word-major (all cylinders' word 0, then word 1, ...)
 * with the cylinder count padded to a multiple of this, so a SIMD kernel
 * loads the same word of 8 cylinders at once. */
#define SIDIK__CYL_PAD 8

/*
 * A prepared finger: one allocation, laid out as
 *   struct sidik_finger | cyl[SIDIK__MCC_WORDS][npad] (uint64_t)
 * Every array below is indexed by minutia. x and y are 500 dpi pixels as
 * floats; angle is the template's byte angle. Entries from n to npad are
 * zero (valid 0), so kernels may run over whole blocks of SIDIK__CYL_PAD.
 */
struct sidik_finger {
    uint16_t n;      /* minutiae, and cylinders */
    uint16_t npad;   /* n rounded up to SIDIK__CYL_PAD */
    uint16_t nvalid; /* usable cylinders */
    uint16_t reserved;
    float x[SIDIK_TMPL_MAX_MINUTIAE];
    float y[SIDIK_TMPL_MAX_MINUTIAE];
    uint8_t angle[SIDIK_TMPL_MAX_MINUTIAE];
    uint8_t valid[SIDIK_TMPL_MAX_MINUTIAE];  /* 1 when the cylinder is usable */
    uint8_t by_y[SIDIK_TMPL_MAX_MINUTIAE];   /* minutia indices in order of y */
    float sqrt_pop[SIDIK_TMPL_MAX_MINUTIAE]; /* sqrt of each cylinder's set bits */
    uint64_t occ[SIDIK__OCC_SIZE];           /* row y, bit x */
    /* row_start[r]: first position in by_y whose y lies in occupancy row r
     * or below it (r = SIDIK__OCC_SIZE: n). */
    uint8_t row_start[SIDIK__OCC_SIZE + 1];
    uint64_t cyl[]; /* [SIDIK__MCC_WORDS][npad] */
};

/* The two builds of sidik_finger_create (finger.c): baseline x86-64 and
 * AVX2 (only on a CPU with it). Same arguments, same bytes out. */
int sidik__finger_build_base(const sidik_template *t, sidik_finger **out);
int sidik__finger_build_avx2(const sidik_template *t, sidik_finger **out);

/* Anisotropy hypotheses: the relaxation and consolidation run once per
 * hypothesis, with both fingers' geometry stretched by (sx, sy) = (1/sqrt k,
 * sqrt k), k in {1/1.3, 1, 1.3}; the best result counts. See README.md. */
#define SIDIK__HYPOTHESES 3

/* Matching constants (see match.c and README.md). */
#define SIDIK__LOCAL_DTHETA_MAX 64 /* byte units: cylinder pairs beyond 90 degrees are refused */
#define SIDIK__MAX_PAIRS        32 /* n_R cap: the relaxation is quadratic in it */
#define SIDIK__RELAX_ITER       5

/* The relaxation's direction term for two pairs whose relative directions
 * differ by d byte units (0..128): 1 up to 0.20 rad, 0 from 0.32 on (d >= 14),
 * a ramp between. One definition, so a level that reads it from a table
 * built with it agrees with the others to the bit. */
static inline float sidik__direction_ramp(int d)
{
    float rad = (float)d * (6.28318530718f / 256.0f);
    float r2 = 1.0f - (rad - 0.20f) * (1.0f / 0.12f);
    r2 = r2 > 0.0f ? r2 : 0.0f;
    return r2 < 1.0f ? r2 : 1.0f;
}

/* The selected correspondences' geometry under one hypothesis, as arrays
 * the relaxation kernel walks element by element. */
typedef struct sidik__relax_geom {
    float ax[SIDIK__MAX_PAIRS], ay[SIDIK__MAX_PAIRS];
    float bx[SIDIK__MAX_PAIRS], by[SIDIK__MAX_PAIRS];
    /* cos and sin of the turn from A's minutia direction to B's */
    float turn_c[SIDIK__MAX_PAIRS], turn_s[SIDIK__MAX_PAIRS];
    int32_t aang[SIDIK__MAX_PAIRS], bang[SIDIK__MAX_PAIRS]; /* byte angles */
} sidik__relax_geom;

/* The consolidation's pairing (match.c): a minutia of A mapped into B's frame
 * pairs with the nearest free B minutia this close in space and direction. */
#define SIDIK__PAIR_DIST   15.0f /* px */
#define SIDIK__PAIR_DTHETA 21    /* byte units (about 30 degrees) */
/* B's candidates are tested this many at a time (one AVX-512 vector). */
#define SIDIK__PAIR_WINDOW 16

/* One finger's geometry under a hypothesis; B's is in order of y (stretching
 * keeps that order). SIDIK__PAIR_WINDOW slots of padding (zeros) past n let
 * the pairing test a whole window wherever it starts. */
typedef struct sidik__stretched {
    float x[SIDIK_TMPL_MAX_MINUTIAE + SIDIK__PAIR_WINDOW];
    float y[SIDIK_TMPL_MAX_MINUTIAE + SIDIK__PAIR_WINDOW];
    uint8_t angle[SIDIK_TMPL_MAX_MINUTIAE + SIDIK__PAIR_WINDOW];
    float isy; /* 1 / the stretch in y: back to the finger's own frame */
} sidik__stretched;

/* An alignment for the consolidation: anchor (ax, ay) goes to (ox, oy),
 * turned by (c, s); points are read in the target's grid scaled by
 * (isx, isy). */
typedef struct sidik__alignment {
    float ax, ay, ox, oy, c, s, isx, isy;
} sidik__alignment;

/* Tables built once per process (pthread_once) and read-only after. */
typedef struct sidik__tables {
    float cell_dx[SIDIK__MCC_CELLS]; /* cell centres in the minutia's frame */
    float cell_dy[SIDIK__MCC_CELLS];
    int8_t cell_at[SIDIK__MCC_NS][SIDIK__MCC_NS]; /* grid position -> cell, -1 outside */
    float gs[3137];                               /* spatial Gaussian by d^2, 1/4 px^2 steps */
    float cd[SIDIK__MCC_ND][256];                 /* directional term by byte angle difference */
    float cosb[256], sinb[256];                   /* of byte angles */
    float hyp_sx[SIDIK__HYPOTHESES], hyp_sy[SIDIK__HYPOTHESES];
    uint8_t hyp_angle[SIDIK__HYPOTHESES][256];         /* a byte angle under each stretch */
    uint8_t np_for_count[SIDIK_TMPL_MAX_MINUTIAE + 1]; /* LSS pairs to average */
    uint8_t cell_by_r[SIDIK__MCC_CELLS];               /* cells, nearest the centre first */
} sidik__tables;

const sidik__tables *sidik__tables_get(void);

/*
 * The kernels one SIMD level provides. Each has a portable scalar twin, and
 * every level returns bit-identical results (integer popcounts; float work is
 * lane-wise with no reassociation and no FMA, so it rounds identically).
 */
typedef struct sidik__match_kernels {
    sidik_simd_level level;
    /* out[i * b->npad + j] = popcount(a.cyl_i XOR b.cyl_j) for i < a->n and
     * every j < b->npad (padding columns are computed too, and ignored). */
    void (*xor_popcount)(const sidik_finger *a, const sidik_finger *b, uint16_t *out);
    /* Local similarities (Q16) from those counts; see kernel_impl.h. */
    void (*local_sim)(const sidik_finger *a, const sidik_finger *b, const uint16_t *px,
                      uint16_t *q);
    /* Each row's and column's two best similarities as greedy-order keys,
     * sorted (largest first); keys needs SIDIK__MAX_KEYS places. */
    int (*candidates)(const uint16_t *q, int na, int npad, uint32_t *keys);
    int (*map_occupied)(const float *x, const float *y, int n, const sidik__alignment *al,
                        const uint64_t *occ, float *X, float *Y, uint8_t *inside);
    /* Relaxation compatibilities, transposed: rho_t[v][u] (see kernel_impl.h). */
    /* Minutiae of A (mapped to X, Y, turned by rot; those inside B's
     * overlap) paired greedily, in A's order, with the nearest free minutia
     * of sb; returns how many paired. */
    int (*pair_minutiae)(const float *X, const float *Y, const uint8_t *inside,
                         const uint8_t *angle_a, int na, uint8_t rot, const sidik__stretched *sb,
                         const sidik_finger *b);
    void (*compat)(const sidik__relax_geom *g, int cnt, uint16_t rho_t[][SIDIK__MAX_PAIRS]);
    void (*relax)(const uint16_t rho_t[][SIDIK__MAX_PAIRS], int cnt, uint32_t *lam);
    /* Mean lam of the np pairs of highest efficiency lam / l0. */
    uint32_t (*favoured_mean)(const uint32_t *lam, const uint16_t *l0, int cnt, int np);
} sidik__match_kernels;

/* The table for level; NULL when this CPU lacks it. */
const sidik__match_kernels *sidik__match_kernels_get(sidik_simd_level level);

#define SIDIK__DECLARE_KERNELS(sfx)                                                               \
    void sidik__xor_popcount_##sfx(const sidik_finger *a, const sidik_finger *b, uint16_t *out);  \
    void sidik__local_sim_##sfx(const sidik_finger *a, const sidik_finger *b, const uint16_t *px, \
                                uint16_t *q);                                                     \
    int sidik__candidates_##sfx(const uint16_t *q, int na, int npad, uint32_t *keys);             \
    int sidik__map_occupied_##sfx(const float *x, const float *y, int n,                          \
                                  const sidik__alignment *al, const uint64_t *occ, float *X,      \
                                  float *Y, uint8_t *inside);                                     \
    int sidik__pair_minutiae_##sfx(const float *X, const float *Y, const uint8_t *inside,         \
                                   const uint8_t *angle_a, int na, uint8_t rot,                   \
                                   const sidik__stretched *sb, const sidik_finger *b);            \
    void sidik__compat_##sfx(const sidik__relax_geom *g, int cnt,                                 \
                             uint16_t rho_t[][SIDIK__MAX_PAIRS]);                                 \
    void sidik__relax_##sfx(const uint16_t rho_t[][SIDIK__MAX_PAIRS], int cnt, uint32_t *lam);    \
    uint32_t sidik__favoured_mean_##sfx(const uint32_t *lam, const uint16_t *l0, int cnt, int np);
SIDIK__DECLARE_KERNELS(scalar)
SIDIK__DECLARE_KERNELS(sse42)
SIDIK__DECLARE_KERNELS(avx2)
SIDIK__DECLARE_KERNELS(avx512)

#endif
