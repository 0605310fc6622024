/*
 * Print authorisations: the canonical payload (round trip, every field
 * rule, hostile input refused with its reason), Ed25519 signing
 * (deterministic; any changed byte of payload or signature fails; another
 * key fails), and the key files (made once, 0600, never overwritten; loaded
 * back; what is not an Ed25519 PEM key refused).
 */
#include "storage_test.h"

#include "sidik/common.h"
#include "sidik/print_auth.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

static sidik_print_auth sample(void)
{
    sidik_print_auth a = {.record_id = 4211, .authorised_ms = 1795000000123};
    strcpy(a.enrollment_id, "0c5d1e6a-7f00-4b3e-9d6f-1a2b3c4d5e6f");
    strcpy(a.nik, "3171012505900001");
    strcpy(a.region, "31.71");
    for (int i = 0; i < 32; i++)
        a.content_sha256[i] = (uint8_t)(i * 37 + 5);
    return a;
}

static size_t encode(const sidik_print_auth *a, uint8_t *out)
{
    size_t n;
    assert_int_equal(sidik_print_auth_encode(a, out, SIDIK_PRINT_PAYLOAD_MAX, &n), 0);
    return n;
}

static void test_storage_print_auth_roundtrip(void **state)
{
    (void)state;
    sidik_print_auth a = sample(), b;
    uint8_t p[SIDIK_PRINT_PAYLOAD_MAX];
    size_t n = encode(&a, p);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", a.content_sha256[i]);
    char want[SIDIK_PRINT_PAYLOAD_MAX];
    snprintf(want, sizeof want,
             "sidik print authorisation v1\nenrollment_id=0c5d1e6a-7f00-4b3e-9d6f-1a2b3c4d5e6f\n"
             "nik=3171012505900001\nregion=31.71\nrecord_id=4211\ncontent_sha256=%s\n"
             "authorised_ms=1795000000123\n",
             hex);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
    const char *why = "unset";
    assert_int_equal(sidik_print_auth_decode(p, n, &b, &why), 0);
    assert_null(why);
    assert_memory_equal(&a, &b, sizeof a);

    /* A field outside its rules is never encoded; a small buffer is ERANGE. */
    for (int k = 0; k < 7; k++) {
        sidik_print_auth x = sample();
        switch (k) {
        case 0: x.nik[15] = 0; break;                     /* 15 digits */
        case 1: x.nik[3] = 'x'; break;
        case 2: strcpy(x.region, "31 71"); break;
        case 3: x.region[0] = 0; break;
        case 4: x.record_id = 0; break;
        case 5: x.authorised_ms = 0; break;
        case 6: strcpy(x.enrollment_id, "has space"); break;
        }
        size_t m;
        assert_int_equal(sidik_print_auth_encode(&x, p, sizeof p, &m), SIDIK_EINVAL);
    }
    size_t m;
    assert_int_equal(sidik_print_auth_encode(&a, p, n - 1, &m), SIDIK_ERANGE);
    assert_int_equal(sidik_print_auth_encode(NULL, p, sizeof p, &m), SIDIK_EINVAL);
}

/* Decodes text and expects rc with a reason containing what (NULL: any). */
static void refused(const char *text, size_t n, int rc, const char *what)
{
    sidik_print_auth a;
    const char *why = NULL;
    assert_int_equal(sidik_print_auth_decode((const uint8_t *)text, n, &a, &why), rc);
    assert_non_null(why);
    if (what != NULL && strstr(why, what) == NULL)
        fail_msg("reason \"%s\" does not mention \"%s\"", why, what);
}

static void test_storage_print_auth_hostile(void **state)
{
    (void)state;
    sidik_print_auth a = sample();
    uint8_t p[SIDIK_PRINT_PAYLOAD_MAX];
    size_t n = encode(&a, p);
    char text[2 * SIDIK_PRINT_PAYLOAD_MAX];

    /* Cut at every byte: never accepted. */
    for (size_t cut = 0; cut < n; cut++) {
        sidik_print_auth b;
        assert_int_equal(sidik_print_auth_decode(p, cut, &b, NULL), SIDIK_EFORMAT);
    }
    /* Anything after the last line. */
    memcpy(text, p, n);
    memcpy(text + n, "x\n", 2);
    refused(text, n + 2, SIDIK_EFORMAT, "after the last line");
    /* Over the size any authorisation has. */
    memset(text, 'a', sizeof text);
    refused(text, SIDIK_PRINT_PAYLOAD_MAX + 1, SIDIK_ETOOBIG, NULL);

    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", a.content_sha256[i]);
    struct {
        const char *id, *nik, *region, *rec, *sha, *ms, *what;
    } bad[] = {
        {"e1", "3171012505900001", "31.71", "07", hex, "5", "record_id"},       /* leading 0 */
        {"e1", "3171012505900001", "31.71", "18446744073709551616", hex, "5", "record_id"},
        {"e1", "3171012505900001", "31.71", "0", hex, "5", "record_id"},
        {"e1", "3171012505900001", "31.71", "7", hex, "9223372036854775808", "authorised_ms"},
        {"e1", "3171012505900001", "31.71", "7", hex, "-5", "authorised_ms"},
        {"e1", "317101250590000", "31.71", "7", hex, "5", "nik"},
        {"e1", "31710125059000012", "31.71", "7", hex, "5", "nik"},
        {"e1", "3171012505900001", "31/71", "7", hex, "5", "region"},
        {"e 1", "3171012505900001", "31.71", "7", hex, "5", "enrollment_id"},
        {"e1", "3171012505900001", "31.71", "7", "ABCDEF", "5", "content_sha256"},
    };
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(bad); k++) {
        int len = snprintf(text, sizeof text,
                           "sidik print authorisation v1\nenrollment_id=%s\nnik=%s\nregion=%s\n"
                           "record_id=%s\ncontent_sha256=%s\nauthorised_ms=%s\n",
                           bad[k].id, bad[k].nik, bad[k].region, bad[k].rec, bad[k].sha, bad[k].ms);
        refused(text, (size_t)len, SIDIK_EFORMAT, bad[k].what);
    }
    /* Upper-case hex, another header, lines swapped, a NUL in a value. */
    char upper[65];
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    upper[64] = 0;
    int len = snprintf(text, sizeof text,
                       "sidik print authorisation v1\nenrollment_id=e1\nnik=3171012505900001\n"
                       "region=31.71\nrecord_id=7\ncontent_sha256=%s\nauthorised_ms=5\n",
                       upper);
    refused(text, (size_t)len, SIDIK_EFORMAT, "content_sha256");
    refused("sidik print authorisation v2\n", 29, SIDIK_EFORMAT, "v1");
    len = snprintf(text, sizeof text,
                   "sidik print authorisation v1\nnik=3171012505900001\nenrollment_id=e1\n"
                   "region=31.71\nrecord_id=7\ncontent_sha256=%s\nauthorised_ms=5\n",
                   hex);
    refused(text, (size_t)len, SIDIK_EFORMAT, "line 2");
    len = snprintf(text, sizeof text,
                   "sidik print authorisation v1\nenrollment_id=e1\nnik=3171012505900001\n"
                   "region=31.71\nrecord_id=7\ncontent_sha256=%s\nauthorised_ms=5\n",
                   hex);
    text[strlen("sidik print authorisation v1\nenrollment_id=e")] = 0;
    refused(text, (size_t)len, SIDIK_EFORMAT, "line 2");
    sidik_print_auth b;
    assert_int_equal(sidik_print_auth_decode(NULL, 5, &b, NULL), SIDIK_EINVAL);
}

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    return k;
}

static void test_storage_print_auth_signature(void **state)
{
    (void)state;
    EVP_PKEY *key = new_key(), *other = new_key();
    sidik_print_auth a = sample();
    uint8_t p[SIDIK_PRINT_PAYLOAD_MAX], sig[SIDIK_PRINT_SIG_BYTES], again[SIDIK_PRINT_SIG_BYTES];
    size_t n = encode(&a, p);
    assert_int_equal(sidik_print_sign(key, p, n, sig), 0);
    assert_int_equal(sidik_print_sign(key, p, n, again), 0);
    assert_memory_equal(sig, again, sizeof sig); /* deterministic */
    assert_int_equal(sidik_print_verify(key, p, n, sig, sizeof sig), 0);
    for (size_t i = 0; i < n; i++) {
        p[i] ^= 0x01;
        assert_int_equal(sidik_print_verify(key, p, n, sig, sizeof sig), SIDIK_EBADSIG);
        p[i] ^= 0x01;
    }
    for (size_t i = 0; i < sizeof sig; i++) {
        sig[i] ^= 0x80;
        assert_int_equal(sidik_print_verify(key, p, n, sig, sizeof sig), SIDIK_EBADSIG);
        sig[i] ^= 0x80;
    }
    assert_int_equal(sidik_print_verify(key, p, n, sig, sizeof sig - 1), SIDIK_EBADSIG);
    assert_int_equal(sidik_print_verify(key, p, n, NULL, 0), SIDIK_EBADSIG);
    assert_int_equal(sidik_print_verify(other, p, n, sig, sizeof sig), SIDIK_EBADSIG);
    assert_int_equal(sidik_print_verify(NULL, p, n, sig, sizeof sig), SIDIK_EINVAL);

    /* A P-256 key is not an Ed25519 key, for signing or checking. */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    assert_int_equal(sidik_print_sign(ec, p, n, again), SIDIK_EINVAL);
    assert_int_equal(sidik_print_verify(ec, p, n, sig, sizeof sig), SIDIK_EINVAL);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_storage_print_auth_keys(void **state)
{
    (void)state;
    char *dir = scratch_create();
    char priv[600], pub[600], junk[600], ecpath[600], missing[600];
    snprintf(priv, sizeof priv, "%s/print.key", dir);
    snprintf(pub, sizeof pub, "%s/print.pub", dir);
    snprintf(junk, sizeof junk, "%s/junk.pem", dir);
    snprintf(ecpath, sizeof ecpath, "%s/ec.pem", dir);
    snprintf(missing, sizeof missing, "%s/nothing.pem", dir);
    EVP_PKEY *made, *k, *kp;
    const char *why;
    assert_int_equal(sidik_print_key_create(priv, pub, &made, &why), 0);
    struct stat st;
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    EVP_PKEY *again;
    assert_int_equal(sidik_print_key_create(priv, pub, &again, &why), -EEXIST); /* never replaced */
    assert_non_null(why);

    /* What one key signs, the files' keys check. */
    sidik_print_auth a = sample();
    uint8_t p[SIDIK_PRINT_PAYLOAD_MAX], sig[SIDIK_PRINT_SIG_BYTES];
    size_t n = encode(&a, p);
    assert_int_equal(sidik_print_key_load(priv, true, &k, &why), 0);
    assert_int_equal(sidik_print_sign(k, p, n, sig), 0);
    assert_int_equal(sidik_print_key_load(pub, false, &kp, &why), 0);
    assert_int_equal(sidik_print_verify(kp, p, n, sig, sizeof sig), 0);
    assert_int_equal(sidik_print_verify(made, p, n, sig, sizeof sig), 0);
    assert_int_equal(sidik_print_sign(kp, p, n, sig), SIDIK_EINVAL); /* public only */
    EVP_PKEY_free(kp);
    assert_int_equal(sidik_print_key_load(priv, false, &kp, &why), 0); /* public from private */
    EVP_PKEY_free(kp);
    assert_int_equal(sidik_print_key_load(pub, true, &kp, &why), SIDIK_EFORMAT);

    write_file(junk, "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");
    assert_int_equal(sidik_print_key_load(junk, false, &kp, &why), SIDIK_EFORMAT);
    assert_non_null(why);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    FILE *f = fopen(ecpath, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(ec);
    assert_int_equal(sidik_print_key_load(ecpath, true, &kp, &why), SIDIK_EFORMAT);
    assert_non_null(strstr(why, "Ed25519"));
    assert_int_equal(sidik_print_key_load(missing, true, &kp, &why), -ENOENT);
    EVP_PKEY_free(k);
    EVP_PKEY_free(made);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_storage_print_auth_roundtrip),
        SIDIK_TEST(test_storage_print_auth_hostile),
        SIDIK_TEST(test_storage_print_auth_signature),
        SIDIK_TEST(test_storage_print_auth_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
