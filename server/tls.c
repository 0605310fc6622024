/*
 * TLS context and certificate identity (sidik/tls.h).
 */
#include "sidik/common.h"
#include "sidik/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static const char *const role_names[] = {
    [SIDIK_ROLE_OFFICE] = "office",
    [SIDIK_ROLE_AUDITOR] = "auditor",
    [SIDIK_ROLE_ADMIN] = "admin",
    [SIDIK_ROLE_PRINTER] = "printer",
};

const char *sidik_role_name(sidik_role r)
{
    return r >= SIDIK_ROLE_OFFICE && r <= SIDIK_ROLE_PRINTER ? role_names[r] : "unknown";
}

/* Chooses "h2" or ends the handshake with no_application_protocol: a peer
 * that cannot speak HTTP/2 has nothing to say to a gRPC server. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (n == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Reading the key apart from installing it tells an unreadable key from
 * one that belongs to another certificate (OpenSSL checks the pair when the
 * key is installed). */
static int use_key(SSL_CTX *ctx, const char *path, const char **why)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    int rc = 0;
    if (key == NULL) {
        *why = "server key unreadable";
        rc = SIDIK_EFORMAT;
    } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        *why = "server key does not match its certificate";
        rc = SIDIK_EFORMAT;
    }
    EVP_PKEY_free(key);
    return rc;
}

int sidik_tls_server_ctx_create(const sidik_tls_files *f, SSL_CTX **out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (f == NULL || f->ca == NULL || f->cert == NULL || f->key == NULL || out == NULL) {
        *why = "CA, certificate and key files are all required";
        return SIDIK_EINVAL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return SIDIK_ENOMEM;
    int rc = 0;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
        rc = SIDIK_EINTERNAL;
    } else if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
        *why = "server certificate unreadable";
        rc = SIDIK_EFORMAT;
    } else if ((rc = use_key(ctx, f->key, why)) != 0) {
        /* *why set */
    } else if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
        *why = "CA certificate unreadable";
        rc = SIDIK_EFORMAT;
    }
    ERR_clear_error(); /* the reason is in *why; nothing left for the next caller */
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    /* Mutual: no certificate, no connection. Validity dates are checked by
     * the verifier against the current time. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    /* Session tickets would let a client resume without presenting its
     * certificate again after a CA change; identity must be fresh. */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* Thousands of offices sit idle between uploads: an idle connection
     * gives its 2 x ~17 KB record buffers back (bench/loadgen.sh measures
     * the memory per held connection). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return 0;
}

/* The single entry of field nid in name, as printable text. */
static int subject_field(X509_NAME *name, int nid, char *out, size_t cap)
{
    int at = X509_NAME_get_index_by_NID(name, nid, -1);
    if (at < 0 || X509_NAME_get_index_by_NID(name, nid, at) >= 0)
        return -1; /* absent, or more than one */
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    int n = ASN1_STRING_length(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    if (n < 1 || (size_t)n >= cap)
        return -1;
    for (int i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return -1; /* printable ASCII, no spaces: names end up in logs and keys */
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return 0;
}

int sidik_tls_identity(SSL *ssl, sidik_identity *out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (ssl == NULL || out == NULL)
        return SIDIK_EINVAL;
    /* A client that sent no ALPN at all never reached alpn_select. */
    const unsigned char *proto;
    unsigned int proto_len;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
        *why = "client did not negotiate ALPN h2";
        return SIDIK_EUNSUPPORTED;
    }
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        *why = "no verified client certificate";
        return SIDIK_EUNAUTH;
    }
    X509_NAME *subject = X509_get_subject_name(cert);
    char role[16];
    memset(out, 0, sizeof *out);
    if (subject_field(subject, NID_organizationalUnitName, role, sizeof role) != 0) {
        *why = "client certificate has no single OU naming a role";
        return SIDIK_EUNAUTH;
    }
    for (sidik_role r = SIDIK_ROLE_OFFICE; r <= SIDIK_ROLE_PRINTER; r++)
        if (strcmp(role, role_names[r]) == 0)
            out->role = r;
    if (out->role == 0) {
        *why = "client certificate's OU is not a sidik role";
        return SIDIK_EUNAUTH;
    }
    if (subject_field(subject, NID_commonName, out->name, sizeof out->name) != 0) {
        *why = "client certificate has no single printable CN";
        return SIDIK_EUNAUTH;
    }
    return 0;
}
