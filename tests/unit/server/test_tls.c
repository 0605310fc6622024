/*
 * TLS: mutual authentication and identity, with certificates made by
 * deploy/pki.sh. Handshakes run in memory (a BIO pair), so the test needs
 * no sockets; "refused" means the server's handshake failed, which is before
 * it could read any application byte.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/tls.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char pki[256], foreign[300];
static SSL_CTX *server_ctx;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int make_pki(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "%s/sidik-pki-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(pki) == NULL)
        return -1;
    snprintf(foreign, sizeof foreign, "%s/foreign", pki);
    const char *pki_sh = SIDIK_SOURCE_DIR "/deploy/pki.sh";
    if (sh("sh %s %s >/dev/null", pki_sh, pki) != 0 ||
        sh("sh %s %s client office SBY-03 --expired >/dev/null", pki_sh, pki) != 0 ||
        sh("sh %s %s client office JKT-01 >/dev/null", pki_sh, foreign) != 0)
        return -1;
    /* A certificate from the right CA whose OU is no sidik role. */
    if (sh("cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out odd.key "
           "2>/dev/null && openssl req -new -key odd.key -subj '/O=x/OU=janitor/CN=x' -out odd.csr "
           "&& printf 'extendedKeyUsage=clientAuth\\n' > odd.ext && openssl x509 -req -in odd.csr "
           "-CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile odd.ext -out odd.crt "
           "2>/dev/null",
           pki) != 0)
        return -1;
    char ca[400], cert[400], key[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(cert, sizeof cert, "%s/server.crt", pki);
    snprintf(key, sizeof key, "%s/server.key", pki);
    sidik_tls_files f = {ca, cert, key};
    return sidik_tls_server_ctx_create(&f, &server_ctx, NULL);
}

static int remove_pki(void **state)
{
    (void)state;
    SSL_CTX_free(server_ctx);
    sh("rm -rf %s", pki);
    return 0;
}

typedef struct client_opts {
    const char *dir;     /* the PKI folder holding the client's files */
    const char *name;    /* client file stem, NULL: no certificate */
    const char *alpn;    /* wire-format ALPN list, NULL: none */
    size_t alpn_len;
    int max_version;     /* 0: any */
} client_opts;

static SSL_CTX *client_ctx(const client_opts *o)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    char path[600], key[600];
    snprintf(path, sizeof path, "%s/ca.crt", pki);
    assert_int_equal(SSL_CTX_load_verify_locations(c, path, NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (o->name != NULL) {
        snprintf(path, sizeof path, "%s/%s.crt", o->dir ? o->dir : pki, o->name);
        snprintf(key, sizeof key, "%s/%s.key", o->dir ? o->dir : pki, o->name);
        assert_int_equal(SSL_CTX_use_certificate_file(c, path, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM), 1);
    }
    if (o->alpn != NULL)
        assert_int_equal(SSL_CTX_set_alpn_protos(c, (const unsigned char *)o->alpn,
                                                 (unsigned)o->alpn_len),
                         0);
    if (o->max_version)
        SSL_CTX_set_max_proto_version(c, o->max_version);
    return c;
}

/* Runs a handshake in memory; returns the server's SSL when the server
 * completed it, else NULL. */
static SSL *handshake(const client_opts *o)
{
    SSL_CTX *cctx = client_ctx(o);
    SSL *s = SSL_new(server_ctx), *c = SSL_new(cctx);
    BIO *bs, *bc;
    assert_int_equal(BIO_new_bio_pair(&bs, 0, &bc, 0), 1);
    SSL_set_bio(s, bs, bs);
    SSL_set_bio(c, bc, bc);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, "localhost");
    int server_done = 0, failed = 0;
    for (int round = 0; round < 50 && !server_done && !failed; round++) {
        int rc = SSL_do_handshake(c);
        if (rc <= 0) {
            int e = SSL_get_error(c, rc);
            failed |= e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
        }
        rc = SSL_do_handshake(s);
        if (rc == 1) {
            /* TLS 1.3: the client's certificate is checked when its
             * Finished arrives, so the server's success is the verdict. */
            server_done = 1;
        } else {
            int e = SSL_get_error(s, rc);
            failed |= e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
        }
    }
    ERR_clear_error();
    SSL_free(c);
    SSL_CTX_free(cctx);
    if (!server_done) {
        SSL_free(s);
        return NULL;
    }
    return s;
}

#define H2 "\x02h2"

static void accepted(const char *name, sidik_role role, const char *who)
{
    client_opts o = {.name = name, .alpn = H2, .alpn_len = 3};
    SSL *s = handshake(&o);
    assert_non_null(s);
    sidik_identity id;
    const char *why = NULL;
    assert_int_equal(sidik_tls_identity(s, &id, &why), 0);
    assert_int_equal(id.role, role);
    assert_string_equal(id.name, who);
    assert_int_equal(SSL_version(s), TLS1_3_VERSION);
    SSL_free(s);
}

static void test_server_tls_roles_from_certificates(void **state)
{
    (void)state;
    accepted("office-JKT-01", SIDIK_ROLE_OFFICE, "JKT-01");
    accepted("office-BDG-02", SIDIK_ROLE_OFFICE, "BDG-02");
    accepted("auditor", SIDIK_ROLE_AUDITOR, "auditor.dewi");
    accepted("admin", SIDIK_ROLE_ADMIN, "admin.budi");
    accepted("printer", SIDIK_ROLE_PRINTER, "31.71");
    assert_string_equal(sidik_role_name(SIDIK_ROLE_PRINTER), "printer");
    assert_string_equal(sidik_role_name((sidik_role)0), "unknown");
}

static void test_server_tls_refuses_handshakes(void **state)
{
    (void)state;
    client_opts cases[] = {
        {.name = NULL, .alpn = H2, .alpn_len = 3},                      /* no certificate */
        {.dir = foreign, .name = "office-JKT-01", .alpn = H2, .alpn_len = 3}, /* another CA */
        {.name = "office-SBY-03", .alpn = H2, .alpn_len = 3},           /* expired */
        {.name = "office-JKT-01", .alpn = "\x08http/1.1", .alpn_len = 9}, /* no h2 offered */
        {.name = "office-JKT-01", .alpn = H2, .alpn_len = 3, .max_version = TLS1_2_VERSION},
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(cases); i++) {
        SSL *s = handshake(&cases[i]);
        if (s != NULL)
            print_error("case %zu: handshake completed\n", i);
        assert_null(s);
    }
}

static void test_server_tls_identity_refused(void **state)
{
    (void)state;
    sidik_identity id;
    const char *why = NULL;
    /* No ALPN at all completes the handshake; the identity check refuses. */
    client_opts none = {.name = "office-JKT-01"};
    SSL *s = handshake(&none);
    assert_non_null(s);
    assert_int_equal(sidik_tls_identity(s, &id, &why), SIDIK_EUNSUPPORTED);
    assert_string_equal(why, "client did not negotiate ALPN h2");
    SSL_free(s);
    /* The right CA, but no sidik role. */
    client_opts odd = {.name = "odd", .alpn = H2, .alpn_len = 3};
    s = handshake(&odd);
    assert_non_null(s);
    assert_int_equal(sidik_tls_identity(s, &id, &why), SIDIK_EUNAUTH);
    assert_string_equal(why, "client certificate's OU is not a sidik role");
    SSL_free(s);
    assert_int_equal(sidik_tls_identity(NULL, &id, &why), SIDIK_EINVAL);
}

static void test_server_tls_context_errors(void **state)
{
    (void)state;
    char ca[400], cert[400], key[400], other_key[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(cert, sizeof cert, "%s/server.crt", pki);
    snprintf(key, sizeof key, "%s/server.key", pki);
    snprintf(other_key, sizeof other_key, "%s/admin.key", pki);
    SSL_CTX *ctx;
    const char *why;
    struct {
        sidik_tls_files f;
        int rc;
        const char *why;
    } cases[] = {
        {{NULL, cert, key}, SIDIK_EINVAL, "CA, certificate and key files are all required"},
        {{ca, "/nonexistent.crt", key}, SIDIK_EFORMAT, "server certificate unreadable"},
        {{ca, cert, "/nonexistent.key"}, SIDIK_EFORMAT, "server key unreadable"},
        {{ca, cert, other_key}, SIDIK_EFORMAT, "server key does not match its certificate"},
        {{key, cert, key}, SIDIK_EFORMAT, "CA certificate unreadable"},
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(cases); i++) {
        why = NULL;
        assert_int_equal(sidik_tls_server_ctx_create(&cases[i].f, &ctx, &why), cases[i].rc);
        assert_string_equal(why, cases[i].why);
    }
    assert_int_equal(ERR_peek_error(), 0); /* nothing left queued for the next call */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_tls_roles_from_certificates),
        cmocka_unit_test(test_server_tls_refuses_handshakes),
        cmocka_unit_test(test_server_tls_identity_refused),
        cmocka_unit_test(test_server_tls_context_errors),
    };
    return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
