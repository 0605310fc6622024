/*
 * Enrollment validation (sidik/validate.h). Each rule adds a FieldError
 * and checking goes on, so the office learns everything wrong in one
 * answer rather than one problem per round trip over a slow link.
 */
#include "sidik/common.h"
#include "sidik/control.h"
#include "sidik/matcher.h"
#include "sidik/validate.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_FACE_BYTES      (1u << 20)
#define DEFAULT_SIGNATURE_BYTES (256u << 10)
/* e-KTP enrollment began in 2011; nothing was captured before. */
#define EARLIEST_CAPTURE_MS 1293840000000LL /* 2011-01-01T00:00:00Z */
#define CLOCK_SLACK_MS      (24LL * 3600 * 1000)

static void add(sidik_validation *v, const char *code, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(sidik_validation *v, const char *code, const char *detail, const char *fmt, ...)
{
    if (v->nerrors == SIDIK_VALIDATE_MAX_ERRORS) {
        v->dropped++;
        return;
    }
    sidik_field_error *e = &v->err[v->nerrors++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->field, sizeof e->field, fmt, ap);
    va_end(ap);
    e->reason_code = code;
    e->detail = detail;
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool digits_at(const char *s, size_t off, size_t n)
{
    for (size_t i = off; i < off + n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* 8-4-4-4-12 hex digits: what stations mint (RFC 9562 text form). */
static bool is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static bool printable(const char *s, size_t min, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Well-formed UTF-8 without control characters, 1..max bytes. */
static bool utf8_text(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > n || (len == 1 && (c < 0x20 || c == 0x7f)) || (len == 2 && c < 0xc2))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD, a real date from 1900 on. */
static bool parse_date(const char *s, int *y, int *m, int *d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits_at(s, 0, 4) ||
        !digits_at(s, 5, 2) || !digits_at(s, 8, 2))
        return false;
    *y = two(s) * 100 + two(s + 2);
    *m = two(s + 5);
    *d = two(s + 8);
    return *y >= 1900 && *m >= 1 && *m <= 12 && *d >= 1 &&
           *d <= days[*m - 1] + (*m == 2 && leap(*y));
}

/* The NIK: PPKKCC (province, regency, district), DDMMYY (birth date, day
 * plus 40 for women), SSSS (serial from 0001). */
static void check_nik(const Sidik__V1__Demographics *d, sidik_validation *v)
{
    const char *nik = d->nik;
    if (nik == NULL || !all_digits(nik, 16)) {
        add(v, "NIK_FORMAT", "NIK must be 16 digits", "demographics.nik");
        return;
    }
    int province = two(nik), day = two(nik + 6), month = two(nik + 8);
    if (province < 11 || province > 94 || month < 1 || month > 12 ||
        !((day >= 1 && day <= 31) || (day >= 41 && day <= 71)) || strcmp(nik + 12, "0000") == 0) {
        add(v, "NIK_STRUCTURE", "NIK's province, birth date or serial digits are impossible",
            "demographics.nik");
        return;
    }
    int y, m, dd;
    if (!parse_date(d->birth_date, &y, &m, &dd))
        return; /* reported on birth_date */
    if (d->sex != SIDIK__V1__SEX__MALE && d->sex != SIDIK__V1__SEX__FEMALE)
        return; /* reported on sex */
    bool female = d->sex == SIDIK__V1__SEX__FEMALE;
    if (dd + (female ? 40 : 0) != day || m != month || y % 100 != two(nik + 10))
        add(v, "NIK_BIRTH_DATE_MISMATCH",
            "NIK's birth date digits (day + 40 for women) disagree with birth_date and sex",
            "demographics.nik");
}

static void check_demographics(const Sidik__V1__Demographics *d, sidik_validation *v)
{
    if (d == NULL) {
        add(v, "DEMOGRAPHICS_MISSING", "demographics are required", "demographics");
        return;
    }
    check_nik(d, v);
    if (!utf8_text(d->full_name, 200))
        add(v, "NAME_INVALID", "full_name must be 1-200 bytes of UTF-8 text", "demographics.full_name");
    if (!utf8_text(d->birth_place, 100))
        add(v, "BIRTH_PLACE_INVALID", "birth_place must be 1-100 bytes of UTF-8 text",
            "demographics.birth_place");
    int y, m, dd;
    if (!parse_date(d->birth_date, &y, &m, &dd))
        add(v, "BIRTH_DATE_FORMAT", "birth_date must be a real date, YYYY-MM-DD",
            "demographics.birth_date");
    if (d->sex != SIDIK__V1__SEX__MALE && d->sex != SIDIK__V1__SEX__FEMALE)
        add(v, "SEX_MISSING", "sex must be MALE or FEMALE", "demographics.sex");
    if (d->address != NULL && d->address[0] != 0 && !utf8_text(d->address, 500))
        add(v, "ADDRESS_INVALID", "address must be at most 500 bytes of UTF-8 text",
            "demographics.address");
    if (d->region_code == NULL || !all_digits(d->region_code, 6))
        add(v, "REGION_CODE_FORMAT", "region_code must be 6 digits", "demographics.region_code");
}

static const char *template_code(int rc)
{
    switch (rc) {
    case SIDIK_ETRUNCATED:
        return "TEMPLATE_TRUNCATED";
    case SIDIK_ETRAILING:
        return "TEMPLATE_TRAILING_BYTES";
    case SIDIK_EVERSION:
        return "TEMPLATE_VERSION";
    case SIDIK_ERANGE:
        return "TEMPLATE_VALUE_RANGE";
    case SIDIK_ETOOBIG:
        return "TEMPLATE_TOO_BIG";
    default:
        return "TEMPLATE_MALFORMED";
    }
}

static void check_fingers(const Sidik__V1__Enrollment *e, sidik_fmr *fmr, sidik_validation *v)
{
    if (e->n_fingers == 0 || e->n_fingers > 10) {
        add(v, "FINGERS_COUNT", "between 1 and 10 finger records are required", "fingers");
        return;
    }
    unsigned seen = 0;
    for (size_t i = 0; i < e->n_fingers; i++) {
        const Sidik__V1__FingerRecord *f = e->fingers[i];
        int pos = (int)f->position;
        if (pos < 1 || pos > 10) {
            add(v, "FINGER_POSITION_INVALID", "position must be a finger (1-10)", "fingers[%zu].position", i);
            continue;
        }
        if (seen & (1u << pos)) {
            add(v, "FINGER_POSITION_DUPLICATE", "each finger position may appear once",
                "fingers[%zu].position", i);
            continue;
        }
        seen |= 1u << pos;
        if (f->nfiq > 5)
            add(v, "NFIQ_RANGE", "nfiq must be 0 (not measured) to 5", "fingers[%zu].nfiq", i);
        if (f->amputated) {
            if (f->template_.len != 0)
                add(v, "AMPUTATED_WITH_TEMPLATE", "an amputated position carries no template",
                    "fingers[%zu].template", i);
            continue;
        }
        const char *why;
        int rc = sidik_fmr_decode(f->template_.data, f->template_.len, fmr, &why);
        if (rc != 0) {
            add(v, template_code(rc), why ? why : "template does not decode", "fingers[%zu].template", i);
            continue;
        }
        if ((int)fmr->format != (int)f->format) {
            add(v, "TEMPLATE_FORMAT_MISMATCH", "format disagrees with the record's own header",
                "fingers[%zu].format", i);
            continue;
        }
        bool has = false;
        for (uint32_t k = 0; k < fmr->nviews; k++)
            has |= fmr->views[k].position == pos;
        if (!has) {
            add(v, "TEMPLATE_POSITION_MISMATCH", "the record holds no view of this position",
                "fingers[%zu].template", i);
            continue;
        }
        v->fingers++;
    }
    if (v->fingers == 0 && v->nerrors == 0)
        add(v, "FINGERS_MISSING", "at least one finger template is required", "fingers");
}

static void check_attachments(const Sidik__V1__Enrollment *e, const sidik_validate_limits *lim,
                              sidik_validation *v)
{
    uint32_t max_face = lim->max_face_bytes ? lim->max_face_bytes : DEFAULT_FACE_BYTES;
    uint32_t max_sig = lim->max_signature_bytes ? lim->max_signature_bytes : DEFAULT_SIGNATURE_BYTES;
    unsigned kinds = 0;
    for (size_t i = 0; i < e->n_attachments; i++) {
        const Sidik__V1__Attachment *a = e->attachments[i];
        if (a->kind != SIDIK__V1__ATTACHMENT_KIND__FACE &&
            a->kind != SIDIK__V1__ATTACHMENT_KIND__SIGNATURE) {
            add(v, "ATTACHMENT_KIND", "kind must be FACE or SIGNATURE", "attachments[%zu].kind", i);
            continue;
        }
        if (kinds & (1u << a->kind)) {
            add(v, "ATTACHMENT_DUPLICATE", "one attachment of each kind", "attachments[%zu].kind", i);
            continue;
        }
        kinds |= 1u << a->kind;
        const char *mt = a->media_type ? a->media_type : "";
        if (strcmp(mt, "image/jpeg") != 0 && strcmp(mt, "image/jp2") != 0 && strcmp(mt, "image/png") != 0)
            add(v, "ATTACHMENT_MEDIA_TYPE", "media_type must be image/jpeg, image/jp2 or image/png",
                "attachments[%zu].media_type", i);
        uint32_t max = a->kind == SIDIK__V1__ATTACHMENT_KIND__FACE ? max_face : max_sig;
        if (a->data.len == 0 || a->data.len > max) {
            add(v, "ATTACHMENT_SIZE", "attachment empty or over its size limit", "attachments[%zu].data", i);
            continue;
        }
        uint8_t md[32];
        unsigned mdlen = 0;
        if (a->sha256.len != 32 || EVP_Digest(a->data.data, a->data.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
            memcmp(md, a->sha256.data, 32) != 0)
            add(v, "ATTACHMENT_HASH_MISMATCH", "sha256 does not match the data (damaged in transit?)",
                "attachments[%zu].sha256", i);
    }
    if (!(kinds & (1u << SIDIK__V1__ATTACHMENT_KIND__FACE)))
        add(v, "FACE_MISSING", "a face photograph is required", "attachments");
}

int sidik_enrollment_validate(const Sidik__V1__Enrollment *e, const sidik_identity *who,
                              const sidik_validate_limits *lim, sidik_validation *out)
{
    if (e == NULL || who == NULL || lim == NULL || out == NULL)
        return SIDIK_EINVAL;
    memset(out, 0, sizeof *out);
    if (!is_uuid(e->enrollment_id))
        add(out, "ENROLLMENT_ID_FORMAT", "enrollment_id must be a UUID (8-4-4-4-12 hex digits)",
            "enrollment_id");
    if (who->role != SIDIK_ROLE_OFFICE || e->office_code == NULL || strcmp(e->office_code, who->name) != 0)
        add(out, "OFFICE_NOT_CALLER", "office_code must be the office named in the caller's certificate",
            "office_code");
    else if (!sidik_control_valid_office(e->office_code))
        add(out, "OFFICE_CODE_FORMAT", "office_code must be 1-32 letters, digits, '-' or '_' "
            "(the certificate's CN is not a usable office code)", "office_code");
    if (e->capture_time_ms < EARLIEST_CAPTURE_MS || e->capture_time_ms > lim->now_ms + CLOCK_SLACK_MS)
        add(out, "CAPTURE_TIME_RANGE", "capture_time_ms is before 2011 or more than a day ahead",
            "capture_time_ms");
    if (!printable(e->station_id, 1, 64))
        add(out, "STATION_ID_INVALID", "station_id must be 1-64 printable characters", "station_id");
    check_demographics(e->demographics, out);
    sidik_fmr *fmr = sidik_trymalloc(sizeof *fmr);
    if (fmr == NULL)
        return SIDIK_ENOMEM;
    check_fingers(e, fmr, out);
    sidik_free(fmr);
    check_attachments(e, lim, out);
    return out->nerrors == 0 ? 0 : SIDIK_EINVAL;
}

bool sidik_enrollment_id_valid(const char *id)
{
    return is_uuid(id);
}

int sidik_enrollment_hash(const Sidik__V1__Enrollment *e, uint8_t out[32])
{
    size_t n = sidik__v1__enrollment__get_packed_size(e);
    uint8_t *buf = sidik_trymalloc(n + 1);
    if (buf == NULL)
        return SIDIK_ENOMEM;
    sidik__v1__enrollment__pack(e, buf);
    unsigned len = 0;
    int ok = EVP_Digest(buf, n, out, &len, EVP_sha256(), NULL);
    sidik_free(buf);
    return ok == 1 && len == 32 ? 0 : SIDIK_ENOMEM;
}
