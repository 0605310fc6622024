/*
 * sidikd's settings: built-in defaults, then a config file of `key = value`
 * lines, then the command line (main.c). deploy/sidikd.conf documents every
 * key with its default; a test keeps the two in step.
 *
 * File format: one setting per line; `#` starts a comment line; blank lines
 * are ignored; keys are lowercase words with `_`; values run to the end of
 * the line, spaces trimmed. Sizes take a K, M or G suffix (powers of 1024),
 * durations ms, s, m or h. A key may appear once.
 *
 * Pure functions; thread-safe.
 */
#ifndef SIDIK_CONFIG_H
#define SIDIK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define SIDIK_CONFIG_STR 256

typedef struct sidik_config {
    char listen[SIDIK_CONFIG_STR];         /* gRPC over TLS: host:port */
    char metrics_listen[SIDIK_CONFIG_STR]; /* plain-HTTP /metrics: host:port */
    uint32_t io_threads;                   /* libuv loops */
    uint32_t dedup_threads;                /* search workers */
    char data_dir[SIDIK_CONFIG_STR];       /* journal/, control/, gallery/ */
    char tls_ca[SIDIK_CONFIG_STR];
    char tls_cert[SIDIK_CONFIG_STR];
    char tls_key[SIDIK_CONFIG_STR];
    uint64_t max_message_bytes;
    uint32_t max_streams;                  /* concurrent streams per connection */
    uint32_t max_connections;
    uint32_t max_connections_per_client;   /* per certificate identity */
    uint64_t handshake_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t journal_segment_bytes;
    uint64_t journal_max_pending_bytes;
    uint64_t chunk_office_bytes;           /* Ingest.UploadChunks staging, per office */
    uint32_t chunk_office_enrollments;     /* enrollments staged at once, per office */
    uint64_t chunk_total_bytes;            /* staging for every office together */
    uint64_t chunk_idle_ms;                /* a staging untouched this long is dropped */
    double duplicate_fpir;
    double review_fpir;
    char print_key[SIDIK_CONFIG_STR];      /* Ed25519 PEM, made when missing (.pub beside) */
    uint64_t print_lease_ms;               /* how long a print station's lease holds */
    char log_level[SIDIK_CONFIG_STR];
} sidik_config;

/** The built-in defaults (those deploy/sidikd.conf lists). */
void sidik_config_defaults(sidik_config *c);

/** Applies the settings in text[0..n) over *c. On error *c may be partly
 *  changed, *line (may be NULL) is the 1-based line and *why the reason.
 *  Errors: SIDIK_EFORMAT (a line that is not `key = value`, an unknown or
 *  repeated key, a NUL byte, a line over 4096 bytes, a malformed number,
 *  address or level), SIDIK_ERANGE (a value outside the key's range),
 *  SIDIK_ETOOBIG (a string value over 255 bytes). */
int sidik_config_parse(const char *text, size_t n, sidik_config *c, unsigned *line,
                       const char **why);

/** sidik_config_parse on a file (at most 1 MiB). Errors: those, and -errno. */
int sidik_config_load(const char *path, sidik_config *c, unsigned *line, const char **why);

/** Key names in the order deploy/sidikd.conf documents them; NULL-ended. */
extern const char *const sidik_config_keys[];

/** Writes the value of key in *c into buf[0..cap), NUL-terminated, as
 *  `sidikd --check-config` prints it and Admin.GetConfig answers it:
 *  strings and addresses as they are, counts and sizes as whole numbers
 *  (bytes), durations in ms with the "ms" suffix, probabilities in %g.
 *  Errors: SIDIK_ENOTFOUND (no such key), SIDIK_ETOOBIG (cap too small),
 *  SIDIK_EINVAL. */
int sidik_config_format(const sidik_config *c, const char *key, char *buf, size_t cap);

#endif
