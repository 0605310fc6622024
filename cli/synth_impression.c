/*
 * A ten-finger capture of one synthetic person as a multi-view record: the
 * ten masters, each captured under the same impression number, views in
 * position order (see synth.h). A re-enrollment may exchange two fingers
 * (the operator put the left index where the right index belongs) or lose
 * fingers (amputated, bandaged); the physical finger decides what is
 * captured, the label decides the view's position.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "sidik/err.h"

#include <string.h>

static int alter_ok(const sidik_synth_alter *a)
{
    if (a->swap_a == 0 && a->swap_b == 0)
        return (a->missing & 0x3ff) != 0x3ff && (a->missing & ~0x3ffu) == 0;
    return a->swap_a >= 1 && a->swap_a <= SIDIK_SYNTH_FINGERS && a->swap_b >= 1 &&
           a->swap_b <= SIDIK_SYNTH_FINGERS && a->swap_a != a->swap_b &&
           (a->missing & 0x3ff) != 0x3ff && (a->missing & ~0x3ffu) == 0;
}

int sidik_synth_impression(const sidik_synth_params *p, uint64_t seed, uint64_t person,
                           uint32_t impression, sidik_fmr *out, const sidik_synth_alter *alter,
                           sidik_synth_view_info *info)
{
    static const sidik_synth_alter none = {0, 0, 0};
    if (p == NULL || out == NULL)
        return SIDIK_EINVAL;
    if (alter == NULL)
        alter = &none;
    if (!alter_ok(alter))
        return SIDIK_EINVAL;
    out->format = SIDIK_FMR_ISO_2005;
    out->nviews = 0;
    sidik_synth_master_finger master;
    for (int label = 1; label <= SIDIK_SYNTH_FINGERS; label++) {
        int finger = label == alter->swap_a   ? alter->swap_b
                     : label == alter->swap_b ? alter->swap_a
                                              : label;
        if (alter->missing & (1u << (finger - 1)))
            continue;
        int rc = sidik__synth_master_points(p, seed, person, finger, &master);
        sidik_template *t = &out->views[out->nviews];
        sidik_synth_view_info *vi = info != NULL ? &info[out->nviews] : NULL;
        if (rc == 0)
            rc = sidik_synth_capture(p, seed, &master, impression, t, vi);
        if (rc != 0)
            return rc;
        t->position = (uint8_t)label;
        if (vi != NULL)
            vi->position = (uint8_t)label;
        out->nviews++;
    }
    return 0;
}
