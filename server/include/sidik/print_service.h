/*
 * Print.Lease and Print.Ack: print stations take signed authorisations for
 * their region and say which cards they printed, answered from the control
 * store's print queue (sidik/control.h) and signed with the server's
 * Ed25519 key (sidik/print_auth.h).
 *
 * A print station is a client certificate with the printer role whose CN
 * names its print region, the regency in dotted form ("31.71"; the dedup
 * stage queues each PRINT_READY enrollment under its regency). Lease takes
 * up to max (0: 16, more than 256: 256) of the region's authorisations in
 * the order they were decided, for lease_ms; region_code may be empty or
 * must be the certificate's own region (PERMISSION_DENIED otherwise). A
 * lease not acknowledged in time goes back to the queue (at the next Lease
 * of any station), to be leased again: the same payload and, Ed25519 being
 * deterministic, the same signature.
 *
 * Ack (1-256 ids) makes each PRINTED, once, in one transaction: an id
 * leased to the caller is acknowledged and audited; one already PRINTED is
 * passed over (a retried Ack whose answer was lost) and not counted; an id
 * not leased to the caller fails the whole call and names it (nothing is
 * acknowledged): FAILED_PRECONDITION when it is not leased (its lease ran
 * out and it went back to the queue, or it never was), PERMISSION_DENIED
 * when another station holds it. A station prints a card only while its
 * lease holds, and acknowledges it after; so an authorisation is printed at
 * most once.
 *
 * Transport-free: request bytes in, response bytes out. Thread-safe; each
 * call is one control-store write transaction.
 */
#ifndef SIDIK_PRINT_SERVICE_H
#define SIDIK_PRINT_SERVICE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/authz.h"
#include "sidik/control.h"
#include "sidik/tls.h"

#define SIDIK_PRINT_LEASE_DEFAULT 16
#define SIDIK_PRINT_BATCH_MAX     256

typedef struct sidik_print_service {
    sidik_control *control;
    EVP_PKEY *key;           /* the Ed25519 signing key (borrowed) */
    int64_t lease_ms;        /* how long a lease holds, 1 s to 7 days */
    int64_t (*now_ms)(void); /* tests; NULL: the wall clock */
} sidik_print_service;

/** Answers one call of method (SIDIK_METHOD_PRINT_LEASE or _ACK) from who
 *  with request p[0..n); *out (sidik_free it) and *len get the encoded
 *  response. Errors: SIDIK_EFORMAT (the request does not parse),
 *  SIDIK_EINVAL (a field is wrong), SIDIK_EDENIED (not a printer, another
 *  region, an id another station holds), SIDIK_ESTATE (an id not leased),
 *  SIDIK_ENOMEM, and the control store's errors; why[0..cap) gets a text
 *  for the caller naming what is wrong. */
int sidik_print_answer(const sidik_print_service *ps, sidik_method m, const sidik_identity *who,
                       const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                       size_t cap);

#endif
