/*
 * sidik_synth: a synthetic population of ten-finger minutiae records, for
 * benchmarks and tests of the deduplication pipeline at national scale, and
 * `sidik gen`. docs/synthetic.md describes the model at length, with the
 * references it follows; this block is the summary a caller needs.
 *
 * Random access. Everything is a pure function of (params, seed, person,
 * finger, impression): every random draw comes from a counter-based
 * generator (splitmix64 over a key hashed from the seed, the person, the
 * finger, the impression and the purpose of the draw), so any person's
 * impression can be produced alone, in any order, on any thread, and comes
 * out bit-identical. No global state, no libm in the generation path (the
 * few transcendental functions are polynomials here, so results do not
 * depend on the C library's rounding), no allocation.
 *
 * The model, in two steps:
 *  1. A master finger (sidik_synth_master): the whole fingertip,
 *     larger than any capture, in a finger-centred frame. Pattern class
 *     drawn per finger position (NIST natural frequencies overall: arch
 *     3.7%, tented arch 2.9%, left loop 33.8%, right loop 31.7%, whorl
 *     27.9%; ulnar loops on each hand, whorls on thumbs and ring fingers,
 *     arches on index fingers). Orientation field: the zero-pole model
 *     (Sherlock and Monro 1993) with each singular point's angle warped
 *     piecewise linearly (Vizcaya and Gerhardt 1996), as SFinGe does
 *     (Cappelli, Maio, Maltoni), plus an arch term (the whole of an arch;
 *     the marginal ridges down the sides of the others) and a smooth random
 *     perturbation. Minutiae: a Poisson-disk process (hard core
 *     min_spacing); direction = the local ridge orientation, its 180-degree
 *     ambiguity settled by a vote of the flow's steepness (minutiae point
 *     down the finger's sides) and a smooth random field (neighbours
 *     agree), whatever the type, as FVC2002's templates show.
 *  2. A capture (sidik_synth_capture): a quality tier; the part of the
 *     finger in contact (an ellipse inside the master, smaller for poor
 *     captures, placed with a random offset, far off for place_tail of
 *     captures); plastic distortion (Cappelli, Maio, Maltoni 2001: no
 *     displacement in the close-contact region, a braked transition, a
 *     rigid displacement outside); rotation, scale and placement in the
 *     image window, which crops; position and angle noise; missing minutiae
 *     (more at the contact border and the image edge) and spurious ones
 *     (spaced, directed by the field, some as broken-ridge pairs, some
 *     clustered in bad patches); ending/bifurcation swaps; quality fields
 *     by tier; count held in [min_count, max_count]; raster order.
 *
 * Frames: master coordinates are 500 dpi pixels from the finger's centre,
 * x right, y down; angles are radians counter-clockwise from +x as seen in
 * the image (the ISO convention of sidik/template.h, in radians).
 *
 * Thread safety: every function is pure and reentrant; params and masters
 * are only read.
 */
#ifndef SIDIK_SYNTH_H
#define SIDIK_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sidik/cpu.h"
#include "sidik/search.h"
#include "sidik/template.h"

/* Master minutiae per finger, at most: 255 so a uint8 index fits the
 * Poisson-disk grid; the defaults give about 30-200. */
#define SIDIK_SYNTH_MAX_MASTER 255

/* Fingers per person, ISO positions 1 (right thumb) .. 10 (left little). */
#define SIDIK_SYNTH_FINGERS 10

/* Largest --persons `sidik gen` takes and the plan accepts: 10^9, four times
 * the national population; person ids fit in 32 bits either way. */
#define SIDIK_SYNTH_MAX_PERSONS 1000000000ull

typedef enum {
    SIDIK_SYNTH_ARCH = 0,
    SIDIK_SYNTH_TENTED_ARCH = 1,
    SIDIK_SYNTH_LEFT_LOOP = 2,
    SIDIK_SYNTH_RIGHT_LOOP = 3,
    SIDIK_SYNTH_WHORL = 4,
} sidik_synth_class;

#define SIDIK_SYNTH_CLASSES 5

typedef enum {
    SIDIK_SYNTH_GOOD = 0,
    SIDIK_SYNTH_MEDIUM = 1,
    SIDIK_SYNTH_POOR = 2,
} sidik_synth_tier_id;

#define SIDIK_SYNTH_TIERS 3

/* Per quality tier. Ranges are drawn uniformly per capture. */
typedef struct sidik_synth_tier {
    float share;                  /* fraction of captures in this tier */
    float pos_sigma;              /* position noise, px (Gaussian-like, +-3.5 sigma) */
    float angle_sigma;            /* angle noise, degrees */
    float miss_lo, miss_hi;       /* fraction of visible minutiae missed */
    float spur_lo, spur_hi;       /* spurious, as a fraction of the genuine kept */
    float contact_lo, contact_hi; /* contact ellipse / master ellipse, per axis */
    float type_swap;              /* probability an ending reads as bifurcation or back */
    uint8_t mq_lo, mq_hi;         /* minutia quality range (genuine) */
    uint8_t fq_lo, fq_hi;         /* finger (view) quality range */
} sidik_synth_tier;

/* The realism parameters; sidik_synth_params_default() sets the calibrated
 * values (docs/synthetic.md lists them with their reasons). */
typedef struct sidik_synth_params {
    uint16_t width, height;       /* capture image, 500 dpi px (300 x 400) */
    uint8_t min_count, max_count; /* minutiae per view after capture (20, 80) */

    /* master finger */
    float density;           /* master minutiae per 10,000 px^2 */
    float density_sigma;     /* relative spread of density between fingers */
    float min_spacing;       /* Poisson-disk hard core, px */
    float ridge_period;      /* px; spacing of broken-ridge spurious pairs */
    float ending_share;      /* ridge endings among minutiae (0.6) */
    float size_sigma_person; /* relative spread of hand size between persons */
    float size_sigma_finger; /* and of one finger's size around it */
    float warp;              /* Vizcaya-Gerhardt knot jitter, radians */
    float perturb;           /* smooth orientation perturbation amplitude, radians */
    float dir_sigma;         /* master direction scatter about the field, degrees */
    float dir_coherence;     /* 0 = flips independent, 1 = fully set by the smooth field */
    float dir_down;          /* pull towards pointing down (proximally) where the flow is steep */

    /* capture pose */
    float rot_sigma;                    /* degrees, the common case */
    float rot_tail;                     /* share of captures turned uniformly within +-rot_max */
    float rot_max;                      /* degrees */
    float shift_sigma_x, shift_sigma_y; /* contact centre's placement in the window, px */
    float place_sigma_x, place_sigma_y; /* contact centre on the finger, px */
    float place_mean_y;                 /* mean of the latter along y (down = positive), px */
    float place_tail; /* share of captures placed far off: sigmas times place_tail_scale */
    float place_tail_scale;
    float scale_sigma; /* relative, pressure and device */

    /* plastic distortion (Cappelli, Maio, Maltoni 2001) */
    float close_contact; /* close-contact ellipse / contact ellipse */
    float distort_k;     /* brake length k, px: 1 - exp(-d^2 / 2k^2) of the displacement */
    float distort_shift; /* external region's displacement, px (sigma per axis) */
    float distort_rot;   /* external region's rotation, degrees (sigma) */

    /* capture noise */
    float edge_band;        /* outer share of the contact radius that is unreliable */
    float spur_pair_share;  /* share of spurious minutiae that come as broken-ridge pairs */
    float spur_angle_sigma; /* degrees */
    float spur_cluster;     /* share of single spurious minutiae in the capture's bad patches */
    float spur_patch_r;     /* a bad patch's radius (Gaussian sigma), px */

    sidik_synth_tier tier[SIDIK_SYNTH_TIERS];
} sidik_synth_params;

/** The calibrated defaults. p must not be NULL. */
void sidik_synth_params_default(sidik_synth_params *p);

/**
 * Checks that p describes something the generator can produce: sizes, ranges
 * in order, shares summing to 1, min_count <= max_count <= 192. Returns 0, or
 * SIDIK_EINVAL (p NULL) or SIDIK_ERANGE with *why (if why is not NULL) naming
 * the field.
 */
int sidik_synth_params_check(const sidik_synth_params *p, const char **why);

/* A master minutia: finger-centred frame (x right, y down, px), angle in
 * radians [0, 2 pi) counter-clockwise. */
typedef struct sidik_synth_minutia {
    float x, y, angle;
    uint8_t type; /* SIDIK_MINUTIA_ENDING or SIDIK_MINUTIA_BIFURCATION */
    uint8_t reserved[3];
} sidik_synth_minutia;

/* The orientation model of one finger (finger-centred frame, y down). */
typedef struct sidik_synth_field {
    uint8_t ncores, ndeltas;
    float core[2][2]; /* x, y */
    float delta[2][2];
    float knot[4][9];            /* angle warp per singular point (cores, then deltas):
                                    offset at -pi + k pi/4, k = 0..8, knot[.][8] == knot[.][0] */
    float arch_k;                /* arch term's strength at and above arch_top */
    float arch_top, arch_bottom; /* y where the arch term is full, and zero */
    float arch_w;                /* arch term's crest width, px: slope k x / sqrt(x^2 + w^2) */
    float pert[3][4];            /* amplitude, kx, ky, phase of each perturbation term */
    float flip[3][4];            /* the same for the direction-flip field */
} sidik_synth_field;

/* The master finger. About 4.3 KB: caller's storage. */
typedef struct sidik_synth_master_finger {
    uint64_t person;
    uint8_t position; /* 1..10 */
    uint8_t pattern;  /* sidik_synth_class */
    uint16_t count;
    float half_width, half_height; /* the master ellipse's semi-axes, px */
    uint64_t attr_key;             /* internal: key of the minutiae's type and direction draws */
    sidik_synth_field field;
    sidik_synth_minutia m[SIDIK_SYNTH_MAX_MASTER];
} sidik_synth_master_finger;

/* What a capture did, for tests, calibration and ground truth. */
typedef struct sidik_synth_view_info {
    uint8_t finger;   /* the finger captured, 1..10 */
    uint8_t position; /* the position written in the record (differs when swapped) */
    uint8_t tier;     /* sidik_synth_tier_id */
    uint8_t pattern;  /* sidik_synth_class */
    uint16_t visible; /* master minutiae inside the contact area and the image */
    uint16_t kept;    /* of those, written */
    uint16_t spurious;
    uint16_t count; /* minutiae written: kept + spurious */
    float rotation; /* degrees, counter-clockwise */
} sidik_synth_view_info;

/* A re-enrollment's alterations: a finger pair captured under each other's
 * positions, and fingers not captured (amputated, bandaged). */
typedef struct sidik_synth_alter {
    uint8_t swap_a, swap_b; /* positions 1..10 exchanged; 0, 0 = none */
    uint16_t missing;       /* bit (position - 1) set: that finger is absent */
} sidik_synth_alter;

/**
 * The master of finger `position` (1..10) of `person` under `seed`, into *out
 * (caller's storage). Returns 0; SIDIK_EINVAL when p or out is NULL, or
 * position is outside 1..10. p is assumed to have passed
 * sidik_synth_params_check.
 */
int sidik_synth_master(const sidik_synth_params *p, uint64_t seed, uint64_t person, int position,
                       sidik_synth_master_finger *out);

/** Ridge orientation of f's field at (x, y), finger frame: radians, defined
 *  modulo pi, in [0, pi). */
double sidik_synth_orientation(const sidik_synth_master_finger *f, double x, double y);

/**
 * Capture number `impression` of master f (made by sidik_synth_master with
 * the same p and seed) as one view into *out (caller's storage): image
 * p->width x p->height, position f->position, impression type 0 (live-scan
 * plain), min_count..max_count minutiae in raster order (fewer only when
 * the finger shows too small an area to hold min_count minutiae
 * min_spacing apart, which the defaults never produce). The same (seed, f,
 * impression) always gives the same view. info may be NULL. Returns 0, or
 * SIDIK_EINVAL for NULL p, f or out.
 */
int sidik_synth_capture(const sidik_synth_params *p, uint64_t seed,
                        const sidik_synth_master_finger *f, uint32_t impression,
                        sidik_template *out, sidik_synth_view_info *info);

/**
 * One ten-finger capture of person: the ten masters, each captured as
 * impression `impression`, as a multi-view record in *out (caller's storage,
 * format SIDIK_FMR_ISO_2005, views in position order 1..10). alter (may be
 * NULL) swaps two fingers' positions or leaves fingers out. info (may be
 * NULL) receives one entry per view written, in the same order. Returns 0,
 * or SIDIK_EINVAL for NULL p or out, or an alter that names a position
 * outside 1..10, swaps a finger with itself, or leaves every finger out.
 */
int sidik_synth_impression(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                           uint32_t impression, sidik_fmr *out, const sidik_synth_alter *alter,
                           sidik_synth_view_info *info);

/* ---- the enrollment plan ------------------------------------------------
 *
 * A stream of `persons` new enrollments (person ids 0, 1, ... in order,
 * impression 0) with `reenrolls` = floor(persons * rate) re-enrollments
 * planted among them. Re-enrollment j (0-based) re-captures an already
 * enrolled person as impression j + 1: the new persons are cut into
 * `reenrolls` consecutive blocks [floor(j N / M), floor((j + 1) N / M)),
 * re-enrollment j follows a uniformly drawn person of block j, and its
 * target is drawn uniformly from every person enrolled up to that point
 * (the one just enrolled included: a person queuing twice on one day).
 * swap_share of re-enrollments have two fingers' positions exchanged,
 * missing_share one finger absent (two fingers in a third of those), the
 * rest none. Random access: O(log M) per record, no allocation, so a
 * benchmark can walk the same plan as `sidik gen` without files.
 */

typedef enum {
    SIDIK_SYNTH_NEW = 0,
    SIDIK_SYNTH_REENROLL = 1,
} sidik_synth_kind;

typedef struct sidik_synth_plan {
    uint64_t seed;
    uint64_t persons;   /* N */
    uint64_t reenrolls; /* M */
    float swap_share;
    float missing_share;
} sidik_synth_plan;

typedef struct sidik_synth_entry {
    uint64_t person;
    uint32_t impression; /* 0 for a new enrollment, j + 1 for re-enrollment j */
    uint8_t kind;        /* sidik_synth_kind */
    sidik_synth_alter alter;
} sidik_synth_entry;

/**
 * A plan of `persons` new enrollments (1..SIDIK_SYNTH_MAX_PERSONS) and
 * floor(persons * rate) re-enrollments (rate in [0, 1]), with the default
 * shares (10% swapped pairs, 10% missing fingers); the caller may change the
 * shares afterwards. Returns 0, SIDIK_EINVAL for NULL plan, or SIDIK_ERANGE
 * for persons or rate out of range (rate NaN included).
 */
int sidik_synth_plan_init(sidik_synth_plan *plan, uint64_t seed, uint64_t persons, double rate);

/** Records in the plan: persons + reenrolls. */
uint64_t sidik_synth_plan_records(const sidik_synth_plan *plan);

/** Record number `record` (0-based) of the plan. Returns 0, SIDIK_EINVAL for
 *  NULL arguments, or SIDIK_ERANGE when record >= the plan's records. */
int sidik_synth_plan_entry(const sidik_synth_plan *plan, uint64_t record, sidik_synth_entry *out);

/* ---- calibration ----------------------------------------------------------- */

/**
 * `sidik gen --calibrate` (synth_calib.c): scores synthetic single-finger
 * genuine and impostor pairs (persons x fingers 2, 3, 7, 8 x 8 impressions)
 * and the FVC2002-style folder real_path (a folder of DB folders of
 * FINGER_IMPRESSION.iso files, or one DB folder) with the matcher at level,
 * and prints both side by side on out: counts, score quantiles and
 * histogram, EER, FMR100, FMR1000, ZeroFMR, and a last line saying whether
 * the synthetic EER is at least the real one. Messages go to err.
 * Returns 0; SIDIK_EINVAL for NULL arguments or persons 0 (nothing
 * printed); or, after one line on err, SIDIK_EINVAL (a real set without
 * genuine or impostor pairs), SIDIK_ENOTFOUND (real_path is no folder or
 * holds no templates), SIDIK_ENOMEM, SIDIK_ENOCPU, a decoder's error for a
 * template that does not decode, or -errno. Thread-safe apart from its
 * writes to out and err.
 */
int sidik_synth_calibrate(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                          const char *real_path, sidik_simd_level level, FILE *out, FILE *err);

/* ---- a fusion model ------------------------------------------------------ */

/**
 * Learns a fusion model (sidik/fusion.h) from synthetic fingers: two
 * impressions of each of `persons` persons (seed), every finger scored
 * against its other impression (genuine) and against the same finger of 8
 * other persons (impostor), at SIMD level `level`; the work goes to pool
 * (NULL: the calling thread). 200 persons give 2,000 genuine and 16,000
 * impostor scores in about a second on one core. Returns 0 and *out (the
 * caller's to sidik_fusion_destroy); SIDIK_EINVAL (NULL, persons <= 8),
 * SIDIK_ENOMEM, SIDIK_ENOCPU, sidik_fusion_create's errors.
 */
int sidik_synth_fusion(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                       sidik_simd_level level, const sidik_pool *pool, sidik_fusion **out);

/** The same scores without the model, for keeping (the pairs a capture
 *  left without a finger dropped): *genuine and *impostor are the
 *  caller's to sidik_free. Errors as sidik_synth_fusion. */
int sidik_synth_fusion_scores(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                              sidik_simd_level level, const sidik_pool *pool, uint32_t **genuine,
                              uint32_t *ngenuine, uint32_t **impostor, uint32_t *nimpostor);

/**
 * A search cohort (sidik_gallery_set_cohort): impression 0 of persons
 * 0..persons-1 under seed, as signatures, into *out (the caller's to
 * sidik_free). About 2 ms of one core per person. Returns 0, SIDIK_EINVAL
 * (NULL), SIDIK_ERANGE (persons outside 1..SIDIK_GALLERY_MAX_COHORT) or
 * SIDIK_ENOMEM.
 */
int sidik_synth_cohort(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                       sidik_person_sig **out);

/* The cohort sidikd gives its gallery, and the benchmarks that stand for
 * it: fixed, so every start has the same one; 32 persons (docs/search.md:
 * 32 gave nearly all of 128's gain, and every insert scans them all). */
#define SIDIK_SYNTH_COHORT_SEED    20260202u
#define SIDIK_SYNTH_COHORT_PERSONS 32u

/* ---- internals shared by the synth*.c files -----------------------------
 * Not part of the interface: visible only where SIDIK_SYNTH_INTERNAL is
 * defined before this header is included. */
#ifdef SIDIK_SYNTH_INTERNAL

/* What a stream of draws is for: each purpose has its own key, so adding a
 * draw to one step never shifts the numbers another step sees. */
enum {
    SIDIK__SYNTH_CLASS = 1,
    SIDIK__SYNTH_SHAPE,
    SIDIK__SYNTH_FIELD,
    SIDIK__SYNTH_MINUTIAE,
    SIDIK__SYNTH_PERSON,
    SIDIK__SYNTH_POSE,
    SIDIK__SYNTH_NOISE,
    SIDIK__SYNTH_SPURIOUS,
    SIDIK__SYNTH_PLAN,
    SIDIK__SYNTH_ATTR,
};

/* splitmix64's finaliser (Steele, Lea, Flood 2014; the constants of
 * Stafford's "Mix13"): a bijection whose every output bit depends on every
 * input bit. */
static inline uint64_t sidik__synth_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A counter-based stream: draw n is mix(key + n * golden), which is
 * splitmix64 started at key. Never take two draws within one expression or
 * argument list: C leaves their order unspecified (gcc and clang choose
 * differently), and the output would then depend on the compiler. */
typedef struct sidik__synth_rng {
    uint64_t key, n;
} sidik__synth_rng;

static inline void sidik__synth_rng_init(sidik__synth_rng *r, uint64_t seed, uint64_t person,
                                         unsigned finger, uint32_t impression, unsigned purpose)
{
    uint64_t h = sidik__synth_mix(seed ^ 0x53594e5448534944ull);
    h = sidik__synth_mix(h ^ (person + 0x9e3779b97f4a7c15ull));
    h = sidik__synth_mix(
        h ^ ((uint64_t)impression << 32 | (uint64_t)(finger & 0xff) << 8 | (purpose & 0xff)));
    r->key = h;
    r->n = 0;
}

static inline uint64_t sidik__synth_next(sidik__synth_rng *r)
{
    return sidik__synth_mix(r->key + ++r->n * 0x9e3779b97f4a7c15ull);
}

/* Uniform in [0, 1), 53 bits. */
static inline double sidik__synth_unif(sidik__synth_rng *r)
{
    return (double)(sidik__synth_next(r) >> 11) * 0x1p-53;
}

static inline double sidik__synth_range(sidik__synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sidik__synth_unif(r);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias,
 * below n / 2^64, does not matter here). */
static inline uint64_t sidik__synth_below(sidik__synth_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)sidik__synth_next(r) * n) >> 64);
}

/* Standard normal, approximately: the sum of four 16-bit uniforms (Irwin-Hall,
 * n = 4) centred and scaled to unit variance. One draw instead of Box-Muller's
 * log, sqrt and sine; the tails stop at 3.46 sigma, which for noise on
 * positions and angles is a feature (no 6-sigma outliers). */
static inline double sidik__synth_gauss(sidik__synth_rng *r)
{
    uint64_t v = sidik__synth_next(r);
    double s = (double)((v & 0xffff) + (v >> 16 & 0xffff) + (v >> 32 & 0xffff) + (v >> 48));
    return (s * (1.0 / 65536.0) - 2.0 + 2.0 / 65536.0) * 1.7320508075688772;
}

#define SIDIK__SYNTH_PI     3.14159265358979323846
#define SIDIK__SYNTH_TWO_PI 6.28318530717958647693

/* atan2 within 1e-5 rad (a degree-11 odd minimax polynomial on [0, 1]), from
 * IEEE arithmetic only, so results never depend on the C library. */
static inline double sidik__synth_atan2(double y, double x)
{
    double ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
    double mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
    if (mx == 0)
        return 0;
    double a = mn / mx, s = a * a;
    double t =
        ((((-0.0117212 * s + 0.05265332) * s - 0.11643287) * s + 0.19354346) * s - 0.33262347) * s +
        0.99997726;
    t *= a;
    if (ay > ax)
        t = 1.57079632679489661923 - t;
    if (x < 0)
        t = SIDIK__SYNTH_PI - t;
    return y < 0 ? -t : t;
}

/* sin within 4e-6 on any argument below 1e6 in magnitude (a thousandth of
 * a pixel at 300 px, far below any noise here): reduced to [-pi/2, pi/2],
 * then Taylor to x^9. */
static inline double sidik__synth_sin(double x)
{
    double k = (double)(int64_t)(x * (1.0 / SIDIK__SYNTH_TWO_PI) + (x < 0 ? -0.5 : 0.5));
    x -= k * SIDIK__SYNTH_TWO_PI; /* [-pi, pi] */
    if (x > 1.57079632679489661923)
        x = SIDIK__SYNTH_PI - x;
    else if (x < -1.57079632679489661923)
        x = -SIDIK__SYNTH_PI - x;
    double s = x * x;
    return x * (1 + s * (-1.0 / 6 + s * (1.0 / 120 + s * (-1.0 / 5040 + s * (1.0 / 362880)))));
}

static inline double sidik__synth_cos(double x)
{
    return sidik__synth_sin(x + 1.57079632679489661923);
}

/* exp(-t) for t >= 0, relative error below 1e-7: 2^-(t log2 e) split into
 * an integer power (exact) and a polynomial on [0, 1). */
static inline double sidik__synth_expneg(double t)
{
    double u = t * 1.4426950408889634;
    if (u > 60)
        return 0;
    int n = (int)u;
    double f = u - n; /* 2^-f for f in [0, 1) */
    double g = -f * 0.6931471805599453;
    double e =
        1 + g * (1 + g * (0.5 + g * (1.0 / 6 +
                                     g * (1.0 / 24 +
                                          g * (1.0 / 120 + g * (1.0 / 720 + g * (1.0 / 5040)))))));
    return e / (double)(1ull << n);
}

/* x reduced to [0, m) for m > 0. */
static inline double sidik__synth_wrap(double x, double m)
{
    double k = (double)(int64_t)(x / m);
    x -= k * m;
    return x < 0 ? x + m : (x >= m ? x - m : x);
}

/* synth_field.c: the class, size and orientation model of out (everything
 * but its minutiae); the field at (x, y), not reduced (callers take it
 * modulo pi); the smooth field, about unit variance, that decides which way
 * along the flow a minutia points. */
void sidik__synth_field_create(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                               int position, sidik_synth_master_finger *out);
double sidik__synth_theta(const sidik_synth_field *F, double x, double y);
double sidik__synth_flip_field(const sidik_synth_field *F, double x, double y);

/* synth_master.c: a master with positions only (types OTHER, angles 0), and
 * the type and angle of its minutia i, computed alone (what
 * sidik_synth_master stores). A capture needs only the minutiae it
 * sees, about half. */
int sidik__synth_master_points(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                               int position, sidik_synth_master_finger *out);
double sidik__synth_master_attr(const sidik_synth_params *p, const sidik_synth_master_finger *f,
                                int i, uint8_t *type);

#endif /* SIDIK_SYNTH_INTERNAL */

#endif
