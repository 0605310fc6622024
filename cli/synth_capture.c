/*
 * One capture of a synthetic master finger: what a live-scan flat impression
 * and a minutiae extractor make of it (see synth.h, docs/synthetic.md).
 *
 * In order:
 *  1. Quality tier: half the time the person's usual tier (dry or worn
 *     skin is a property of the person), half the time drawn afresh (how
 *     this finger was pressed), each from the tiers' shares, so the shares
 *     hold overall. Every rate below is drawn from its tier's range.
 *  2. Contact: the finger touches the glass in an ellipse smaller than the
 *     master (contact_lo..hi of each axis), centred off the finger's centre
 *     by place_* (place_tail of captures much further: a finger put down
 *     well off the guide): two captures of one finger overlap as much as
 *     their ellipses do, which is the main reason genuine pairs fail.
 *  3. Plastic distortion, after R. Cappelli, D. Maio, D. Maltoni,
 *     "Modelling plastic distortion in fingerprint images", ICAPR 2001
 *     (LNCS 2013): the close-contact region (an ellipse inside the contact
 *     one) does not move; outside it a point moves by the displacement of a
 *     rigid transform (rotation distort_rot, shift distort_shift), scaled by
 *     brake(d) = 1 - exp(-d^2 / 2k^2) of its distance d from that region, so
 *     the transitional region blends into the external one without folds.
 *  4. Pose: scale, rotation (mostly rot_sigma, rot_tail of captures anywhere
 *     within +-rot_max, as FVC2002 asked its volunteers to turn up to 35
 *     degrees), and placement in the image, which crops.
 *  5. Extraction: each visible minutia is missed with the tier's rate,
 *     weighted up near the contact border and the image edge, where real
 *     extractors lose minutiae; kept ones get position and angle noise, may
 *     read as the other type (pressure turns an ending into a bifurcation;
 *     ISO's angle conventions for the two make the angle survive this), and
 *     a quality from the tier, lower at the edge. Spurious minutiae (the
 *     tier's share of those kept) go where no minutia is within
 *     min_spacing, more often near the border, pointing along the field;
 *     spur_pair_share of them as broken-ridge pairs (two endings facing each
 *     other 1-2 ridge periods apart along the flow), spur_cluster of the
 *     others in two bad patches of the capture (dry or wet skin, a scar).
 *  6. The count is held in [min_count, max_count]: above, the lowest
 *     qualities go (extractors cap their output the same way); below,
 *     missed minutiae come back, then spurious ones are added. Output is in
 *     raster order, as extractors write it, so a minutia's place in the list
 *     says nothing about whether it is genuine.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "sidik/err.h"

#include <math.h>
#include <string.h>

/* Minutiae closer than this to the image edge are not reported: extractors
 * cannot see a minutia's neighbourhood there. */
#define MARGIN 4

/* Width, px, of the band along the image edge counted as unreliable. */
#define WINDOW_EDGE 16

/* Scratch capacity: every master minutia, plus spurious ones. */
#define CAP (SIDIK_SYNTH_MAX_MASTER + 160)

/* Bad patches per capture. */
#define PATCHES 2

/* Ridge endings among single spurious minutiae: breaks in ridges (dry
 * skin, scars, creases) make endings, joins (wet skin) bifurcations, and
 * breaks are the commoner artefact. Pairs are always two endings. */
#define SPUR_ENDING 0.7

struct pose {
    double ox, oy;                      /* contact centre, finger frame */
    double ax, ay;                      /* contact semi-axes */
    double ccx, ccy;                    /* close-contact centre, relative to the contact centre */
    double cax, cay;                    /* close-contact semi-axes */
    double inv2k2;                      /* 1 / (2 k^2) of the brake */
    double dcos1, dsin, dtx, dty, drot; /* distortion: cos - 1, sin, shift, angle */
    double rc, rs, rot;                 /* pose rotation, already times scale in rc, rs */
    double wx, wy;                      /* the contact centre's place in the image */
    double band;                        /* edge band, share of the contact radius */
    double patch[PATCHES][2];           /* centres of bad patches, finger frame */
    double patch_r;
    double w, h;
};

struct pt {
    float fx, fy; /* finger frame, for spacing */
    float x, y;   /* image */
    float angle;  /* radians */
    float edge;   /* 0 inside .. 1 at the border */
    uint8_t type, quality, genuine, kept;
};

/* The tier: half the time the person's own, else this capture's. */
static int draw_tier(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                     sidik__synth_rng *r)
{
    sidik__synth_rng pr;
    sidik__synth_rng_init(&pr, seed, person, 0, 0, SIDIK__SYNTH_PERSON);
    (void)sidik__synth_next(&pr); /* the hand size (synth_field.c) */
    double own = sidik__synth_unif(&pr);
    double a = sidik__synth_unif(r), b = sidik__synth_unif(r);
    double u = a < 0.5 ? own : b;
    for (int t = 0; t < SIDIK_SYNTH_TIERS - 1; t++) {
        if (u < p->tier[t].share)
            return t;
        u -= p->tier[t].share;
    }
    return SIDIK_SYNTH_TIERS - 1;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* Finger frame -> image, distortion and pose; *da gets the local rotation
 * the distortion adds to a direction there. */
static void place(const struct pose *P, double fx, double fy, double *x, double *y, double *da)
{
    double ux = fx - P->ox, uy = fy - P->oy;
    double cx = ux - P->ccx, cy = uy - P->ccy;
    double ex = cx / P->cax, ey = cy / P->cay;
    double rho2 = ex * ex + ey * ey, b = 0;
    if (rho2 > 1) {
        /* Distance from the close-contact ellipse along the ray from its
         * centre: |c| (1 - 1 / rho). */
        double len2 = cx * cx + cy * cy;
        double t = 1 - 1 / sqrt(rho2);
        double d2 = len2 * t * t;
        b = 1 - sidik__synth_expneg(d2 * P->inv2k2);
        /* y down: a counter-clockwise turn maps (x, y) to (c x + s y, -s x + c y). */
        ux += b * (P->dcos1 * cx + P->dsin * cy + P->dtx);
        uy += b * (-P->dsin * cx + P->dcos1 * cy + P->dty);
    }
    *da = b * P->drot;
    *x = P->wx + P->rc * ux + P->rs * uy;
    *y = P->wy - P->rs * ux + P->rc * uy;
}

/* The edge weight of a point: 0 well inside, 1 at the contact border or
 * the image edge. rho is the contact ellipse's radius ratio there. */
static double edge_weight(const struct pose *P, double rho, double x, double y)
{
    double e = clamp01((rho - (1 - P->band)) / P->band);
    double d = x;
    if (P->w - 1 - x < d)
        d = P->w - 1 - x;
    if (y < d)
        d = y;
    if (P->h - 1 - y < d)
        d = P->h - 1 - y;
    double ew = clamp01(1 - (d - MARGIN) / WINDOW_EDGE);
    return e > ew ? e : ew;
}

static int in_window(const struct pose *P, double x, double y)
{
    return x >= MARGIN && y >= MARGIN && x <= P->w - 1 - MARGIN && y <= P->h - 1 - MARGIN;
}

static double clamp_to(double v, double hi)
{
    return v < 0 ? 0 : (v > hi ? hi : v);
}

static uint8_t quality(sidik__synth_rng *r, int lo, int hi, double edge)
{
    double q = lo + (hi - lo) * sidik__synth_unif(r) * (1 - 0.5 * edge);
    return (uint8_t)(q + 0.5);
}

/* Position and angle noise on a point already placed, and its quality. */
static void extract(const sidik_synth_tier *T, sidik__synth_rng *r, const struct pose *P,
                    struct pt *q, double angle_sigma, int qlo, int qhi)
{
    q->x = (float)clamp_to(q->x + T->pos_sigma * sidik__synth_gauss(r), P->w - 1);
    q->y = (float)clamp_to(q->y + T->pos_sigma * sidik__synth_gauss(r), P->h - 1);
    q->angle += (float)(angle_sigma * (SIDIK__SYNTH_PI / 180) * sidik__synth_gauss(r));
    q->quality = quality(r, qlo, qhi, q->edge);
}

static int spaced(const struct pt *pts, int n, double fx, double fy, double r2)
{
    for (int i = 0; i < n; i++) {
        if (!pts[i].kept)
            continue;
        double dx = pts[i].fx - fx, dy = pts[i].fy - fy;
        if (dx * dx + dy * dy < r2)
            return 0;
    }
    return 1;
}

/* Tries to add one spurious minutia (or a broken-ridge pair when pair is
 * set) at a random spot of the contact area. edge_bias: prefer the border.
 * Returns how many were added (0 when the spot did not fit). */
static int add_spurious(const sidik_synth_params *p, const sidik_synth_tier *T,
                        const sidik_synth_master_finger *f, const struct pose *P,
                        sidik__synth_rng *r, struct pt *pts, int n, int pair, int edge_bias)
{
    double a = sidik__synth_unif(r) * SIDIK__SYNTH_TWO_PI;
    double rho = sqrt(sidik__synth_unif(r));
    double keep = sidik__synth_unif(r), coin = sidik__synth_unif(r);
    double gap = p->ridge_period * (1 + sidik__synth_unif(r));
    double which = sidik__synth_unif(r);
    double gx = sidik__synth_gauss(r), gy = sidik__synth_gauss(r);
    double fx, fy;
    int in_patch = edge_bias && which < p->spur_cluster;
    if (in_patch) {
        /* In one of the capture's bad patches (dry or wet skin, a scar, a
         * crease): spurious minutiae cluster there. */
        int k = (int)(which / p->spur_cluster * PATCHES);
        fx = P->patch[k][0] + P->patch_r * gx;
        fy = P->patch[k][1] + P->patch_r * gy;
    } else {
        fx = P->ox + P->ax * rho * sidik__synth_cos(a);
        fy = P->oy + P->ay * rho * sidik__synth_sin(a);
    }
    /* On the finger only: the contact ellipse may reach past its edge. */
    double mx = fx / f->half_width, my = fy / f->half_height;
    if (mx * mx + my * my > 1)
        return 0;
    double cx = (fx - P->ox) / P->ax, cy = (fy - P->oy) / P->ay;
    rho = sqrt(cx * cx + cy * cy);
    if (rho > 1)
        return 0;
    double e = clamp01((rho - (1 - P->band)) / P->band);
    if (edge_bias && !in_patch && keep > 0.35 + 0.65 * e)
        return 0;
    double theta = sidik__synth_theta(&f->field, fx, fy);
    double dir = theta + (coin < 0.5 ? 0 : SIDIK__SYNTH_PI);
    int k = pair ? 2 : 1;
    double px[2] = {fx, fx}, py[2] = {fy, fy}, pa[2] = {dir, dir};
    if (pair) {
        /* Along the flow, y down: direction (cos, -sin). */
        double c = sidik__synth_cos(theta) * gap / 2, s = sidik__synth_sin(theta) * gap / 2;
        px[0] = fx + c, py[0] = fy - s, pa[0] = theta + SIDIK__SYNTH_PI;
        px[1] = fx - c, py[1] = fy + s, pa[1] = theta;
    }
    double r2 = (double)p->min_spacing * p->min_spacing;
    double x[2], y[2], da[2];
    for (int i = 0; i < k; i++) {
        if (!spaced(pts, n, px[i], py[i], r2))
            return 0;
        place(P, px[i], py[i], &x[i], &y[i], &da[i]);
        if (!in_window(P, x[i], y[i]))
            return 0;
    }
    for (int i = 0; i < k; i++) {
        struct pt *q = &pts[n + i];
        q->fx = (float)px[i];
        q->fy = (float)py[i];
        q->x = (float)x[i];
        q->y = (float)y[i];
        q->angle = (float)(pa[i] + P->rot + da[i]);
        q->edge = (float)edge_weight(P, rho, x[i], y[i]);
        q->type = pair || sidik__synth_unif(r) < SPUR_ENDING ? SIDIK_MINUTIA_ENDING
                                                             : SIDIK_MINUTIA_BIFURCATION;
        q->genuine = 0;
        q->kept = 1;
        int mid = (T->mq_lo + T->mq_hi) / 2;
        extract(T, r, P, q, p->spur_angle_sigma, T->mq_lo, mid);
    }
    return k;
}

static void draw_pose(const sidik_synth_params *p, const sidik_synth_tier *T,
                      const sidik_synth_master_finger *f, sidik__synth_rng *r, struct pose *P)
{
    const double deg = SIDIK__SYNTH_PI / 180;
    double c = sidik__synth_range(r, T->contact_lo, T->contact_hi);
    P->ax = f->half_width * c * (1 + 0.04 * sidik__synth_gauss(r));
    P->ay = f->half_height * c * (1 + 0.04 * sidik__synth_gauss(r));
    /* Most fingers are put down about where the scanner's guide asks;
     * place_tail of them well off it (too high, too low, to one side). */
    double wide = sidik__synth_unif(r) < p->place_tail ? p->place_tail_scale : 1.0;
    P->ox = wide * p->place_sigma_x * sidik__synth_gauss(r);
    P->oy = p->place_mean_y + wide * p->place_sigma_y * sidik__synth_gauss(r);

    P->ccx = 0.1 * P->ax * sidik__synth_gauss(r);
    P->ccy = 0.1 * P->ay * sidik__synth_gauss(r);
    P->cax = p->close_contact * P->ax;
    P->cay = p->close_contact * P->ay;
    P->inv2k2 = 1 / (2.0 * p->distort_k * p->distort_k);
    P->drot = p->distort_rot * deg * sidik__synth_gauss(r);
    P->dcos1 = sidik__synth_cos(P->drot) - 1;
    P->dsin = sidik__synth_sin(P->drot);
    P->dtx = p->distort_shift * sidik__synth_gauss(r);
    P->dty = p->distort_shift * sidik__synth_gauss(r);

    double tail = sidik__synth_unif(r), u = sidik__synth_unif(r), g = sidik__synth_gauss(r);
    double rot = tail < p->rot_tail ? (2 * u - 1) * p->rot_max : p->rot_sigma * g;
    if (rot > p->rot_max)
        rot = p->rot_max;
    if (rot < -p->rot_max)
        rot = -p->rot_max;
    P->rot = rot * deg;
    double scale = 1 + p->scale_sigma * sidik__synth_gauss(r);
    P->rc = scale * sidik__synth_cos(P->rot);
    P->rs = scale * sidik__synth_sin(P->rot);
    P->w = p->width;
    P->h = p->height;
    P->wx = p->width / 2.0 + p->shift_sigma_x * sidik__synth_gauss(r);
    P->wy = p->height / 2.0 + p->shift_sigma_y * sidik__synth_gauss(r);
    P->band = p->edge_band;
    for (int k = 0; k < PATCHES; k++) {
        double pa = sidik__synth_unif(r) * SIDIK__SYNTH_TWO_PI, pr = sqrt(sidik__synth_unif(r));
        P->patch[k][0] = P->ox + 0.8 * P->ax * pr * sidik__synth_cos(pa);
        P->patch[k][1] = P->oy + 0.8 * P->ay * pr * sidik__synth_sin(pa);
    }
    P->patch_r = p->spur_patch_r;
}

/* Drops the lowest-quality minutiae (the latest first among equals) until
 * max remain. */
static int cap_count(struct pt *pts, int n, int *live, int max)
{
    while (*live > max) {
        int worst = -1;
        for (int i = 0; i < n; i++)
            if (pts[i].kept && (worst < 0 || pts[i].quality <= pts[worst].quality))
                worst = i;
        pts[worst].kept = 0;
        (*live)--;
    }
    return *live;
}

static uint8_t angle_byte(double a)
{
    a = sidik__synth_wrap(a, SIDIK__SYNTH_TWO_PI);
    return (uint8_t)((int)(a * (256 / SIDIK__SYNTH_TWO_PI) + 0.5) & 0xff);
}

int sidik_synth_capture(const sidik_synth_params *p, uint64_t seed,
                        const sidik_synth_master_finger *f, uint32_t impression,
                        sidik_template *out, sidik_synth_view_info *info)
{
    if (p == NULL || f == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik__synth_rng rp, rn, rs;
    sidik__synth_rng_init(&rp, seed, f->person, f->position, impression, SIDIK__SYNTH_POSE);
    sidik__synth_rng_init(&rn, seed, f->person, f->position, impression, SIDIK__SYNTH_NOISE);
    sidik__synth_rng_init(&rs, seed, f->person, f->position, impression, SIDIK__SYNTH_SPURIOUS);

    int tier = draw_tier(p, seed, f->person, &rp);
    const sidik_synth_tier *T = &p->tier[tier];
    double miss = sidik__synth_range(&rp, T->miss_lo, T->miss_hi);
    double spur = sidik__synth_range(&rp, T->spur_lo, T->spur_hi);
    struct pose P;
    draw_pose(p, T, f, &rp, &P);

    /* Visible: inside the contact ellipse and the image. */
    struct pt pts[CAP];
    int n = 0;
    double wsum = 0;
    for (int i = 0; i < f->count; i++) {
        const sidik_synth_minutia *m = &f->m[i];
        double ex = (m->x - P.ox) / P.ax, ey = (m->y - P.oy) / P.ay;
        double rho2 = ex * ex + ey * ey;
        if (rho2 > 1)
            continue;
        double x, y, da;
        place(&P, m->x, m->y, &x, &y, &da);
        if (!in_window(&P, x, y))
            continue;
        struct pt *q = &pts[n++];
        q->fx = m->x;
        q->fy = m->y;
        q->x = (float)x;
        q->y = (float)y;
        q->angle = (float)(sidik__synth_master_attr(p, f, i, &q->type) + P.rot + da);
        q->edge = (float)edge_weight(&P, sqrt(rho2), x, y);
        q->genuine = 1;
        q->kept = 0;
        wsum += 0.6 + 0.8 * q->edge;
    }
    const int visible = n;

    /* Missed: the tier's rate on average, weighted towards the edges. */
    int kept = 0;
    double scale = wsum > 0 ? miss * visible / wsum : 0;
    for (int i = 0; i < visible; i++) {
        struct pt *q = &pts[i];
        double pm = scale * (0.6 + 0.8 * q->edge);
        if (sidik__synth_unif(&rn) < (pm > 0.95 ? 0.95 : pm))
            continue;
        q->kept = 1;
        kept++;
        if (sidik__synth_unif(&rn) < T->type_swap)
            q->type =
                q->type == SIDIK_MINUTIA_ENDING ? SIDIK_MINUTIA_BIFURCATION : SIDIK_MINUTIA_ENDING;
        extract(T, &rn, &P, q, T->angle_sigma, T->mq_lo, T->mq_hi);
    }

    /* Spurious. */
    int want = (int)(spur * kept + sidik__synth_unif(&rs));
    int spurious = 0;
    for (int tries = 20 * want + 20; tries > 0 && spurious < want && n < CAP - 2; tries--) {
        int pair = want - spurious >= 2 && sidik__synth_unif(&rs) < p->spur_pair_share;
        int k = add_spurious(p, T, f, &P, &rs, pts, n, pair, 1);
        n += k;
        spurious += k;
    }

    /* The count within [min_count, max_count]. */
    int live = kept + spurious;
    cap_count(pts, n, &live, p->max_count);
    for (int i = 0; i < visible && live < p->min_count; i++) {
        struct pt *q = &pts[i];
        if (q->kept)
            continue;
        q->kept = 1;
        live++;
        kept++;
        extract(T, &rn, &P, q, T->angle_sigma, T->mq_lo, T->mq_hi);
    }
    for (int tries = 400; tries > 0 && live < p->min_count && n < CAP - 2; tries--) {
        int k = add_spurious(p, T, f, &P, &rs, pts, n, 0, 0);
        n += k;
        live += k;
        spurious += k;
    }

    /* Raster order: by row, then column. */
    memset(out, 0, offsetof(sidik_template, m));
    out->width = p->width;
    out->height = p->height;
    out->position = f->position;
    out->impression = 0;
    out->quality = (uint8_t)(T->fq_lo + (T->fq_hi - T->fq_lo) * sidik__synth_unif(&rp) + 0.5);
    int c = 0;
    int out_kept = 0, out_spur = 0;
    for (int i = 0; i < n && c < SIDIK_TMPL_MAX_MINUTIAE; i++) {
        const struct pt *q = &pts[i];
        if (!q->kept)
            continue;
        sidik_minutia mm;
        mm.x = (uint16_t)(q->x + 0.5f);
        mm.y = (uint16_t)(q->y + 0.5f);
        if (mm.x >= p->width)
            mm.x = (uint16_t)(p->width - 1);
        if (mm.y >= p->height)
            mm.y = (uint16_t)(p->height - 1);
        mm.angle = angle_byte(q->angle);
        mm.type = q->type;
        mm.quality = q->quality ? q->quality : 1;
        mm.reserved = 0;
        uint32_t key = (uint32_t)mm.y << 16 | mm.x;
        int j = c;
        while (j > 0 && ((uint32_t)out->m[j - 1].y << 16 | out->m[j - 1].x) > key) {
            out->m[j] = out->m[j - 1];
            j--;
        }
        out->m[j] = mm;
        c++;
        out_kept += q->genuine;
        out_spur += !q->genuine;
    }
    out->count = (uint8_t)c;

    if (info != NULL) {
        info->finger = f->position;
        info->position = f->position;
        info->tier = (uint8_t)tier;
        info->pattern = f->pattern;
        info->visible = (uint16_t)visible;
        info->kept = (uint16_t)out_kept;
        info->spurious = (uint16_t)out_spur;
        info->count = (uint16_t)c;
        info->rotation = (float)(P.rot * (180 / SIDIK__SYNTH_PI));
    }
    return 0;
}
