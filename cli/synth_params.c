/*
 * The synthetic population's realism parameters: the calibrated defaults and
 * their check. docs/synthetic.md explains each value; `sidik gen
 * --calibrate` is how they were chosen (the matcher's EER on synthetic
 * single-finger pairs must not be below its EER on FVC2002), within the
 * ranges the literature and the FVC2002 templates support.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "sidik/err.h"

#include <math.h>
#include <string.h>

void sidik_synth_params_default(sidik_synth_params *p)
{
    memset(p, 0, sizeof *p);
    /* A 300 x 400 window at 500 dpi: FVC2002's templates' header size and a
     * common single-finger flat scanner (15 x 20 mm). */
    p->width = 300;
    p->height = 400;
    p->min_count = 20;
    p->max_count = 80;

    p->density = 6.9f;
    p->density_sigma = 0.15f;
    p->min_spacing = 8.5f;
    p->ridge_period = 9.5f;
    p->ending_share = 0.6f;
    p->size_sigma_person = 0.06f;
    p->size_sigma_finger = 0.03f;
    p->warp = 0.30f;
    p->perturb = 0.10f;
    p->dir_sigma = 3.0f;
    p->dir_coherence = 0.5f;
    p->dir_down = 0.8f;

    p->rot_sigma = 9.0f;
    p->rot_tail = 0.10f;
    p->rot_max = 35.0f;
    p->shift_sigma_x = 15.0f;
    p->shift_sigma_y = 20.0f;
    p->place_sigma_x = 12.0f;
    p->place_sigma_y = 22.0f;
    p->place_mean_y = 0.0f;
    p->place_tail = 0.25f;
    p->place_tail_scale = 3.0f;
    p->scale_sigma = 0.02f;

    p->close_contact = 0.40f;
    p->distort_k = 60.0f;
    p->distort_shift = 6.0f;
    p->distort_rot = 3.0f;

    p->edge_band = 0.20f;
    p->spur_pair_share = 0.30f;
    p->spur_angle_sigma = 12.0f;
    p->spur_cluster = 0.4f;
    p->spur_patch_r = 25.0f;

    static const sidik_synth_tier tiers[SIDIK_SYNTH_TIERS] = {
        /* share pos ang  miss         spur         contact      swap  mq      fq */
        {0.55f, 2.0f, 5.0f, 0.20f, 0.25f, 0.10f, 0.14f, 0.72f, 0.88f, 0.08f, 60, 100, 70, 100},
        {0.30f, 2.5f, 6.5f, 0.25f, 0.30f, 0.14f, 0.19f, 0.66f, 0.82f, 0.12f, 40, 80, 45, 75},
        {0.15f, 3.5f, 9.0f, 0.30f, 0.35f, 0.19f, 0.25f, 0.58f, 0.74f, 0.18f, 20, 60, 20, 50},
    };
    memcpy(p->tier, tiers, sizeof tiers);
}

static int bad(const char **why, const char *msg)
{
    if (why != NULL)
        *why = msg;
    return SIDIK_ERANGE;
}

/* lo <= v <= hi, and not NaN. */
static int in(double v, double lo, double hi)
{
    return v >= lo && v <= hi;
}

int sidik_synth_params_check(const sidik_synth_params *p, const char **why)
{
    if (why != NULL)
        *why = NULL;
    if (p == NULL)
        return SIDIK_EINVAL;
    if (!in(p->width, 64, 4096) || !in(p->height, 64, 4096))
        return bad(why, "width and height must be 64..4096 px");
    if (p->min_count > p->max_count || p->max_count > SIDIK_TMPL_MAX_MINUTIAE)
        return bad(why, "need min_count <= max_count <= 192");
    if (!in(p->density, 0.1, 40) || !in(p->density_sigma, 0, 0.5))
        return bad(why, "density must be 0.1..40 per 10,000 px^2, density_sigma 0..0.5");
    if (!in(p->min_spacing, 4, 30) || !in(p->ridge_period, p->min_spacing, 30))
        return bad(why, "min_spacing must be 4..30 px and ridge_period min_spacing..30 px");
    if (!in(p->ending_share, 0, 1) || !in(p->dir_coherence, 0, 1) || !in(p->dir_down, 0, 10))
        return bad(why, "ending_share and dir_coherence must be 0..1, dir_down 0..10");
    if (!in(p->size_sigma_person, 0, 0.1) || !in(p->size_sigma_finger, 0, 0.1))
        return bad(why, "size sigmas must be 0..0.1 (the master grid is sized for that)");
    if (!in(p->warp, 0, 0.7) || !in(p->perturb, 0, 0.5) || !in(p->dir_sigma, 0, 90))
        return bad(why, "warp must be 0..0.7 rad, perturb 0..0.5 rad, dir_sigma 0..90 degrees");
    if (!in(p->rot_max, 0, 180) || !in(p->rot_sigma, 0, 180) || !in(p->rot_tail, 0, 1))
        return bad(why, "rotation: rot_max and rot_sigma 0..180 degrees, rot_tail 0..1");
    if (!in(p->shift_sigma_x, 0, 200) || !in(p->shift_sigma_y, 0, 200) ||
        !in(p->place_sigma_x, 0, 200) || !in(p->place_sigma_y, 0, 200) ||
        !in(p->place_mean_y, -200, 200) || !in(p->place_tail, 0, 1) ||
        !in(p->place_tail_scale, 1, 10))
        return bad(why, "shift and place sigmas must be 0..200 px, place_mean_y -200..200 px, "
                        "place_tail 0..1, place_tail_scale 1..10");
    if (!in(p->scale_sigma, 0, 0.2))
        return bad(why, "scale_sigma must be 0..0.2");
    if (!in(p->close_contact, 0.05, 1) || !in(p->distort_k, 1, 1000) ||
        !in(p->distort_shift, 0, 100) || !in(p->distort_rot, 0, 45))
        return bad(why, "distortion: close_contact 0.05..1, distort_k 1..1000 px, "
                        "distort_shift 0..100 px, distort_rot 0..45 degrees");
    if (!in(p->edge_band, 0.01, 1) || !in(p->spur_pair_share, 0, 1) ||
        !in(p->spur_angle_sigma, 0, 90))
        return bad(why, "edge_band must be 0.01..1, spur_pair_share 0..1, spur_angle_sigma "
                        "0..90 degrees");
    double shares = 0;
    for (int t = 0; t < SIDIK_SYNTH_TIERS; t++) {
        const sidik_synth_tier *T = &p->tier[t];
        if (!in(T->share, 0, 1))
            return bad(why, "tier share must be 0..1");
        shares += T->share;
        if (!in(T->pos_sigma, 0, 50) || !in(T->angle_sigma, 0, 90))
            return bad(why, "tier noise: pos_sigma 0..50 px, angle_sigma 0..90 degrees");
        if (!in(T->miss_lo, 0, 0.95) || !in(T->miss_hi, T->miss_lo, 0.95))
            return bad(why, "tier miss range must be ordered within 0..0.95");
        if (!in(T->spur_lo, 0, 1) || !in(T->spur_hi, T->spur_lo, 1))
            return bad(why, "tier spurious range must be ordered within 0..1");
        if (!in(T->contact_lo, 0.1, 1.5) || !in(T->contact_hi, T->contact_lo, 1.5))
            return bad(why, "tier contact range must be ordered within 0.1..1.5");
        if (!in(T->type_swap, 0, 1))
            return bad(why, "tier type_swap must be 0..1");
        if (T->mq_lo < 1 || T->mq_hi > 100 || T->mq_lo > T->mq_hi || T->fq_hi > 100 ||
            T->fq_lo > T->fq_hi)
            return bad(why, "tier qualities: 1 <= mq_lo <= mq_hi <= 100, fq_lo <= fq_hi <= 100");
    }
    if (fabs(shares - 1) > 1e-4)
        return bad(why, "tier shares must sum to 1");
    return 0;
}
