/*
 * TLS for sidikd: TLS 1.3 only, ALPN h2 only, mutual certificates, and the
 * caller's identity read from its certificate (DESIGN.md decision 2).
 *
 * The server context refuses, in the handshake and before any application
 * byte is read: a client without a certificate, one whose certificate does
 * not chain to the configured CA or is outside its validity dates, one that
 * does not offer TLS 1.3, and one that does not offer ALPN "h2".
 *
 * Identity: the client certificate's subject OU is the role (office,
 * auditor, admin, printer) and its CN the name (the office code of an
 * office, the print region of a printer, a person's login otherwise).
 * Anything else in the certificate grants nothing.
 *
 * Threads: a context is shared read-only by every I/O thread once created;
 * replace it whole (certificate reload) rather than change it.
 */
#ifndef SIDIK_TLS_H
#define SIDIK_TLS_H

#include <openssl/ssl.h>

typedef enum {
    SIDIK_ROLE_OFFICE = 1,
    SIDIK_ROLE_AUDITOR,
    SIDIK_ROLE_ADMIN,
    SIDIK_ROLE_PRINTER,
} sidik_role;

#define SIDIK_IDENTITY_NAME_MAX 64

typedef struct sidik_identity {
    sidik_role role;
    char name[SIDIK_IDENTITY_NAME_MAX + 1];
} sidik_identity;

/** "office", "auditor", "admin", "printer"; "unknown" otherwise. */
const char *sidik_role_name(sidik_role r);

typedef struct sidik_tls_files {
    const char *ca;   /* PEM: the CA client certificates must chain to */
    const char *cert; /* PEM: the server's certificate (chain) */
    const char *key;  /* PEM: its private key */
} sidik_tls_files;

/** Creates the server context. Errors: SIDIK_EINVAL (a path missing),
 *  SIDIK_EFORMAT (a file unreadable as PEM, or the key does not match the
 *  certificate: *why says which), SIDIK_ENOMEM. */
int sidik_tls_server_ctx_create(const sidik_tls_files *f, SSL_CTX **out, const char **why);

/** The identity of a connection whose handshake completed; the caller
 *  closes the connection on any error. Errors: SIDIK_EUNSUPPORTED (no ALPN
 *  h2: a client that offered none at all completes the handshake),
 *  SIDIK_EUNAUTH (no verified certificate, or a subject without exactly one
 *  known OU role and one CN of 1-64 printable characters; *why says which). */
int sidik_tls_identity(SSL *ssl, sidik_identity *out, const char **why);

#endif
