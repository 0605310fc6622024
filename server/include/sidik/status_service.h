/*
 * Status.Get and Status.List: where enrollments stand, answered from the
 * control store alone (the matcher is never touched).
 *
 * Get: an office sees only its own enrollments; another office's id is
 * NOT_FOUND, exactly as an id never received, so ids do not leak between
 * offices. Auditors see any. List: the calling office's own enrollments
 * in the order they were received, optionally only one status and only
 * those received at or after since_ms; page_size 0 means 100, more than
 * 1,000 means 1,000; next_page_token is opaque (empty on the last page).
 * One page examines at most 10,000 records, so a filter that matches few
 * can return a short (even empty) page with a token to go on from.
 *
 * Transport-free: request bytes in, response bytes out. Thread-safe.
 */
#ifndef SIDIK_STATUS_SERVICE_H
#define SIDIK_STATUS_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/authz.h"
#include "sidik/control.h"
#include "sidik/tls.h"

/** Answers one call of method (SIDIK_METHOD_STATUS_GET or _LIST) from who
 *  with request p[0..n); *out (sidik_free it) and *len get the encoded
 *  response. Errors: SIDIK_EFORMAT (the request does not parse),
 *  SIDIK_EINVAL (a field is wrong: *why says which), SIDIK_ENOTFOUND,
 *  SIDIK_EDENIED (a role other than office or auditor), SIDIK_ENOMEM, and
 *  the control store's errors. *why is a static text for the caller. */
int sidik_status_answer(sidik_control *c, sidik_method m, const sidik_identity *who,
                        const uint8_t *p, size_t n, uint8_t **out, size_t *len, const char **why);

#endif
