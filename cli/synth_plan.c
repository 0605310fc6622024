/*
 * The enrollment plan: which person each record of a synthetic stream is,
 * with re-enrollments planted among the new enrollments (see synth.h).
 *
 * Layout. With N new persons and M re-enrollments, block j (0 <= j < M)
 * holds the new persons s_j .. s_{j+1} - 1, s_j = floor(j N / M), and
 * re-enrollment j right after person a_j = s_j + u_j of it, u_j drawn
 * uniformly below the block's size. Block j's records start at s_j + j, so
 * record r lies in the last block whose start is <= r: a binary search over
 * j, and a few multiplications, for any record in any order.
 *
 * Why planted evenly, block by block, and not at uniformly random places:
 * random access needs the count of re-enrollments before any record in
 * closed form; within its block each one still falls anywhere, so a
 * deduplication benchmark meets them at an even rate, as a live system
 * would meet people trying to register twice.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "sidik/err.h"

#include <math.h>

int sidik_synth_plan_init(sidik_synth_plan *plan, uint64_t seed, uint64_t persons, double rate)
{
    if (plan == NULL)
        return SIDIK_EINVAL;
    if (persons < 1 || persons > SIDIK_SYNTH_MAX_PERSONS || !(rate >= 0 && rate <= 1))
        return SIDIK_ERANGE;
    plan->seed = seed;
    plan->persons = persons;
    /* floor(N * rate), exact for the rates a command line can spell: the
     * product is below 2^30, where doubles are exact integers, and a tiny
     * tolerance keeps 0.29 * 100 (28.999999999999996) from becoming 28. */
    double m = floor((double)persons * rate * (1 + 1e-12));
    plan->reenrolls = m > (double)persons ? persons : (uint64_t)m;
    plan->swap_share = 0.10f;
    plan->missing_share = 0.10f;
    return 0;
}

uint64_t sidik_synth_plan_records(const sidik_synth_plan *plan)
{
    return plan->persons + plan->reenrolls;
}

/* First new person of block j. */
static uint64_t block_start(const sidik_synth_plan *plan, uint64_t j)
{
    return (uint64_t)((unsigned __int128)j * plan->persons / plan->reenrolls);
}

/* Where in block j re-enrollment j goes (after that many of its persons,
 * minus one), whom it re-enrolls, and how. */
static void block_draw(const sidik_synth_plan *plan, uint64_t j, uint64_t *after,
                       sidik_synth_entry *e)
{
    sidik__synth_rng r;
    sidik__synth_rng_init(&r, plan->seed, j, 0, 0, SIDIK__SYNTH_PLAN);
    uint64_t s = block_start(plan, j), size = block_start(plan, j + 1) - s;
    *after = s + sidik__synth_below(&r, size);
    e->person = sidik__synth_below(&r, *after + 1);
    e->impression = (uint32_t)(j + 1);
    e->kind = SIDIK_SYNTH_REENROLL;
    e->alter.swap_a = e->alter.swap_b = 0;
    e->alter.missing = 0;
    double u = sidik__synth_unif(&r);
    uint64_t f1 = sidik__synth_below(&r, SIDIK_SYNTH_FINGERS);
    uint64_t f2 = sidik__synth_below(&r, SIDIK_SYNTH_FINGERS - 1);
    if (f2 >= f1)
        f2++; /* a second finger, distinct from the first */
    double two = sidik__synth_unif(&r);
    if (u < plan->swap_share) {
        e->alter.swap_a = (uint8_t)(1 + (f1 < f2 ? f1 : f2));
        e->alter.swap_b = (uint8_t)(1 + (f1 < f2 ? f2 : f1));
    } else if (u < plan->swap_share + plan->missing_share) {
        e->alter.missing = (uint16_t)(1u << f1);
        if (two < 1.0 / 3)
            e->alter.missing |= (uint16_t)(1u << f2);
    }
}

int sidik_synth_plan_entry(const sidik_synth_plan *plan, uint64_t record, sidik_synth_entry *out)
{
    if (plan == NULL || out == NULL)
        return SIDIK_EINVAL;
    if (record >= sidik_synth_plan_records(plan))
        return SIDIK_ERANGE;
    const sidik_synth_alter none = {0, 0, 0};
    if (plan->reenrolls == 0) {
        out->person = record;
        out->impression = 0;
        out->kind = SIDIK_SYNTH_NEW;
        out->alter = none;
        return 0;
    }
    /* The last block j with s_j + j <= record. */
    uint64_t lo = 0, hi = plan->reenrolls - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (block_start(plan, mid) + mid <= record)
            lo = mid;
        else
            hi = mid - 1;
    }
    uint64_t j = lo, after;
    sidik_synth_entry e;
    block_draw(plan, j, &after, &e);
    /* Records of block j: its persons up to `after`, the re-enrollment,
     * then the rest of its persons. */
    uint64_t at = after + 1 + j; /* the re-enrollment's record */
    if (record == at) {
        *out = e;
        return 0;
    }
    out->person = record < at ? record - j : record - j - 1;
    out->impression = 0;
    out->kind = SIDIK_SYNTH_NEW;
    out->alter = none;
    return 0;
}
