/*
 * Print authorisations (sidik/print_auth.h): the canonical payload and its
 * Ed25519 signature, with OpenSSL's one-shot EVP_DigestSign (Ed25519 hashes
 * the message itself, so no digest is named).
 */
#include "control_int.h"
#include "sidik/common.h"
#include "sidik/print_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEADER "sidik print authorisation v1\n"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool valid(const sidik_print_auth *a)
{
    return sidik__control_valid_id(a->enrollment_id) &&
           strnlen(a->nik, sizeof a->nik) == SIDIK_NIK_LEN && all_digits(a->nik, SIDIK_NIK_LEN) &&
           sidik_control_valid_region(a->region) && a->record_id != 0 && a->authorised_ms > 0;
}

int sidik_print_auth_encode(const sidik_print_auth *a, uint8_t *out, size_t cap, size_t *len)
{
    if (a == NULL || out == NULL || len == NULL || !valid(a))
        return SIDIK_EINVAL;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", a->content_sha256[i]);
    char text[SIDIK_PRINT_PAYLOAD_MAX + 1];
    int n = snprintf(text, sizeof text,
                     HEADER "enrollment_id=%s\nnik=%s\nregion=%s\nrecord_id=%" PRIu64
                            "\ncontent_sha256=%s\nauthorised_ms=%" PRId64 "\n",
                     a->enrollment_id, a->nik, a->region, a->record_id, hex, a->authorised_ms);
    if (n < 0 || (size_t)n > cap)
        return SIDIK_ERANGE;
    memcpy(out, text, (size_t)n);
    *len = (size_t)n;
    return 0;
}

/* ---- decoding -------------------------------------------------------------------- */

typedef struct reader {
    const char *p, *end;
    const char *why;
} reader;

/* The value of the next line, which must begin with key and '='; copied to
 * out[0..cap) NUL-terminated. */
static bool field(reader *r, const char *key, char *out, size_t cap, const char *why)
{
    size_t kn = strlen(key);
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (nl == NULL || (size_t)(nl - r->p) <= kn || memcmp(r->p, key, kn) != 0 || r->p[kn] != '=') {
        r->why = why;
        return false;
    }
    const char *v = r->p + kn + 1;
    size_t n = (size_t)(nl - v);
    if (n >= cap || memchr(v, 0, n) != NULL) {
        r->why = why;
        return false;
    }
    memcpy(out, v, n);
    out[n] = 0;
    r->p = nl + 1;
    return true;
}

/* A positive decimal without leading zeros that fits max. */
static bool number(const char *s, uint64_t max, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20 || s[0] == '0' || !all_digits(s, n))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool hex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return false;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return true;
}

int sidik_print_auth_decode(const uint8_t *p, size_t n, sidik_print_auth *a, const char **why)
{
    static const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if ((p == NULL && n > 0) || a == NULL)
        return SIDIK_EINVAL;
    if (n > SIDIK_PRINT_PAYLOAD_MAX) {
        *why = "longer than any authorisation";
        return SIDIK_ETOOBIG;
    }
    memset(a, 0, sizeof *a);
    size_t hn = sizeof HEADER - 1;
    if (n < hn || memcmp(p, HEADER, hn) != 0) {
        *why = "does not begin with \"sidik print authorisation v1\"";
        return SIDIK_EFORMAT;
    }
    reader r = {(const char *)p + hn, (const char *)p + n, NULL};
    char rec[24], sha[66], ms[24];
    uint64_t v;
    bool ok = field(&r, "enrollment_id", a->enrollment_id, sizeof a->enrollment_id,
                    "line 2 is not enrollment_id=") &&
              field(&r, "nik", a->nik, sizeof a->nik, "line 3 is not nik=") &&
              field(&r, "region", a->region, sizeof a->region, "line 4 is not region=") &&
              field(&r, "record_id", rec, sizeof rec, "line 5 is not record_id=") &&
              field(&r, "content_sha256", sha, sizeof sha, "line 6 is not content_sha256=") &&
              field(&r, "authorised_ms", ms, sizeof ms, "line 7 is not authorised_ms=");
    if (!ok) {
        *why = r.why;
        return SIDIK_EFORMAT;
    }
    if (r.p != r.end)
        *why = "bytes after the last line";
    else if (!sidik__control_valid_id(a->enrollment_id))
        *why = "enrollment_id is not 1-64 printable characters without spaces";
    else if (strlen(a->nik) != SIDIK_NIK_LEN || !all_digits(a->nik, SIDIK_NIK_LEN))
        *why = "nik is not 16 digits";
    else if (!sidik_control_valid_region(a->region))
        *why = "region is not a print region code";
    else if (!number(rec, UINT64_MAX, &a->record_id))
        *why = "record_id is not a positive decimal without leading zeros";
    else if (!hex32(sha, a->content_sha256))
        *why = "content_sha256 is not 64 lowercase hex digits";
    else if (!number(ms, INT64_MAX, &v))
        *why = "authorised_ms is not a positive decimal without leading zeros";
    if (*why != NULL)
        return SIDIK_EFORMAT;
    a->authorised_ms = (int64_t)v;
    return 0;
}

/* ---- signing ------------------------------------------------------------------- */

static bool is_ed25519(EVP_PKEY *key)
{
    return key != NULL && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
}

int sidik_print_sign(EVP_PKEY *key, const uint8_t *p, size_t n,
                     uint8_t sig[SIDIK_PRINT_SIG_BYTES])
{
    if (!is_ed25519(key) || (p == NULL && n > 0) || sig == NULL)
        return SIDIK_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = SIDIK_PRINT_SIG_BYTES;
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &len, p, n) == 1 && len == SIDIK_PRINT_SIG_BYTES;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : SIDIK_EINVAL; /* a public key alone cannot sign */
}

int sidik_print_verify(EVP_PKEY *key, const uint8_t *p, size_t n, const uint8_t *sig,
                       size_t siglen)
{
    if (!is_ed25519(key) || (p == NULL && n > 0))
        return SIDIK_EINVAL;
    if (sig == NULL || siglen != SIDIK_PRINT_SIG_BYTES)
        return SIDIK_EBADSIG;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return SIDIK_ENOMEM;
    int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, p, n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : SIDIK_EBADSIG;
}

/* ---- keys ------------------------------------------------------------------------ */

int sidik_print_key_load(const char *path, bool private, EVP_PKEY **out, const char **why)
{
    static const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (path == NULL || out == NULL)
        return SIDIK_EINVAL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *why = "cannot open the key file";
        return -errno;
    }
    EVP_PKEY *k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                          : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (k == NULL && !private) { /* a private key's file holds the public key too */
        rewind(f);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    ERR_clear_error();
    if (k == NULL) {
        *why = private ? "not a PEM private key" : "not a PEM public or private key";
        return SIDIK_EFORMAT;
    }
    if (!is_ed25519(k)) {
        EVP_PKEY_free(k);
        *why = "the key is not an Ed25519 key";
        return SIDIK_EFORMAT;
    }
    *out = k;
    return 0;
}

static int write_pem(const char *path, int mode, EVP_PKEY *k, bool private)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int e = errno;
        close(fd);
        unlink(path);
        return -e;
    }
    int ok = private ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_PUBKEY(f, k);
    ok = ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return SIDIK_EINTERNAL;
    }
    return 0;
}

int sidik_print_key_create(const char *key_path, const char *pub_path, EVP_PKEY **out,
                           const char **why)
{
    static const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (key_path == NULL || pub_path == NULL || out == NULL)
        return SIDIK_EINVAL;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k == NULL) {
        *why = "OpenSSL could not make an Ed25519 key";
        return SIDIK_EINTERNAL;
    }
    int rc = write_pem(key_path, 0600, k, true);
    if (rc != 0) {
        *why = "cannot write the private key file";
    } else if ((rc = write_pem(pub_path, 0644, k, false)) != 0) {
        unlink(key_path);
        *why = "cannot write the public key file";
    }
    if (rc != 0) {
        EVP_PKEY_free(k);
        return rc;
    }
    *out = k;
    return 0;
}
