/*
 * Shared by the storage tests that store persons: twelve synthetic persons
 * with their ISO record and search signature, made once per test program by
 * make_people (a cmocka group setup). Two fingers each, not ten: a shard
 * walk computes every record's signature from its templates, and these
 * tests walk thousands of records, under the sanitizers too.
 */
#ifndef SIDIK_STORAGE_PEOPLE_H
#define SIDIK_STORAGE_PEOPLE_H

#include "sidik/shard.h"
#include "storage_test.h"
#include "synth.h"

#define PERSONS 12

typedef struct person {
    sidik_fmr fmr;
    sidik_person_sig sig;
    uint8_t tmpl[SIDIK_SHARD_TEMPLATE_MAX];
    size_t len;
} person;

static person *people;


static int make_people(void **state)
{
    (void)state;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    people = calloc(PERSONS, sizeof *people);
    for (uint64_t i = 0; i < PERSONS; i++) {
        person *x = &people[i];
        if (sidik_synth_impression(&p, 99, i, 0, &x->fmr, NULL, NULL) != 0)
            return -1;
        x->fmr.nviews = 2;
        if (sidik_sig_person(&x->fmr, &x->sig, NULL) != 0 ||
            sidik_fmr_encode_iso2005(&x->fmr, x->tmpl, sizeof x->tmpl, &x->len) != 0)
            return -1;
    }
    return 0;
}

static int free_people(void **state)
{
    (void)state;
    free(people);
    return 0;
}

static inline sidik_shard_record person_record(uint64_t id)
{
    const person *x = &people[id % PERSONS];
    return (sidik_shard_record){id, x->tmpl, x->len};
}

#endif
