/*
 * The uploader's captures (cli/upload.h): Enrollments built from `sidik gen`
 * records must be what the centre accepts (a UUID id derived from office and
 * record, a NIK whose structure and birth date agree, one single-view ISO
 * record per finger that decodes back to the capture's view, a face and a
 * signature whose SHA-256 is right), deterministic and canonical (so the
 * spool takes them and a re-add is a no-op); hostile gen folders and
 * capture folders (garbage, truncated and oversized files, wrong or
 * missing ids, a FIFO, a folder, names that are not captures, another
 * encoder's field order) get exact errors, never a crash or a hang.
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/template.h"
#include "sidik.pb-c.h"
#include "spool.h"
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <sys/stat.h>

/* ---- fixtures ------------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_text(const char *dir, const char *name, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write_file(dir, name, buf, (size_t)n);
}

/* A ten-finger capture as `sidik gen` writes one: an ISO 2005 record with a
 * view of each position in mask (bit p for position p), minutiae from seed. */
static size_t make_record(uint8_t *out, size_t cap, unsigned mask, uint64_t seed)
{
    sidik_fmr *f = calloc(1, sizeof *f);
    for (unsigned pos = 1; pos <= 10; pos++) {
        if (!(mask & (1u << pos)))
            continue;
        sidik_template *v = &f->views[f->nviews++];
        v->width = 300;
        v->height = 400;
        v->position = (uint8_t)pos;
        v->quality = 60;
        v->count = 30;
        for (int i = 0; i < 30; i++) {
            uint64_t r = sidik_test_rand(&seed);
            v->m[i] = (sidik_minutia){.x = (uint16_t)(r % 300),
                                      .y = (uint16_t)((r >> 16) % 400),
                                      .angle = (uint8_t)(r >> 32),
                                      .type = (uint8_t)(1 + (r >> 40) % 2),
                                      .quality = 50};
        }
    }
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(f, out, cap, &len), 0);
    free(f);
    return len;
}

/* A gen folder: records (masks) and, when truth, the truth.csv rows with
 * the given person of each. */
static void make_gen(const char *dir, const unsigned *masks, const uint64_t *persons, size_t n,
                     bool truth)
{
    uint8_t *all = malloc(n * 8192);
    size_t off = 0;
    char csv[8192];
    size_t c = (size_t)snprintf(csv, sizeof csv,
                                "record,offset,length,person,impression,kind,swapped,missing\n");
    for (size_t i = 0; i < n; i++) {
        size_t len = make_record(all + off, 8192, masks[i], 1000 + i);
        c += (size_t)snprintf(csv + c, sizeof csv - c, "%zu,%zu,%zu,%llu,%zu,%s,,\n", i, off, len,
                              (unsigned long long)persons[i], i, i ? "reenroll" : "new");
        off += len;
    }
    write_file(dir, "records.iso", all, off);
    if (truth)
        write_file(dir, "truth.csv", csv, c);
    free(all);
}

static const sidik_upload_capture_options opts = {.office = "JKT-01",
                                                  .station = "ST-07",
                                                  .face_bytes = 3000,
                                                  .signature_bytes = 700,
                                                  .capture_time_ms = 1796207703000};

static void *pb_alloc(void *d, size_t n)
{
    (void)d;
    return sidik_trymalloc(n);
}
static void pb_free(void *d, void *p)
{
    (void)d;
    sidik_free(p);
}
static ProtobufCAllocator alloc = {pb_alloc, pb_free, NULL};

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

/* Builds record i of dir (all read through the reader). */
static int build_nth(const char *dir, size_t nth, const sidik_upload_capture_options *o,
                     uint8_t **p, size_t *n, char id[SIDIK_UPLOAD_ID_LEN + 1], uint64_t *person)
{
    sidik_upload_gen *g;
    char why[256];
    assert_int_equal(sidik_upload_gen_open(dir, &g, why, sizeof why), 0);
    sidik_upload_gen_record r;
    for (size_t i = 0; i <= nth; i++)
        assert_int_equal(sidik_upload_gen_next(g, &r, why, sizeof why), 1);
    const char *bwhy = NULL;
    int rc = sidik_upload_gen_build(&r, o, p, n, id, &bwhy);
    if (person != NULL)
        *person = r.person;
    sidik_upload_gen_close(g);
    return rc;
}

/* ---- from `sidik gen` ---------------------------------------------------------------- */

static bool uuid_v8(const char *s)
{
    if (strlen(s) != 36 || s[14] != '8' || strchr("89ab", s[19]) == NULL)
        return false;
    for (int i = 0; i < 36; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
                                                      : strchr("0123456789abcdef", s[i]) == NULL)
            return false;
    return true;
}

static void test_cli_upload_gen_builds_what_the_centre_takes(void **state)
{
    (void)state;
    char *dir = scratch_create();
    unsigned all10 = 0x7fe, no4 = 0x7fe & ~(1u << 4);
    unsigned masks[] = {all10, no4, all10};
    uint64_t persons[] = {0, 1, 0}; /* record 2 re-enrolls person 0 */
    make_gen(dir, masks, persons, 3, true);

    uint8_t *p;
    size_t n;
    char id[SIDIK_UPLOAD_ID_LEN + 1];
    uint64_t person;
    assert_int_equal(build_nth(dir, 0, &opts, &p, &n, id, &person), 0);
    assert_int_equal(person, 0);
    assert_true(uuid_v8(id));
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&alloc, n, p);
    assert_non_null(e);
    assert_string_equal(e->enrollment_id, id);
    assert_string_equal(e->office_code, "JKT-01");
    assert_string_equal(e->station_id, "ST-07");
    assert_int_equal(e->capture_time_ms, 1796207703000);
    /* The NIK: district 317101, DDMMYY agreeing with birth_date and sex
     * (day + 40 for women), a serial that is not 0000. */
    const Sidik__V1__Demographics *d = e->demographics;
    assert_int_equal(strlen(d->nik), 16);
    assert_memory_equal(d->nik, "317101", 6);
    int day = (d->nik[6] - '0') * 10 + d->nik[7] - '0';
    bool female = d->sex == SIDIK__V1__SEX__FEMALE;
    assert_true(female || d->sex == SIDIK__V1__SEX__MALE);
    char want_date[16];
    snprintf(want_date, sizeof want_date, "19%c%c-%c%c-%02d", d->nik[10], d->nik[11], d->nik[8],
             d->nik[9], day - (female ? 40 : 0));
    assert_string_equal(d->birth_date, want_date);
    assert_string_not_equal(d->nik + 12, "0000");
    assert_string_equal(d->region_code, "317101");
    assert_true(strlen(d->full_name) > 0 && strlen(d->birth_place) > 0);
    /* One single-view record per finger, each its capture's view. */
    assert_int_equal(e->n_fingers, 10);
    sidik_fmr *f = malloc(sizeof *f);
    for (size_t i = 0; i < e->n_fingers; i++) {
        const Sidik__V1__FingerRecord *fr = e->fingers[i];
        assert_int_equal(fr->position, i + 1);
        assert_int_equal(fr->format, SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005);
        const char *why = NULL;
        assert_int_equal(sidik_fmr_decode(fr->template_.data, fr->template_.len, f, &why), 0);
        assert_int_equal(f->nviews, 1);
        assert_int_equal(f->views[0].position, i + 1);
        assert_int_equal(f->views[0].count, 30);
    }
    free(f);
    /* A face and a signature, their hashes right, their bytes looking like
     * their formats. */
    assert_int_equal(e->n_attachments, 2);
    const Sidik__V1__Attachment *face = e->attachments[0], *sig = e->attachments[1];
    assert_int_equal(face->kind, SIDIK__V1__ATTACHMENT_KIND__FACE);
    assert_string_equal(face->media_type, "image/jpeg");
    assert_int_equal(face->data.len, 3000);
    assert_memory_equal(face->data.data, "\xff\xd8\xff\xe0", 4);
    uint8_t md[32];
    sha256(face->data.data, face->data.len, md);
    assert_int_equal(face->sha256.len, 32);
    assert_memory_equal(face->sha256.data, md, 32);
    assert_int_equal(sig->kind, SIDIK__V1__ATTACHMENT_KIND__SIGNATURE);
    assert_string_equal(sig->media_type, "image/png");
    assert_int_equal(sig->data.len, 700);
    sha256(sig->data.data, sig->data.len, md);
    assert_memory_equal(sig->sha256.data, md, 32);
    /* Canonical: protobuf-c's own packing of what it decodes to. */
    size_t n2 = sidik__v1__enrollment__get_packed_size(e);
    uint8_t *p2 = malloc(n2);
    sidik__v1__enrollment__pack(e, p2);
    assert_int_equal(n2, n);
    assert_memory_equal(p2, p, n);
    free(p2);
    char nik0[17];
    snprintf(nik0, sizeof nik0, "%s", d->nik);
    sidik__v1__enrollment__free_unpacked(e, &alloc);

    /* Deterministic: the same record, the same bytes and id; another
     * office, another id. */
    uint8_t *q;
    size_t qn;
    char id2[SIDIK_UPLOAD_ID_LEN + 1];
    assert_int_equal(build_nth(dir, 0, &opts, &q, &qn, id2, NULL), 0);
    assert_int_equal(qn, n);
    assert_memory_equal(q, p, n);
    assert_string_equal(id2, id);
    sidik_free(q);
    sidik_upload_capture_options other = opts;
    other.office = "BDG-02";
    assert_int_equal(build_nth(dir, 0, &other, &q, &qn, id2, NULL), 0);
    assert_string_not_equal(id2, id);
    sidik_free(q);

    /* Record 1 lacks finger 4: nine fingers, and another person's NIK. */
    assert_int_equal(build_nth(dir, 1, &opts, &q, &qn, id2, &person), 0);
    assert_int_equal(person, 1);
    e = sidik__v1__enrollment__unpack(&alloc, qn, q);
    assert_int_equal(e->n_fingers, 9);
    for (size_t i = 0; i < e->n_fingers; i++)
        assert_int_not_equal(e->fingers[i]->position, 4);
    assert_string_not_equal(e->demographics->nik, nik0);
    sidik__v1__enrollment__free_unpacked(e, &alloc);
    sidik_free(q);
    /* Record 2 re-enrolls person 0: the same NIK, another id. */
    assert_int_equal(build_nth(dir, 2, &opts, &q, &qn, id2, &person), 0);
    assert_int_equal(person, 0);
    assert_string_not_equal(id2, id);
    e = sidik__v1__enrollment__unpack(&alloc, qn, q);
    assert_string_equal(e->demographics->nik, nik0);
    sidik__v1__enrollment__free_unpacked(e, &alloc);
    sidik_free(q);

    /* The spool takes it, and takes it again as a no-op. */
    char spool[1100];
    snprintf(spool, sizeof spool, "%s/spool", dir);
    sidik_spool *sp;
    assert_int_equal(sidik_spool_open(spool, NULL, &sp, NULL), 0);
    uint64_t s1, s2;
    assert_int_equal(sidik_spool_put(sp, p, n, 1, &s1, NULL), 0);
    assert_int_equal(sidik_spool_put(sp, p, n, 2, &s2, NULL), 0);
    assert_int_equal(s1, s2);
    assert_int_equal(sidik_spool_find(sp, id, &s2), 0);
    assert_int_equal(s1, s2);
    sidik_spool_close(sp);
    sidik_free(p);
    scratch_remove(dir);
}

static void test_cli_upload_gen_without_truth_and_bad_options(void **state)
{
    (void)state;
    char *dir = scratch_create();
    unsigned masks[] = {0x7fe, 0x7fe};
    uint64_t persons[] = {0, 0};
    make_gen(dir, masks, persons, 2, false);
    uint8_t *p;
    size_t n;
    char id[SIDIK_UPLOAD_ID_LEN + 1];
    uint64_t person;
    /* No truth.csv: each record its own person. */
    assert_int_equal(build_nth(dir, 1, &opts, &p, &n, id, &person), 0);
    assert_int_equal(person, 1);
    sidik_free(p);
    sidik_upload_capture_options o = opts;
    const char *why = NULL;
    sidik_upload_gen_record r = {.p = (const uint8_t *)"FMR", .n = 3};
    const char *range = "office (1-32), station (1-64), face (64 B - 1 MiB) or signature (0 or "
                        "64 B - 256 KiB) out of range";
    o.face_bytes = 63;
    assert_int_equal(sidik_upload_gen_build(&r, &o, &p, &n, id, &why), SIDIK_EINVAL);
    assert_string_equal(why, range);
    assert_null(p);
    o = opts;
    o.signature_bytes = 10;
    assert_int_equal(sidik_upload_gen_build(&r, &o, &p, &n, id, &why), SIDIK_EINVAL);
    o = opts;
    o.office = "";
    assert_int_equal(sidik_upload_gen_build(&r, &o, &p, &n, id, &why), SIDIK_EINVAL);
    o = opts;
    o.station = "tab\there";
    assert_int_equal(sidik_upload_gen_build(&r, &o, &p, &n, id, &why), SIDIK_EINVAL);
    /* A record that does not decode: the decoder's own words. */
    assert_int_equal(sidik_upload_gen_build(&r, &opts, &p, &n, id, &why), SIDIK_EFORMAT);
    assert_non_null(why);
    assert_null(p);
    scratch_remove(dir);
}

/* Opening dir and reading to the end gives rc and exactly want (after the
 * records that read fine). */
static void gen_fails(const char *dir, int want_rc, const char *want)
{
    sidik_upload_gen *g;
    char why[512] = "";
    int rc = sidik_upload_gen_open(dir, &g, why, sizeof why);
    if (rc == 0) {
        sidik_upload_gen_record r;
        while ((rc = sidik_upload_gen_next(g, &r, why, sizeof why)) == 1) {
        }
        sidik_upload_gen_close(g);
    }
    if (rc != want_rc || strcmp(why, want) != 0)
        fail_msg("rc %d (%s) '%s'; wanted %d '%s'", rc, sidik_err_name(rc), why, want_rc, want);
}

static void test_cli_upload_gen_hostile_folders(void **state)
{
    (void)state;
    char *dir = scratch_create();
    char want[1024];
    snprintf(want, sizeof want,
             "cannot read %s/records.iso: No such file or directory; is %s a `sidik gen --out` "
             "folder?",
             dir, dir);
    gen_fails(dir, -ENOENT, want);

    uint8_t rec[8192];
    size_t len = make_record(rec, sizeof rec, 0x7fe, 5);
    write_file(dir, "records.iso", rec, len);
    write_text(dir, "truth.csv", "id,person\n");
    snprintf(want, sizeof want,
             "%s/truth.csv: the first line is not `sidik gen`'s header "
             "(record,offset,length,person,impression,kind,swapped,missing)",
             dir);
    gen_fails(dir, SIDIK_EFORMAT, want);

    const char *head = "record,offset,length,person,impression,kind,swapped,missing\n";
    write_text(dir, "truth.csv", "%s0,0,%zu,7,0,new,,\n", head, len);
    gen_fails(dir, 0, ""); /* a good folder reads to its end */
    write_text(dir, "truth.csv", "%s0,0,%zu,x,0,new,,\n", head, len);
    snprintf(want, sizeof want,
             "truth.csv: the row of record 0 does not parse: '0,0,%zu,x,0,new,,'", len);
    gen_fails(dir, SIDIK_EFORMAT, want);
    write_text(dir, "truth.csv", "%s0,5,%zu,7,0,new,,\n", head, len);
    snprintf(want, sizeof want,
             "truth.csv: the row of record 0 names record 0 at byte 5 of %zu bytes, but "
             "records.iso has it at byte 0 of %zu bytes",
             len, len);
    gen_fails(dir, SIDIK_EFORMAT, want);
    write_text(dir, "truth.csv", "%s", head);
    gen_fails(dir, SIDIK_EFORMAT,
              "truth.csv ends before record 0; records.iso and truth.csv are not from the same "
              "`sidik gen` run");
    write_text(dir, "truth.csv", "%s0,0,%zu,7,0,new,,\n1,%zu,10,7,1,reenroll,,\n", head, len, len);
    gen_fails(dir, SIDIK_EFORMAT, "truth.csv has more rows than records.iso has records (1)");
    char path[1100];
    snprintf(path, sizeof path, "%s/truth.csv", dir);
    unlink(path);

    /* records.iso: cut inside the header, cut inside the record, not an
     * ISO record, a length that lies. */
    uint8_t two[16384];
    memcpy(two, rec, len);
    memcpy(two + len, rec, len);
    write_file(dir, "records.iso", two, len + 10);
    snprintf(want, sizeof want,
             "records.iso: record 1 at byte %zu is cut off after 10 bytes (the file is truncated)",
             len);
    gen_fails(dir, SIDIK_ETRUNCATED, want);
    write_file(dir, "records.iso", two, 2 * len - 1);
    snprintf(want, sizeof want,
             "records.iso: record 1 at byte %zu of %zu bytes is cut off after %zu (the file is "
             "truncated)",
             len, len, len - 1);
    gen_fails(dir, SIDIK_ETRUNCATED, want);
    uint8_t junk[64];
    memset(junk, 'j', sizeof junk);
    write_file(dir, "records.iso", junk, sizeof junk);
    gen_fails(dir, SIDIK_EFORMAT,
              "records.iso: record 0 at byte 0 does not start with 'FMR\\0'; not a `sidik gen` "
              "records.iso");
    memcpy(junk, rec, 24);
    junk[8] = junk[9] = junk[10] = 0, junk[11] = 12;
    write_file(dir, "records.iso", junk, sizeof junk);
    gen_fails(dir, SIDIK_EFORMAT,
              "records.iso: record 0 at byte 0 declares 12 bytes (24 to 1048576 expected)");
    junk[8] = 0x7f;
    write_file(dir, "records.iso", junk, sizeof junk);
    gen_fails(dir, SIDIK_EFORMAT,
              "records.iso: record 0 at byte 0 declares 2130706444 bytes (24 to 1048576 "
              "expected)");
    scratch_remove(dir);
}

/* ---- from a station's folder ------------------------------------------------------- */

/* A valid packed capture with enrollment_id id. */
static uint8_t *capture(const char *id, int64_t at, size_t *n)
{
    char *dir = scratch_create();
    unsigned masks[] = {0x7fe};
    uint64_t persons[] = {3};
    make_gen(dir, masks, persons, 1, true);
    uint8_t *p;
    char gid[SIDIK_UPLOAD_ID_LEN + 1];
    sidik_upload_capture_options o = opts;
    o.capture_time_ms = at;
    assert_int_equal(build_nth(dir, 0, &o, &p, n, gid, NULL), 0);
    scratch_remove(dir);
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&alloc, *n, p);
    sidik_free(p);
    char *own = e->enrollment_id;
    e->enrollment_id = (char *)id; /* borrowed: restored before the free */
    *n = sidik__v1__enrollment__get_packed_size(e);
    uint8_t *out = malloc(*n);
    sidik__v1__enrollment__pack(e, out);
    e->enrollment_id = own;
    sidik__v1__enrollment__free_unpacked(e, &alloc);
    return out;
}

static void read_fails(const char *dir, const char *name, int want_rc, const char *want)
{
    uint8_t *p = (uint8_t *)0x1;
    size_t n = 7;
    char id[SIDIK_UPLOAD_ID_LEN + 1];
    int64_t at;
    char why[1024] = "";
    int rc = sidik_upload_folder_read(dir, name, &p, &n, id, &at, why, sizeof why);
    if (rc != want_rc || strcmp(why, want) != 0)
        fail_msg("%s: rc %d (%s) '%s'; wanted %d '%s'", name, rc, sidik_err_name(rc), why, want_rc,
                 want);
    assert_null(p);
    assert_int_equal(n, 0);
}

#define ID_A "6f1c2a4e-0b7d-4c55-9a61-2f0e8d3b9c10"
#define ID_B "0b3e9a77-5d1f-4e2a-8c44-7a9d2e6f1b03"

static void test_cli_upload_folder_reads_captures(void **state)
{
    (void)state;
    char *dir = scratch_create();
    size_t na, nb;
    uint8_t *a = capture(ID_A, 1796207703000, &na), *b = capture(ID_B, 1796207700000, &nb);
    write_file(dir, ID_A ".pb", a, na);
    write_file(dir, ID_B ".pb", b, nb);
    write_file(dir, ".hidden.pb", a, na);
    write_file(dir, ID_A ".pb.tmp", a, 10);
    write_file(dir, "half.pb.part", a, 10);
    write_text(dir, "README.txt", "capture folder\n");
    char **names;
    size_t n;
    char why[512];
    assert_int_equal(sidik_upload_folder_list(dir, &names, &n, why, sizeof why), 0);
    assert_int_equal(n, 3); /* the two captures and README.txt, sorted; the rest skipped */
    assert_string_equal(names[0], ID_B ".pb");
    assert_string_equal(names[1], ID_A ".pb");
    assert_string_equal(names[2], "README.txt");
    for (size_t i = 0; i < n; i++)
        sidik_free(names[i]);
    sidik_free(names);
    assert_int_equal(sidik_upload_folder_kind(".x.pb"), 0);
    assert_int_equal(sidik_upload_folder_kind("x.pb.tmp"), 0);
    assert_int_equal(sidik_upload_folder_kind("x.pb"), 1);
    assert_int_equal(sidik_upload_folder_kind(".pb"), 0);
    assert_int_equal(sidik_upload_folder_kind("x.PB"), -1);

    uint8_t *p;
    size_t len;
    char id[SIDIK_UPLOAD_ID_LEN + 1];
    int64_t at;
    assert_int_equal(sidik_upload_folder_read(dir, ID_A ".pb", &p, &len, id, &at, why, sizeof why),
                     0);
    assert_string_equal(id, ID_A);
    assert_int_equal(at, 1796207703000);
    assert_int_equal(len, na);
    assert_memory_equal(p, a, na);
    sidik_free(p);

    /* Another encoder's field order (station_id first): the same content,
     * re-encoded to protobuf-c's order, so the spool takes it. */
    uint8_t *odd = malloc(na + 16);
    size_t o = 0;
    odd[o++] = 0x22, odd[o++] = 5; /* field 4 (station_id), length 5 */
    memcpy(odd + o, "ST-07", 5);
    o += 5;
    memcpy(odd + o, a, na);
    o += na; /* protobuf: the last station_id wins, and it is the same */
    write_file(dir, ID_A ".pb", odd, o);
    free(odd);
    assert_int_equal(sidik_upload_folder_read(dir, ID_A ".pb", &p, &len, id, &at, why, sizeof why),
                     0);
    assert_int_equal(len, na);
    assert_memory_equal(p, a, na);
    sidik_free(p);

    char want[2048];
    read_fails(dir, "README.txt", SIDIK_EINVAL,
               "README.txt: not a capture file; a station writes one <enrollment_id>.pb per "
               "capture");
    /* Named after the other capture. */
    write_file(dir, ID_B ".pb", a, na);
    snprintf(want, sizeof want,
             "%s.pb: holds enrollment_id %s; a capture file is named after its id (%s.pb)", ID_B,
             ID_A, ID_A);
    read_fails(dir, ID_B ".pb", SIDIK_EINVAL, want);
    /* Truncated: cut in the middle of the face. */
    write_file(dir, "cut.pb", a, na / 2);
    read_fails(dir, "cut.pb", SIDIK_EFORMAT,
               "cut.pb: not a packed sidik.v1.Enrollment (the protobuf does not parse: "
               "truncated, or not a capture file)");
    write_file(dir, "junk.pb", "\xff\xff\xff\xff\xff", 5);
    read_fails(dir, "junk.pb", SIDIK_EFORMAT,
               "junk.pb: not a packed sidik.v1.Enrollment (the protobuf does not parse: "
               "truncated, or not a capture file)");
    write_file(dir, "empty.pb", "", 0);
    read_fails(dir, "empty.pb", SIDIK_EINVAL,
               "empty.pb: empty file; the capture software may still be writing it (it should "
               "write NAME.pb.tmp and rename it)");
    /* Oversized: refused before a byte is read (a sparse file). */
    char path[1100];
    snprintf(path, sizeof path, "%s/big.pb", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_int_equal(ftruncate(fd, (off_t)SIDIK_SPOOL_BODY_MAX + 1), 0);
    close(fd);
    read_fails(dir, "big.pb", SIDIK_ETOOBIG,
               "big.pb: 16777217 bytes, over the 16 MiB one capture may hold");
    /* Not regular files: a folder, and a FIFO (which must not block). */
    snprintf(path, sizeof path, "%s/dir.pb", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    read_fails(dir, "dir.pb", SIDIK_EINVAL, "dir.pb: not a regular file");
    snprintf(path, sizeof path, "%s/fifo.pb", dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    read_fails(dir, "fifo.pb", SIDIK_EINVAL, "fifo.pb: not a regular file");
    read_fails(dir, "gone.pb", -ENOENT, "gone.pb: cannot open it: No such file or directory");
    /* Ids: none, not a UUID (shown safely), a UUID in another case. */
    Sidik__V1__Enrollment e = SIDIK__V1__ENROLLMENT__INIT;
    e.station_id = "ST-07";
    uint8_t small[256];
    size_t sn = sidik__v1__enrollment__pack(&e, small);
    write_file(dir, "noid.pb", small, sn);
    read_fails(dir, "noid.pb", SIDIK_EINVAL, "noid.pb: the enrollment has no enrollment_id");
    e.enrollment_id = "capture\x01-17";
    sn = sidik__v1__enrollment__pack(&e, small);
    write_file(dir, "bad.pb", small, sn);
    read_fails(dir, "bad.pb", SIDIK_EINVAL,
               "bad.pb: enrollment_id 'capture?-17' is not a UUID (8-4-4-4-12 hex digits)");
    e.enrollment_id = "6F1C2A4E-0B7D-4C55-9A61-2F0E8D3B9C10";
    sn = sidik__v1__enrollment__pack(&e, small);
    write_file(dir, "6F1C2A4E-0B7D-4C55-9A61-2F0E8D3B9C10.pb", small, sn);
    assert_int_equal(sidik_upload_folder_read(dir, "6F1C2A4E-0B7D-4C55-9A61-2F0E8D3B9C10.pb", &p,
                                              &len, id, &at, why, sizeof why),
                     0);
    sidik_free(p);
    /* A folder that is not there. */
    snprintf(path, sizeof path, "%s/none", dir);
    snprintf(want, sizeof want, "cannot read the folder %s: No such file or directory", path);
    char **nm = (char **)0x1;
    assert_int_equal(sidik_upload_folder_list(path, &nm, &n, why, sizeof why), -ENOENT);
    assert_string_equal(why, want);
    assert_null(nm);
    free(a);
    free(b);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_cli_upload_gen_builds_what_the_centre_takes),
        SIDIK_TEST(test_cli_upload_gen_without_truth_and_bad_options),
        SIDIK_TEST(test_cli_upload_gen_hostile_folders),
        SIDIK_TEST(test_cli_upload_folder_reads_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
