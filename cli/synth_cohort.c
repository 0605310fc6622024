/*
 * A search cohort of synthetic persons (sidik_synth_cohort in synth.h): what
 * sidikd and the benchmarks give the gallery (sidik_gallery_set_cohort)
 * until an operator gives it one drawn from real captures.
 */
#include "sidik/common.h"
#include "synth.h"

int sidik_synth_cohort(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                       sidik_person_sig **out)
{
    if (p == NULL || out == NULL)
        return SIDIK_EINVAL;
    *out = NULL;
    if (persons < 1 || persons > SIDIK_GALLERY_MAX_COHORT)
        return SIDIK_ERANGE;
    sidik_person_sig *c = sidik_trycalloc(persons, sizeof *c);
    sidik_fmr *r = sidik_trymalloc(sizeof *r);
    int rc = c == NULL || r == NULL ? SIDIK_ENOMEM : 0;
    for (uint32_t i = 0; rc == 0 && i < persons; i++) {
        rc = sidik_synth_impression(p, seed, i, 0, r, NULL, NULL);
        if (rc == 0)
            rc = sidik_sig_person(r, &c[i], NULL);
    }
    sidik_free(r);
    if (rc != 0) {
        sidik_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
