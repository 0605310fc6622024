/*
 * The enrollment loadgen uploads (loadgen_int.h): built once, valid by
 * every rule of server/validate.c, then packed once per message with a new
 * enrollment_id. Packing per message (about 25 KB) costs microseconds, far
 * less than the TLS record it travels in, and keeps the message honest:
 * exactly what protobuf-c would send.
 */
#include "loadgen_int.h"
#include "sidik/common.h"
#include "sidik/grpc_frame.h"
#include "synth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int lg_enroll_init(lg_enroll *x, const char *office, size_t face_bytes)
{
    memset(x, 0, sizeof *x);
    sidik__v1__enrollment__init(&x->e);
    sidik__v1__demographics__init(&x->d);
    if (RAND_bytes(x->run, sizeof x->run) != 1)
        return -1;
    x->e.office_code = (char *)office;
    /* Captured an hour ago: validate.c refuses times more than a day ahead. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x->e.capture_time_ms = (int64_t)ts.tv_sec * 1000 - 3600 * 1000;
    x->e.station_id = "loadgen";
    x->e.demographics = &x->d;
    /* A woman born 1990-05-25 in Jakarta: day 25 + 40 in the NIK. */
    x->d.nik = "3171016505900001";
    x->d.full_name = "Siti Rahayu";
    x->d.birth_place = "Jakarta";
    x->d.birth_date = "1990-05-25";
    x->d.sex = SIDIK__V1__SEX__FEMALE;
    x->d.address = "Jl. Melawai 10";
    x->d.region_code = "317101";

    /* Ten single-finger ISO 19794-2:2005 records of one synthetic person,
     * as tests/support/enrollment_fixture.h makes them. */
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *all = sidik_xmalloc(sizeof *all), *one = sidik_xmalloc(sizeof *one);
    int rc = sidik_synth_impression(&p, 3, 1, 0, all, NULL, NULL);
    for (int i = 0; rc == 0 && i < 10 && (uint32_t)i < all->nviews; i++) {
        sidik__v1__finger_record__init(&x->f[i]);
        *one = (sidik_fmr){.format = SIDIK_FMR_ISO_2005, .nviews = 1};
        one->views[0] = all->views[i];
        size_t len;
        rc = sidik_fmr_encode_iso2005(one, x->tmpl[i], sizeof x->tmpl[i], &len);
        x->f[i].position = (Sidik__V1__FingerPosition)all->views[i].position;
        x->f[i].format = SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005;
        x->f[i].template_.data = x->tmpl[i];
        x->f[i].template_.len = len;
        x->f[i].nfiq = 2;
        x->fp[i] = &x->f[i];
    }
    if (all->nviews != 10)
        rc = -1;
    sidik_free(all);
    sidik_free(one);
    if (rc != 0)
        return -1;
    x->e.fingers = x->fp;
    x->e.n_fingers = 10;

    /* Random bytes stand in for the JPEG: incompressible, as a real one is. */
    x->face_data = sidik_xmalloc(face_bytes);
    if (RAND_bytes(x->face_data, (int)face_bytes) != 1)
        return -1;
    unsigned mdlen;
    EVP_Digest(x->face_data, face_bytes, x->face_sha256, &mdlen, EVP_sha256(), NULL);
    sidik__v1__attachment__init(&x->face);
    x->face.kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    x->face.media_type = "image/jpeg";
    x->face.data.data = x->face_data;
    x->face.data.len = face_bytes;
    x->face.sha256.data = x->face_sha256;
    x->face.sha256.len = 32;
    x->ap[0] = &x->face;
    x->e.attachments = x->ap;
    x->e.n_attachments = 1;
    x->e.enrollment_id = x->id;
    return 0;
}

void lg_enroll_close(lg_enroll *x)
{
    sidik_free(x->face_data);
    x->face_data = NULL;
}

uint8_t *lg_enroll_next(lg_enroll *x, size_t *len, char id[LG_ID_LEN + 1])
{
    /* 48 bits of run prefix and a 48-bit counter, in a version 4 UUID's
     * shape: unique within the run, and across runs with near certainty. */
    const uint8_t *r = x->run;
    snprintf(x->id, sizeof x->id, "%02x%02x%02x%02x-%02x%02x-4000-8000-%012llx", r[0], r[1], r[2],
             r[3], r[4], r[5], (unsigned long long)(x->counter++ & 0xffffffffffffull));
    memcpy(id, x->id, LG_ID_LEN + 1);
    size_t n_msg = sidik__v1__enrollment__get_packed_size(&x->e);
    uint8_t *buf = sidik_xmalloc(SIDIK_GRPC_PREFIX_BYTES + n_msg);
    sidik_grpc_prefix_encode(buf, (uint32_t)n_msg);
    sidik__v1__enrollment__pack(&x->e, buf + SIDIK_GRPC_PREFIX_BYTES);
    *len = SIDIK_GRPC_PREFIX_BYTES + n_msg;
    return buf;
}
