/*
 * A valid Enrollment for the server tests: ten single-finger ISO records of
 * one synthetic person, demographics with a consistent NIK, a face and a
 * signature with their hashes. make_base builds it once (a cmocka group
 * setup); copy() hands each test its own, pointers wired to its storage.
 * Include after test_support.h.
 */
#ifndef SIDIK_TEST_ENROLLMENT_FIXTURE_H
#define SIDIK_TEST_ENROLLMENT_FIXTURE_H

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "sidik.pb-c.h"
#include "sidik/matcher.h"
#include "synth.h"

#define NOW_MS 1795000000000LL

typedef struct fixture {
    Sidik__V1__Enrollment e;
    Sidik__V1__Demographics d;
    Sidik__V1__FingerRecord f[10];
    Sidik__V1__FingerRecord *fp[10];
    uint8_t tmpl[10][4096];
    Sidik__V1__Attachment a[2];
    Sidik__V1__Attachment *ap[2];
    uint8_t face[3000], sig[700];
    uint8_t hash[2][32];
    char nik[17], birth[11], id[37];
} fixture;

static fixture base;

static inline void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Points x's pointers at x's own storage (after a struct copy). */
static inline void wire(fixture *x)
{
    x->e.demographics = &x->d;
    x->d.nik = x->nik;
    x->d.birth_date = x->birth;
    x->e.enrollment_id = x->id;
    for (int i = 0; i < 10; i++) {
        x->fp[i] = &x->f[i];
        x->f[i].template_.data = x->tmpl[i];
    }
    x->e.fingers = x->fp;
    x->a[0].data.data = x->face;
    x->a[0].sha256.data = x->hash[0];
    x->a[1].data.data = x->sig;
    x->a[1].sha256.data = x->hash[1];
    x->ap[0] = &x->a[0];
    x->ap[1] = &x->a[1];
    x->e.attachments = x->ap;
}

static inline int make_base(void **state)
{
    (void)state;
    fixture *x = &base;
    sidik__v1__enrollment__init(&x->e);
    sidik__v1__demographics__init(&x->d);
    strcpy(x->id, "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d7c10");
    x->e.office_code = "JKT-01";
    x->e.capture_time_ms = NOW_MS - 3600 * 1000;
    x->e.station_id = "station-07";
    strcpy(x->nik, "3171016505900001"); /* a woman born 1990-05-25 */
    strcpy(x->birth, "1990-05-25");
    x->d.full_name = "Siti Rahayu";
    x->d.birth_place = "Jakarta";
    x->d.sex = SIDIK__V1__SEX__FEMALE;
    x->d.address = "Jl. Melawai 10";
    x->d.region_code = "317101";
    /* Ten single-finger ISO records from a synthetic person. */
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *all = malloc(sizeof *all), *one = malloc(sizeof *one);
    if (sidik_synth_impression(&p, 3, 1, 0, all, NULL, NULL) != 0 || all->nviews != 10)
        return -1;
    for (int i = 0; i < 10; i++) {
        sidik__v1__finger_record__init(&x->f[i]);
        *one = (sidik_fmr){.format = SIDIK_FMR_ISO_2005, .nviews = 1};
        one->views[0] = all->views[i];
        size_t len;
        if (sidik_fmr_encode_iso2005(one, x->tmpl[i], sizeof x->tmpl[i], &len) != 0)
            return -1;
        x->f[i].position = (Sidik__V1__FingerPosition)all->views[i].position;
        x->f[i].format = SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005;
        x->f[i].template_.len = len;
        x->f[i].nfiq = 2;
    }
    free(all);
    free(one);
    x->e.n_fingers = 10;
    for (int i = 0; i < 2; i++)
        sidik__v1__attachment__init(&x->a[i]);
    memset(x->face, 0xd8, sizeof x->face);
    memset(x->sig, 0x89, sizeof x->sig);
    x->a[0].kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    x->a[0].media_type = "image/jpeg";
    x->a[0].data.len = sizeof x->face;
    x->a[0].sha256.len = 32;
    sha(x->face, sizeof x->face, x->hash[0]);
    x->a[1].kind = SIDIK__V1__ATTACHMENT_KIND__SIGNATURE;
    x->a[1].media_type = "image/png";
    x->a[1].data.len = sizeof x->sig;
    x->a[1].sha256.len = 32;
    sha(x->sig, sizeof x->sig, x->hash[1]);
    x->e.n_attachments = 2;
    wire(x);
    return 0;
}

static inline fixture *copy(void)
{
    fixture *x = malloc(sizeof *x);
    *x = base;
    wire(x);
    return x;
}

#endif
