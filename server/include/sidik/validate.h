/*
 * Checking an uploaded Enrollment before it may enter the journal: every
 * field against its rule, templates through the matcher's decoders, the
 * attachments against their declared SHA-256, the office against the
 * caller's certificate. A refused enrollment is answered INVALID_ARGUMENT
 * with one FieldError per problem (field path, stable reason code, text).
 *
 * Pure functions; thread-safe.
 */
#ifndef SIDIK_VALIDATE_H
#define SIDIK_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik.pb-c.h"
#include "sidik/tls.h"

#define SIDIK_VALIDATE_MAX_ERRORS 16

typedef struct sidik_field_error {
    char field[48];          /* "fingers[3].template", "demographics.nik" */
    const char *reason_code; /* stable, machine-readable: "TEMPLATE_TRUNCATED" */
    const char *detail;      /* for people */
} sidik_field_error;

typedef struct sidik_validation {
    uint32_t nerrors; /* the first SIDIK_VALIDATE_MAX_ERRORS are kept */
    uint32_t dropped; /* beyond those */
    sidik_field_error err[SIDIK_VALIDATE_MAX_ERRORS];
    uint32_t fingers; /* usable finger templates found */
} sidik_validation;

typedef struct sidik_validate_limits {
    int64_t now_ms;              /* the server's clock */
    uint32_t max_face_bytes;     /* 0: 1 MiB */
    uint32_t max_signature_bytes; /* 0: 256 KiB */
} sidik_validate_limits;

/** Checks e as uploaded by who. Returns 0 when every rule holds,
 *  SIDIK_EINVAL with *out listing the problems otherwise, SIDIK_ENOMEM. */
int sidik_enrollment_validate(const Sidik__V1__Enrollment *e, const sidik_identity *who,
                              const sidik_validate_limits *lim, sidik_validation *out);

/** Whether id is an enrollment id an Enrollment may carry (a UUID in its
 *  8-4-4-4-12 text form; ENROLLMENT_ID_FORMAT otherwise). */
bool sidik_enrollment_id_valid(const char *id);

/** SHA-256 over e's canonical encoding (protobuf-c's packing of the decoded
 *  message, so the sender's field order does not matter; unknown fields are
 *  kept by protobuf-c and count as content), the content hash a resend is
 *  compared by. Errors: SIDIK_ENOMEM. */
int sidik_enrollment_hash(const Sidik__V1__Enrollment *e, uint8_t out[32]);

#endif
