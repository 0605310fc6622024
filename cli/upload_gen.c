/*
 * Captures from a `sidik gen` folder (upload.h): records.iso read record by
 * record (each carries its own length at offset 8), truth.csv row by row
 * beside it, and each record made into the Enrollment a station would have
 * sent for that capture.
 *
 * What a station sends is one minutiae record per finger; `sidik gen`
 * writes one record per capture holding a view of each finger. So each
 * view is re-encoded alone (the matcher's ISO 2005 encoder, whose output
 * the matcher's decoder reads back exactly), which also makes the bytes on
 * the wire what a real station's would be: ten records of a few hundred
 * bytes, not ten copies of the whole capture.
 */
#include "upload.h"

#include "sidik/common.h"
#include "sidik/template.h"
#include "sidik.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_MAX    (1u << 20) /* a ten-finger ISO record is a few KB */
#define ISO_HEADER    24
#define FACE_MIN      64
#define FACE_MAX      (1u << 20)   /* sidikd's default max_face_bytes */
#define SIGNATURE_MAX (256u << 10) /* ... and max_signature_bytes */
#define TRUTH_HEADER  "record,offset,length,person,impression,kind,swapped,missing"
#define NIK_SPACE     (9999ull * 28 * 12 * 50) /* see person_demographics */

struct sidik_upload_gen {
    FILE *iso, *truth;
    uint64_t index, offset;
    uint64_t nik_base; /* from the first record */
    uint8_t *buf;
    char line[512];
};

/* ---- reading the folder ------------------------------------------------------------ */

/* The next line of f without its newline; 0 at the end, SIDIK_ETOOBIG for
 * a line longer than the buffer. */
static int read_line(FILE *f, char *line, size_t cap, bool *got)
{
    *got = false;
    if (fgets(line, (int)cap, f) == NULL)
        return ferror(f) ? -EIO : 0;
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = 0;
    else if (!feof(f))
        return SIDIK_ETOOBIG;
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = 0;
    *got = true;
    return 0;
}

int sidik_upload_gen_open(const char *dir, sidik_upload_gen **out, char *why, size_t cap)
{
    char path[4096];
    sidik_upload_gen *g = sidik_trycalloc(1, sizeof *g);
    if (g == NULL)
        return SIDIK_ENOMEM;
    g->buf = sidik_trymalloc(RECORD_MAX);
    if (g->buf == NULL) {
        sidik_upload_gen_close(g);
        return SIDIK_ENOMEM;
    }
    snprintf(path, sizeof path, "%s/records.iso", dir);
    g->iso = fopen(path, "rb");
    if (g->iso == NULL) {
        int rc = -errno;
        (void)sidik_why(why, cap, 0, "cannot read %s: %s; is %s a `sidik gen --out` folder?", path,
                        sidik_strerror(rc), dir);
        sidik_upload_gen_close(g);
        return rc;
    }
    snprintf(path, sizeof path, "%s/truth.csv", dir);
    g->truth = fopen(path, "r");
    if (g->truth == NULL && errno != ENOENT) {
        int rc = -errno;
        (void)sidik_why(why, cap, 0, "cannot read %s: %s", path, sidik_strerror(rc));
        sidik_upload_gen_close(g);
        return rc;
    }
    if (g->truth != NULL) {
        bool got;
        int rc = read_line(g->truth, g->line, sizeof g->line, &got);
        if (rc != 0 || !got || strcmp(g->line, TRUTH_HEADER) != 0) {
            (void)sidik_why(why, cap, 0, "%s: the first line is not `sidik gen`'s header (%s)",
                            path, TRUTH_HEADER);
            sidik_upload_gen_close(g);
            return rc < 0 && rc != SIDIK_ETOOBIG ? rc : SIDIK_EFORMAT;
        }
    }
    *out = g;
    return 0;
}

void sidik_upload_gen_close(sidik_upload_gen *g)
{
    if (g == NULL)
        return;
    if (g->iso != NULL)
        fclose(g->iso);
    if (g->truth != NULL)
        fclose(g->truth);
    sidik_free(g->buf);
    sidik_free(g);
}

/* A decimal field of a CSV row: digits only, no overflow. */
static bool field_u64(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return true;
}

/* truth.csv's row for record r: record, offset, length, person, impression. */
static int truth_row(sidik_upload_gen *g, sidik_upload_gen_record *r, char *why, size_t cap)
{
    bool got;
    int rc = read_line(g->truth, g->line, sizeof g->line, &got);
    if (rc == 0 && !got) {
        (void)sidik_why(why, cap, 0,
                        "truth.csv ends before record %" PRIu64 "; records.iso and truth.csv are "
                        "not from the same `sidik gen` run",
                        r->index);
        return SIDIK_EFORMAT;
    }
    if (rc != 0) {
        (void)sidik_why(why, cap, 0, "truth.csv: the row of record %" PRIu64 " %s", r->index,
                        rc == SIDIK_ETOOBIG ? "is too long" : "cannot be read");
        return rc == SIDIK_ETOOBIG ? SIDIK_EFORMAT : rc;
    }
    uint64_t v[5];
    const char *s = g->line;
    for (int i = 0; i < 5; i++) {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        if (!field_u64(s, n, &v[i]) || comma == NULL) {
            (void)sidik_why(why, cap, 0,
                            "truth.csv: the row of record %" PRIu64 " does not parse: '%.80s'",
                            r->index, g->line);
            return SIDIK_EFORMAT;
        }
        s = comma + 1;
    }
    if (v[0] != r->index || v[1] != g->offset || v[2] != r->n || v[4] > UINT32_MAX) {
        (void)sidik_why(why, cap, 0,
                        "truth.csv: the row of record %" PRIu64 " names record %" PRIu64
                        " at byte %" PRIu64 " of %" PRIu64
                        " bytes, but records.iso has it at byte %" PRIu64 " of %zu bytes",
                        r->index, v[0], v[1], v[2], g->offset, r->n);
        return SIDIK_EFORMAT;
    }
    r->person = v[3];
    r->impression = (uint32_t)v[4];
    return 0;
}

int sidik_upload_gen_next(sidik_upload_gen *g, sidik_upload_gen_record *r, char *why, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->index = g->index;
    size_t got = fread(g->buf, 1, ISO_HEADER, g->iso);
    if (got == 0 && feof(g->iso)) {
        bool more;
        if (g->truth != NULL && read_line(g->truth, g->line, sizeof g->line, &more) == 0 && more) {
            (void)sidik_why(why, cap, 0,
                            "truth.csv has more rows than records.iso has records (%" PRIu64 ")",
                            g->index);
            return SIDIK_EFORMAT;
        }
        return 0;
    }
    if (got < ISO_HEADER) {
        if (ferror(g->iso)) {
            (void)sidik_why(why, cap, 0, "records.iso: cannot read record %" PRIu64, g->index);
            return -EIO;
        }
        (void)sidik_why(why, cap, 0,
                        "records.iso: record %" PRIu64 " at byte %" PRIu64
                        " is cut off after %zu bytes "
                        "(the file is truncated)",
                        g->index, g->offset, got);
        return SIDIK_ETRUNCATED;
    }
    const uint8_t *h = g->buf;
    uint32_t len = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
    if (memcmp(h, "FMR\0", 4) != 0) {
        (void)sidik_why(why, cap, 0,
                        "records.iso: record %" PRIu64 " at byte %" PRIu64
                        " does not start with 'FMR\\0'; not a `sidik gen` records.iso",
                        g->index, g->offset);
        return SIDIK_EFORMAT;
    }
    if (len < ISO_HEADER || len > RECORD_MAX) {
        (void)sidik_why(why, cap, 0,
                        "records.iso: record %" PRIu64 " at byte %" PRIu64
                        " declares %u bytes (%u to %u "
                        "expected)",
                        g->index, g->offset, len, ISO_HEADER, RECORD_MAX);
        return SIDIK_EFORMAT;
    }
    got = fread(g->buf + ISO_HEADER, 1, len - ISO_HEADER, g->iso);
    if (got < len - ISO_HEADER) {
        (void)sidik_why(why, cap, 0,
                        "records.iso: record %" PRIu64 " at byte %" PRIu64
                        " of %u bytes is cut off after "
                        "%zu (the file is truncated)",
                        g->index, g->offset, len, got + ISO_HEADER);
        return ferror(g->iso) ? -EIO : SIDIK_ETRUNCATED;
    }
    r->p = g->buf;
    r->n = len;
    r->person = g->index;
    if (g->truth != NULL) {
        int rc = truth_row(g, r, why, cap);
        if (rc != 0)
            return rc;
    }
    if (g->index == 0) {
        uint8_t md[32];
        unsigned mdlen = 0;
        if (EVP_Digest(r->p, r->n, md, &mdlen, EVP_sha256(), NULL) != 1)
            return SIDIK_EINTERNAL;
        uint64_t base = 0;
        for (int i = 0; i < 8; i++)
            base = base << 8 | md[i];
        g->nik_base = base % NIK_SPACE;
    }
    r->nik_index = (g->nik_base + r->person % NIK_SPACE) % NIK_SPACE;
    g->offset += len;
    g->index++;
    return 1;
}

/* ---- building an enrollment --------------------------------------------------------- */

void sidik_upload_gen_id(const char *office, const uint8_t *p, size_t n,
                         char id[SIDIK_UPLOAD_ID_LEN + 1])
{
    uint8_t md[32];
    unsigned len = 0;
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    static const char tag[] = "sidik upload gen id v1";
    if (x == NULL || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(x, tag, sizeof tag) != 1 ||
        EVP_DigestUpdate(x, office, strlen(office) + 1) != 1 || EVP_DigestUpdate(x, p, n) != 1 ||
        EVP_DigestFinal_ex(x, md, &len) != 1) {
        /* Only an OpenSSL without SHA-256 (or out of memory for 200 bytes)
         * gets here; an id from a failed hash could collide, so stop. */
        SIDIK_LOG_ERROR("SHA-256 unavailable", "office=%s", office);
        abort();
    }
    EVP_MD_CTX_free(x);
    /* RFC 9562 version 8 (custom), variant 10. */
    md[6] = (uint8_t)((md[6] & 0x0f) | 0x80);
    md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            id[o++] = '-';
        id[o++] = hx[md[i] >> 4];
        id[o++] = hx[md[i] & 15];
    }
    id[o] = 0;
}

/* splitmix64: the images' bytes, deterministic from the id. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* An image of n bytes: its format's signature, then bytes as random as a
 * compressed image's entropy-coded data (so measured compression ratios
 * are honest), then its end marker. */
static void fake_image(uint8_t *p, size_t n, const uint8_t *head, size_t hn, const uint8_t *tail,
                       size_t tn, uint64_t seed)
{
    memcpy(p, head, hn);
    for (size_t i = hn; i < n - tn; i++)
        p[i] = (uint8_t)(mix(&seed) >> 56);
    memcpy(p + n - tn, tail, tn);
}

static uint64_t seed_of(const char *id, unsigned salt)
{
    uint64_t s = salt;
    for (const char *c = id; *c; c++)
        s = s * 131 + (unsigned char)*c;
    return s;
}

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : SIDIK_EINTERNAL;
}

/* The person's NIK and the birth date and sex it encodes: district 31.71.01
 * (Jakarta Selatan), then DDMMYY (day + 40 for women), then a serial
 * 0001-9999. Persons are spread over serials, then days 1-28, months and
 * fifty birth years, so every person below 9999 x 28 x 12 x 50 has a NIK of
 * their own. */
static void person_demographics(uint64_t person, char nik[17], char date[11], bool *female)
{
    uint64_t q = person;
    unsigned serial = (unsigned)(q % 9999) + 1;
    q /= 9999;
    unsigned day = (unsigned)(q % 28) + 1;
    q /= 28;
    unsigned month = (unsigned)(q % 12) + 1;
    q /= 12;
    unsigned year = 1950 + (unsigned)(q % 50);
    *female = (person & 1) != 0;
    snprintf(nik, 17, "317101%02u%02u%02u%04u", day + (*female ? 40 : 0), month, year % 100,
             serial);
    snprintf(date, 11, "%04u-%02u-%02u", year, month, day);
}

typedef struct build {
    Sidik__V1__Enrollment e;
    Sidik__V1__Demographics d;
    Sidik__V1__FingerRecord fr[10];
    Sidik__V1__FingerRecord *frp[10];
    Sidik__V1__Attachment at[2];
    Sidik__V1__Attachment *atp[2];
    uint8_t *tmpl[10];
    uint8_t *face, *sig;
    uint8_t face_sha[32], sig_sha[32];
    sidik_fmr one;
} build;

static void build_free(build *b)
{
    for (int i = 0; i < 10; i++)
        sidik_free(b->tmpl[i]);
    sidik_free(b->face);
    sidik_free(b->sig);
    sidik_free(b);
}

/* One single-view record per finger position of the decoded capture (the
 * first view of each position: a station sends one per finger). */
static int fingers(build *b, const sidik_fmr *all, const char **why)
{
    size_t nf = 0;
    for (unsigned pos = 1; pos <= 10; pos++) {
        const sidik_template *v = NULL;
        for (uint32_t i = 0; i < all->nviews && v == NULL; i++)
            if (all->views[i].position == pos)
                v = &all->views[i];
        if (v == NULL)
            continue;
        b->one.format = SIDIK_FMR_ISO_2005;
        b->one.nviews = 1;
        b->one.views[0] = *v;
        size_t need = 0;
        int rc = sidik_fmr_encode_iso2005(&b->one, NULL, 0, &need);
        if (rc != SIDIK_ETOOBIG && rc != 0) {
            *why = "a view of the record cannot be written as an ISO 19794-2:2005 record";
            return SIDIK_EFORMAT;
        }
        b->tmpl[nf] = sidik_trymalloc(need);
        if (b->tmpl[nf] == NULL)
            return SIDIK_ENOMEM;
        size_t len = 0;
        if (sidik_fmr_encode_iso2005(&b->one, b->tmpl[nf], need, &len) != 0) {
            *why = "a view of the record cannot be written as an ISO 19794-2:2005 record";
            return SIDIK_EFORMAT;
        }
        Sidik__V1__FingerRecord *f = &b->fr[nf];
        sidik__v1__finger_record__init(f);
        f->position = (Sidik__V1__FingerPosition)pos;
        f->format = SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005;
        f->template_.data = b->tmpl[nf];
        f->template_.len = len;
        f->nfiq = 2;
        b->frp[nf] = f;
        nf++;
    }
    if (nf == 0) {
        *why = "the record has no view of a finger position 1-10";
        return SIDIK_EFORMAT;
    }
    b->e.fingers = b->frp;
    b->e.n_fingers = nf;
    return 0;
}

static int attachments(build *b, const sidik_upload_capture_options *o, const char *id)
{
    static const uint8_t jpeg_head[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0};
    static const uint8_t jpeg_tail[] = {0xff, 0xd9};
    static const uint8_t png_head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t png_tail[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    b->face = sidik_trymalloc(o->face_bytes);
    if (b->face == NULL)
        return SIDIK_ENOMEM;
    fake_image(b->face, o->face_bytes, jpeg_head, sizeof jpeg_head, jpeg_tail, sizeof jpeg_tail,
               seed_of(id, 1));
    if (sha256(b->face, o->face_bytes, b->face_sha) != 0)
        return SIDIK_EINTERNAL;
    size_t na = 0;
    Sidik__V1__Attachment *a = &b->at[na];
    sidik__v1__attachment__init(a);
    a->kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    a->media_type = "image/jpeg";
    a->sha256 = (ProtobufCBinaryData){32, b->face_sha};
    a->data = (ProtobufCBinaryData){o->face_bytes, b->face};
    b->atp[na++] = a;
    if (o->signature_bytes > 0) {
        b->sig = sidik_trymalloc(o->signature_bytes);
        if (b->sig == NULL)
            return SIDIK_ENOMEM;
        fake_image(b->sig, o->signature_bytes, png_head, sizeof png_head, png_tail, sizeof png_tail,
                   seed_of(id, 2));
        if (sha256(b->sig, o->signature_bytes, b->sig_sha) != 0)
            return SIDIK_EINTERNAL;
        a = &b->at[na];
        sidik__v1__attachment__init(a);
        a->kind = SIDIK__V1__ATTACHMENT_KIND__SIGNATURE;
        a->media_type = "image/png";
        a->sha256 = (ProtobufCBinaryData){32, b->sig_sha};
        a->data = (ProtobufCBinaryData){o->signature_bytes, b->sig};
        b->atp[na++] = a;
    }
    b->e.attachments = b->atp;
    b->e.n_attachments = na;
    return 0;
}

static bool printable(const char *s, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int sidik_upload_gen_build(const sidik_upload_gen_record *r, const sidik_upload_capture_options *o,
                           uint8_t **p, size_t *n, char id[SIDIK_UPLOAD_ID_LEN + 1],
                           const char **why)
{
    *p = NULL;
    *n = 0;
    if (r == NULL || o == NULL || r->p == NULL || !printable(o->office, 32) ||
        !printable(o->station, 64) || o->face_bytes < FACE_MIN || o->face_bytes > FACE_MAX ||
        o->signature_bytes > SIGNATURE_MAX ||
        (o->signature_bytes > 0 && o->signature_bytes < FACE_MIN)) {
        *why = "office (1-32), station (1-64), face (64 B - 1 MiB) or signature (0 or 64 B - "
               "256 KiB) out of range";
        return SIDIK_EINVAL;
    }
    build *b = sidik_trycalloc(1, sizeof *b);
    sidik_fmr *all = sidik_trymalloc(sizeof *all);
    if (b == NULL || all == NULL) {
        sidik_free(all);
        if (b != NULL)
            build_free(b);
        *why = "out of memory";
        return SIDIK_ENOMEM;
    }
    const char *dwhy = NULL;
    int rc = sidik_fmr_decode(r->p, r->n, all, &dwhy);
    if (rc != 0) {
        *why = dwhy != NULL ? dwhy : "the record does not decode";
        rc = SIDIK_EFORMAT;
        goto out;
    }
    sidik_upload_gen_id(o->office, r->p, r->n, id);
    sidik__v1__enrollment__init(&b->e);
    sidik__v1__demographics__init(&b->d);
    char nik[17], date[11], name[64], address[64];
    bool female;
    person_demographics(r->nik_index, nik, date, &female);
    snprintf(name, sizeof name, "Penduduk Sintetis %" PRIu64, r->person);
    snprintf(address, sizeof address, "Jl. Merdeka %" PRIu64 ", Jakarta Selatan",
             r->person % 999 + 1);
    b->d.nik = nik;
    b->d.full_name = name;
    b->d.birth_place = "Jakarta";
    b->d.birth_date = date;
    b->d.sex = female ? SIDIK__V1__SEX__FEMALE : SIDIK__V1__SEX__MALE;
    b->d.address = address;
    b->d.region_code = "317101";
    b->e.enrollment_id = id;
    b->e.office_code = (char *)o->office;
    b->e.capture_time_ms = o->capture_time_ms;
    b->e.station_id = (char *)o->station;
    b->e.demographics = &b->d;
    if ((rc = fingers(b, all, why)) != 0 || (rc = attachments(b, o, id)) != 0) {
        if (rc == SIDIK_ENOMEM)
            *why = "out of memory";
        goto out;
    }
    size_t len = sidik__v1__enrollment__get_packed_size(&b->e);
    *p = sidik_trymalloc(len);
    if (*p == NULL) {
        *why = "out of memory";
        rc = SIDIK_ENOMEM;
        goto out;
    }
    *n = sidik__v1__enrollment__pack(&b->e, *p);
    *why = NULL;
out:
    sidik_free(all);
    build_free(b);
    return rc;
}
