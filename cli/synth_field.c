/*
 * The orientation model of a synthetic finger: its pattern class, singular
 * points and the field that flows around them (see synth.h and
 * docs/synthetic.md).
 *
 * The field is the zero-pole model of Sherlock and Monro ("A model for
 * interpreting fingerprint topology", Pattern Recognition 26(7), 1993):
 *
 *     theta(z) = 1/2 [ sum over cores g_c(arg(z - c)) - sum over deltas g_d(arg(z - d)) ]
 *
 * in which each singular point turns the ridges by half a turn around it
 * (+1/2 for a core, -1/2 for a delta) and the field far away is horizontal.
 * Plain zero-pole fields are too regular: every loop would bend the same
 * way. Vizcaya and Gerhardt ("A nonlinear orientation model for global
 * description of fingerprints", Pattern Recognition 29(7), 1996) replace
 * arg() by a piecewise-linear warp g of it, eight segments per singular
 * point; SFinGe (Cappelli, Maio, Maltoni, "Synthetic fingerprint-image
 * generation", ICPR 2000, and the Handbook of Fingerprint Recognition, ch. 6)
 * generates its fields the same way. We draw the warp's knots at random, so
 * each finger's loop or whorl has its own shape. Arches have no singular
 * point: their ridges are arcs, theta = atan(-k(y) x / sqrt(x^2 + w^2)),
 * k growing from zero at the bottom crease to its full value up the finger,
 * w the width of the crest (a few px makes the peak of a tented arch).
 * For loops and whorls the same term draws the marginal ridges, which
 * follow the fingertip's outline down its sides as far as the deltas,
 * below which the basal ridges run across. A smooth perturbation (three
 * long-wavelength sine waves) keeps two fingers of one class from sharing
 * a field.
 *
 * Singular points sit where they do on real flat impressions (the
 * Handbook's figures; the NIST SD4 and SD14 class definitions): a loop's
 * core above the centre, its delta below and to the side opposite the
 * loop's opening (a left loop opens to the left, so its delta is on the
 * right); a tented arch's delta straight under its core and close to it; a
 * whorl's two cores (a spiral or double loop when apart, concentric rings
 * when together) with a delta on each side below.
 *
 * Class frequencies: NIST's natural frequencies overall (C. L. Wilson,
 * G. T. Candela, C. I. Watson, "Neural network fingerprint classification",
 * J. Artificial Neural Networks 1(2), 1994: arch 3.7%, tented arch 2.9%,
 * left loop 33.8%, right loop 31.7%, whorl 27.9%), split by finger as
 * dermatoglyphics finds them: whorls commonest on thumbs and ring fingers,
 * arches and radial loops on index fingers, ulnar loops on little and
 * middle fingers, and a few more whorls on the right hand than the left.
 * An ulnar loop opens towards the little finger, which in a print (the
 * mirror of the finger seen face on) is to the right for the right hand.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include <math.h>
#include <string.h>

/* Percent per finger type (thumb, index, middle, ring, little): arch,
 * tented arch, ulnar loop, radial loop, whorl. The right hand uses these;
 * the left hand moves LEFT_SHIFT points from whorl to ulnar loop. The
 * columns sum to 18.5, 14.5, 294.5, 22.5 and 150, so with ulnar = right
 * loop on the right hand and left loop on the left the ten fingers average
 * exactly: arch 37 / 10 = 3.7, tented arch 29 / 10 = 2.9, left loop
 * (22.5 + 294.5 + 5 x 4.2) / 10 = 33.8, right loop (294.5 + 22.5) / 10 =
 * 31.7, whorl (300 - 5 x 4.2) / 10 = 27.9. */
static const float class_pct[5][5] = {
    {2.0f, 0.5f, 55.0f, 1.5f, 41.0f},  /* thumb */
    {8.5f, 9.0f, 35.0f, 17.0f, 30.5f}, /* index */
    {5.0f, 3.0f, 70.0f, 2.5f, 19.5f},  /* middle */
    {1.5f, 0.5f, 53.0f, 1.0f, 44.0f},  /* ring */
    {1.5f, 1.5f, 81.5f, 0.5f, 15.0f},  /* little */
};
#define LEFT_SHIFT 4.2f

/* The marginal ridges of loops and whorls: slope k = 1-2 at the sides
 * (45-63 degrees, as steep as they run down a real fingertip's flanks),
 * the crest 40-70% of the half-width wide. */
#define MARGIN_K_LO 1.0
#define MARGIN_K_HI 2.0
#define MARGIN_W_LO 0.4
#define MARGIN_W_HI 0.7

/* Master ellipse semi-axes (px at 500 dpi) per finger type: a flat index
 * finger's pad is about 16-17 mm wide and the fingertip down to the first
 * crease about 22 mm; the master covers all of it (a rolled print would
 * show this much), flat captures see 70-90% of each axis. */
static const float base_half_width[5] = {205, 165, 170, 160, 140};
static const float base_half_height[5] = {255, 215, 222, 210, 185};

static int draw_class(sidik__synth_rng *r, int position)
{
    int type = (position - 1) % 5, left = position > 5;
    float pct[5];
    memcpy(pct, class_pct[type], sizeof pct);
    if (left) {
        pct[2] += LEFT_SHIFT;
        pct[4] -= LEFT_SHIFT;
    }
    double u = sidik__synth_unif(r) * 100.0;
    int k = 0;
    while (k < 4 && u >= pct[k]) {
        u -= pct[k];
        k++;
    }
    switch (k) {
    case 0:
        return SIDIK_SYNTH_ARCH;
    case 1:
        return SIDIK_SYNTH_TENTED_ARCH;
    case 2: /* ulnar */
        return left ? SIDIK_SYNTH_LEFT_LOOP : SIDIK_SYNTH_RIGHT_LOOP;
    case 3: /* radial */
        return left ? SIDIK_SYNTH_RIGHT_LOOP : SIDIK_SYNTH_LEFT_LOOP;
    default:
        return SIDIK_SYNTH_WHORL;
    }
}

/* The size factor of a person's hand: one draw per person, so all ten
 * fingers of a large hand are large. */
static double hand_factor(const sidik_synth_params *p, uint64_t seed, uint64_t person)
{
    sidik__synth_rng r;
    sidik__synth_rng_init(&r, seed, person, 0, 0, SIDIK__SYNTH_PERSON);
    double g = sidik__synth_gauss(&r);
    return 1.0 + p->size_sigma_person * g;
}

static void set_point(float pt[2], double x, double y)
{
    pt[0] = (float)x;
    pt[1] = (float)y;
}

/* Singular points for the class, in the finger frame (y down). A and B are
 * the master's semi-axes. */
static void place_singular(sidik__synth_rng *r, int pattern, double A, double B,
                           sidik_synth_field *F)
{
    F->ncores = F->ndeltas = 0;
    switch (pattern) {
    case SIDIK_SYNTH_ARCH:
        break;
    case SIDIK_SYNTH_TENTED_ARCH: {
        double cx = 0.05 * A * sidik__synth_gauss(r),
               cy = B * (-0.05 + 0.08 * sidik__synth_gauss(r));
        set_point(F->core[0], cx, cy);
        double dx = 0.04 * A * sidik__synth_gauss(r), dy = B * sidik__synth_range(r, 0.22, 0.38);
        set_point(F->delta[0], cx + dx, cy + dy);
        F->ncores = F->ndeltas = 1;
        break;
    }
    case SIDIK_SYNTH_LEFT_LOOP:
    case SIDIK_SYNTH_RIGHT_LOOP: {
        /* The delta lies opposite the opening: right of the core for a left
         * loop. */
        double side = pattern == SIDIK_SYNTH_LEFT_LOOP ? 1 : -1;
        double cx = 0.06 * A * sidik__synth_gauss(r) - side * 0.05 * A;
        double cy = B * (-0.10 + 0.08 * sidik__synth_gauss(r));
        set_point(F->core[0], cx, cy);
        double dx = A * sidik__synth_range(r, 0.35, 0.65),
               dy = B * sidik__synth_range(r, 0.40, 0.65);
        set_point(F->delta[0], cx + side * dx, cy + dy);
        F->ncores = F->ndeltas = 1;
        break;
    }
    default: { /* whorl */
        double wx = 0.06 * A * sidik__synth_gauss(r),
               wy = B * (-0.08 + 0.08 * sidik__synth_gauss(r));
        /* Core separation 8 px (concentric) to a quarter of the height (a
         * double loop), tilted up to 50 degrees. */
        double sep = 8 + sidik__synth_unif(r) * 0.25 * B;
        double tilt = sidik__synth_range(r, -0.87, 0.87);
        double dx = 0.5 * sep * sidik__synth_sin(tilt), dy = 0.5 * sep * sidik__synth_cos(tilt);
        set_point(F->core[0], wx - dx, wy - dy);
        set_point(F->core[1], wx + dx, wy + dy);
        double d0x = A * sidik__synth_range(r, 0.45, 0.70),
               d0y = B * sidik__synth_range(r, 0.45, 0.65);
        double d1x = A * sidik__synth_range(r, 0.45, 0.70),
               d1y = B * sidik__synth_range(r, 0.45, 0.65);
        set_point(F->delta[0], wx - d0x, wy + d0y);
        set_point(F->delta[1], wx + d1x, wy + d1y);
        F->ncores = F->ndeltas = 2;
        break;
    }
    }
}

/* Class, size, singular points, warps, arch term, perturbation and the
 * direction-flip field of one finger: everything but its minutiae. */
void sidik__synth_field_create(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                               int position, sidik_synth_master_finger *out)
{
    sidik__synth_rng r;
    sidik_synth_field *F = &out->field;
    memset(F, 0, sizeof *F);
    out->person = person;
    out->position = (uint8_t)position;

    sidik__synth_rng_init(&r, seed, person, (unsigned)position, 0, SIDIK__SYNTH_CLASS);
    out->pattern = (uint8_t)draw_class(&r, position);

    sidik__synth_rng_init(&r, seed, person, (unsigned)position, 0, SIDIK__SYNTH_SHAPE);
    int type = (position - 1) % 5;
    double hand = hand_factor(p, seed, person);
    double own = 1.0 + p->size_sigma_finger * sidik__synth_gauss(&r);
    double A = base_half_width[type] * hand * own;
    double B = base_half_height[type] * hand * own * (1.0 + 0.03 * sidik__synth_gauss(&r));
    out->half_width = (float)A;
    out->half_height = (float)B;
    place_singular(&r, out->pattern, A, B, F);

    sidik__synth_rng_init(&r, seed, person, (unsigned)position, 0, SIDIK__SYNTH_FIELD);
    int nsing = F->ncores + F->ndeltas;
    for (int s = 0; s < nsing; s++) {
        for (int k = 0; k < 8; k++)
            F->knot[s][k] = (float)(p->warp * (2 * sidik__synth_unif(&r) - 1));
        F->knot[s][8] = F->knot[s][0];
    }
    /* Arch term: the whole shape of an arch, the tent above a tented
     * arch's core, the marginal ridges of loops and whorls. */
    if (out->pattern == SIDIK_SYNTH_ARCH) {
        F->arch_k = (float)sidik__synth_range(&r, 0.55, 1.0);
        F->arch_top = (float)(B * sidik__synth_range(&r, -0.45, -0.15));
        F->arch_bottom = (float)(B * sidik__synth_range(&r, 0.35, 0.65));
    } else if (out->pattern == SIDIK_SYNTH_TENTED_ARCH) {
        /* The tent: ridges above the core rise steeply to it. */
        F->arch_k = (float)sidik__synth_range(&r, 0.6, 1.0);
        F->arch_top = (float)(F->core[0][1] - B * sidik__synth_range(&r, 0.15, 0.35));
        F->arch_bottom = (float)(F->core[0][1] + 0.1 * B);
    } else {
        /* The marginal ridges: arcs following the fingertip's outline down
         * its sides, to the deltas' level, below which the basal ridges run
         * across. */
        double dl = F->delta[0][1];
        if (F->ndeltas > 1 && F->delta[1][1] > dl)
            dl = F->delta[1][1];
        F->arch_k = (float)sidik__synth_range(&r, MARGIN_K_LO, MARGIN_K_HI);
        F->arch_top = (float)(F->core[0][1] - B * 0.3);
        F->arch_bottom = (float)dl;
    }
    F->arch_w = (float)(out->pattern == SIDIK_SYNTH_TENTED_ARCH ? sidik__synth_range(&r, 10, 30)
                        : out->pattern == SIDIK_SYNTH_ARCH
                            ? A * sidik__synth_range(&r, 0.45, 0.75)
                            : A * sidik__synth_range(&r, MARGIN_W_LO, MARGIN_W_HI));
    for (int k = 0; k < 3; k++) {
        double wl = sidik__synth_range(&r, 200, 500),
               dir = sidik__synth_unif(&r) * SIDIK__SYNTH_TWO_PI;
        F->pert[k][0] = (float)(p->perturb * sidik__synth_range(&r, 0.5, 1.0));
        F->pert[k][1] = (float)(SIDIK__SYNTH_TWO_PI / wl * sidik__synth_cos(dir));
        F->pert[k][2] = (float)(SIDIK__SYNTH_TWO_PI / wl * sidik__synth_sin(dir));
        F->pert[k][3] = (float)(sidik__synth_unif(&r) * SIDIK__SYNTH_TWO_PI);
    }
    for (int k = 0; k < 3; k++) {
        double wl = sidik__synth_range(&r, 80, 200),
               dir = sidik__synth_unif(&r) * SIDIK__SYNTH_TWO_PI;
        F->flip[k][0] = 1.0f;
        F->flip[k][1] = (float)(SIDIK__SYNTH_TWO_PI / wl * sidik__synth_cos(dir));
        F->flip[k][2] = (float)(SIDIK__SYNTH_TWO_PI / wl * sidik__synth_sin(dir));
        F->flip[k][3] = (float)(sidik__synth_unif(&r) * SIDIK__SYNTH_TWO_PI);
    }
}

/* g(a) = a + the knots' piecewise-linear offset, a in [-pi, pi]. */
static double warp(const float *knot, double a)
{
    double u = (a + SIDIK__SYNTH_PI) * (4.0 / SIDIK__SYNTH_PI);
    int k = (int)u;
    if (k > 7)
        k = 7;
    if (k < 0)
        k = 0;
    double f = u - k;
    return a + knot[k] + f * (knot[k + 1] - knot[k]);
}

/* The field, not reduced: callers reduce modulo pi. In the math frame
 * (y up), where arg() is counter-clockwise as the image's angles are. */
double sidik__synth_theta(const sidik_synth_field *F, double x, double y)
{
    double t = 0;
    for (int c = 0; c < F->ncores; c++)
        t += 0.5 * warp(F->knot[c], sidik__synth_atan2(F->core[c][1] - y, x - F->core[c][0]));
    for (int d = 0; d < F->ndeltas; d++)
        t -= 0.5 * warp(F->knot[F->ncores + d],
                        sidik__synth_atan2(F->delta[d][1] - y, x - F->delta[d][0]));
    /* Arch: full strength above arch_top, none below arch_bottom (y down). */
    double span = F->arch_bottom - F->arch_top;
    double s = span > 0 ? (F->arch_bottom - y) / span : 0;
    if (s > 0) {
        if (s > 1)
            s = 1;
        s = s * s * (3 - 2 * s); /* smoothstep */
        double slope = -F->arch_k * s * x / sqrt(x * x + (double)F->arch_w * F->arch_w);
        t += sidik__synth_atan2(slope, 1.0);
    }
    for (int k = 0; k < 3; k++)
        t +=
            F->pert[k][0] * sidik__synth_sin(F->pert[k][1] * x + F->pert[k][2] * y + F->pert[k][3]);
    return t;
}

/* The smooth field that decides which way along the flow a minutia points:
 * about unit variance, wavelengths 80-200 px. */
double sidik__synth_flip_field(const sidik_synth_field *F, double x, double y)
{
    double s = 0;
    for (int k = 0; k < 3; k++)
        s +=
            F->flip[k][0] * sidik__synth_sin(F->flip[k][1] * x + F->flip[k][2] * y + F->flip[k][3]);
    return s * 0.8164965809277260; /* sqrt(2/3): three unit sines have variance 3/2 */
}

double sidik_synth_orientation(const sidik_synth_master_finger *f, double x, double y)
{
    return sidik__synth_wrap(sidik__synth_theta(&f->field, x, y), SIDIK__SYNTH_PI);
}
