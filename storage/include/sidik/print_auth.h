/*
 * A print authorisation: what a print station needs to print one card, as
 * a canonical text (the payload) signed with the server's Ed25519 key, so
 * that a station, or anyone holding the public key, can check it offline
 * (`sidik print verify`).
 *
 * The payload is ASCII, exactly these seven lines in this order, each
 * ended by '\n', nothing before or after:
 *
 *   sidik print authorisation v1
 *   enrollment_id=<the enrollment id>
 *   nik=<16 digits>
 *   region=<print region, e.g. 31.71>
 *   record_id=<gallery record id, decimal>
 *   content_sha256=<SHA-256 of the enrollment as received, 64 lowercase hex>
 *   authorised_ms=<when it became PRINT_READY, Unix ms, decimal>
 *
 * A text rather than a binary layout so a person can read what was signed;
 * canonical (decode refuses anything encode would not write) so one
 * authorisation has exactly one payload. Ed25519 signatures are
 * deterministic: signing the same payload again gives the same 64 bytes.
 */
#ifndef SIDIK_PRINT_AUTH_H
#define SIDIK_PRINT_AUTH_H

#include "sidik/control.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIDIK_PRINT_PAYLOAD_MAX 512
#define SIDIK_PRINT_SIG_BYTES   64

typedef struct sidik_print_auth {
    char enrollment_id[SIDIK_ENROLL_ID_MAX + 1];
    char nik[SIDIK_NIK_LEN + 1];
    char region[SIDIK_REGION_MAX + 1];
    uint64_t record_id;
    uint8_t content_sha256[32];
    int64_t authorised_ms;
} sidik_print_auth;

/** Writes a's payload to out[0..cap) (not NUL-terminated), its length to
 *  *len. Errors: SIDIK_EINVAL (a field outside its rules: id, 16-digit NIK,
 *  region, record id 0, time <= 0), SIDIK_ERANGE (cap too small). */
int sidik_print_auth_encode(const sidik_print_auth *a, uint8_t *out, size_t cap, size_t *len);

/** Reads a payload. Errors: SIDIK_EFORMAT with *why naming what is wrong
 *  (any byte that encode would not have written: a missing, extra,
 *  reordered or misspelt line, a field outside its rules, leading zeros,
 *  uppercase hex, trailing bytes), SIDIK_ETOOBIG (over
 *  SIDIK_PRINT_PAYLOAD_MAX). */
int sidik_print_auth_decode(const uint8_t *p, size_t n, sidik_print_auth *a, const char **why);

/** Signs p[0..n) with an Ed25519 private key. Errors: SIDIK_EINVAL (not
 *  an Ed25519 private key), SIDIK_EINTERNAL. */
int sidik_print_sign(EVP_PKEY *key, const uint8_t *p, size_t n,
                     uint8_t sig[SIDIK_PRINT_SIG_BYTES]);

/** 0 when sig is key's Ed25519 signature over p[0..n). Errors:
 *  SIDIK_EBADSIG (it is not, or sig is not 64 bytes), SIDIK_EINVAL (not an
 *  Ed25519 key). */
int sidik_print_verify(EVP_PKEY *key, const uint8_t *p, size_t n, const uint8_t *sig,
                       size_t siglen);

/** Reads a PEM Ed25519 key: the private key (private) or the public one
 *  (a private key's file serves too). Errors: -errno (cannot open),
 *  SIDIK_EFORMAT (not PEM, or not Ed25519), with *why. */
int sidik_print_key_load(const char *path, bool private, EVP_PKEY **out, const char **why);

/** Makes a new Ed25519 key: the private key to key_path (PEM, mode 0600,
 *  never over an existing file) and its public key to pub_path (PEM).
 *  Errors: -EEXIST, -errno, SIDIK_EINTERNAL, with *why. */
int sidik_print_key_create(const char *key_path, const char *pub_path, EVP_PKEY **out,
                           const char **why);

#endif
