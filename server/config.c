/*
 * sidikd's config file (sidik/config.h): one table of keys drives defaults,
 * parsing, range checks and the documented key list.
 */
#include "sidik/common.h"
#include "sidik/config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define FILE_MAX_BYTES (1 << 20)

typedef enum { T_STR, T_ADDR, T_LEVEL, T_U32, T_SIZE, T_MS, T_PROB } key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t off;
    double min, max; /* numbers */
} key_def;

#define F(field) offsetof(sidik_config, field)

static const key_def keys[] = {
    {"listen", T_ADDR, F(listen), 0, 0},
    {"metrics_listen", T_ADDR, F(metrics_listen), 0, 0},
    {"io_threads", T_U32, F(io_threads), 1, 256},
    {"dedup_threads", T_U32, F(dedup_threads), 1, 1024},
    {"data_dir", T_STR, F(data_dir), 0, 0},
    {"tls_ca", T_STR, F(tls_ca), 0, 0},
    {"tls_cert", T_STR, F(tls_cert), 0, 0},
    {"tls_key", T_STR, F(tls_key), 0, 0},
    {"max_message_bytes", T_SIZE, F(max_message_bytes), 1024, 64.0 * 1024 * 1024},
    {"max_streams", T_U32, F(max_streams), 1, 10000},
    {"max_connections", T_U32, F(max_connections), 1, 1000000},
    {"max_connections_per_client", T_U32, F(max_connections_per_client), 1, 1000000},
    {"handshake_timeout", T_MS, F(handshake_timeout_ms), 100, 600000},
    {"idle_timeout", T_MS, F(idle_timeout_ms), 1000, 86400000},
    {"journal_segment_bytes", T_SIZE, F(journal_segment_bytes), 1024 * 1024,
     64.0 * 1024 * 1024 * 1024},
    {"journal_max_pending_bytes", T_SIZE, F(journal_max_pending_bytes), 64 * 1024,
     16.0 * 1024 * 1024 * 1024},
    {"chunk_office_bytes", T_SIZE, F(chunk_office_bytes), 1024, 64.0 * 1024 * 1024 * 1024},
    {"chunk_office_enrollments", T_U32, F(chunk_office_enrollments), 1, 100000},
    {"chunk_total_bytes", T_SIZE, F(chunk_total_bytes), 1024, 1024.0 * 1024 * 1024 * 1024},
    {"chunk_idle_timeout", T_MS, F(chunk_idle_ms), 1000, 7.0 * 86400000},
    {"duplicate_fpir", T_PROB, F(duplicate_fpir), 1e-9, 0.5},
    {"review_fpir", T_PROB, F(review_fpir), 1e-9, 0.5},
    {"print_key", T_STR, F(print_key), 0, 0},
    {"print_lease", T_MS, F(print_lease_ms), 1000, 7.0 * 86400000},
    {"log_level", T_LEVEL, F(log_level), 0, 0},
};

const char *const sidik_config_keys[] = {
    "listen", "metrics_listen", "io_threads", "dedup_threads", "data_dir", "tls_ca", "tls_cert",
    "tls_key", "max_message_bytes", "max_streams", "max_connections",
    "max_connections_per_client", "handshake_timeout", "idle_timeout", "journal_segment_bytes", "journal_max_pending_bytes",
    "chunk_office_bytes", "chunk_office_enrollments", "chunk_total_bytes", "chunk_idle_timeout",
    "duplicate_fpir",
    "review_fpir", "print_key", "print_lease", "log_level", NULL,
};
_Static_assert(SIDIK_ARRAY_SIZE(sidik_config_keys) == SIDIK_ARRAY_SIZE(keys) + 1,
               "every key listed once");

void sidik_config_defaults(sidik_config *c)
{
    *c = (sidik_config){
        .listen = "0.0.0.0:7443",
        .metrics_listen = "127.0.0.1:9464",
        .io_threads = 2,
        .dedup_threads = 2,
        .data_dir = "./var",
        .tls_ca = "./var/pki/ca.crt",
        .tls_cert = "./var/pki/server.crt",
        .tls_key = "./var/pki/server.key",
        .max_message_bytes = 4u << 20,
        .max_streams = 100,
        .max_connections = 10000,
        .max_connections_per_client = 64,
        .handshake_timeout_ms = 10000,
        .idle_timeout_ms = 300000,
        .journal_segment_bytes = 256u << 20,
        .journal_max_pending_bytes = 64u << 20,
        .chunk_office_bytes = 4u << 20,
        .chunk_office_enrollments = 8,
        .chunk_total_bytes = 256u << 20,
        .chunk_idle_ms = 30 * 60 * 1000,
        .duplicate_fpir = 1e-3,
        .review_fpir = 1e-2,
        .print_key = "./var/print-signing.key",
        .print_lease_ms = 600000,
        .log_level = "info",
    };
}

/* ---- values ------------------------------------------------------------------ */

/* An unsigned decimal with an optional suffix from units (each with its
 * multiplier); the whole of v[0..n) must be used. */
typedef struct unit {
    const char *suffix;
    double mult;
} unit;

static int parse_number(const char *v, size_t n, const unit *units, double *out)
{
    size_t i = 0;
    double x = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9' && i < 20)
        x = x * 10 + (v[i++] - '0');
    if (i == 0)
        return -1;
    if (i == n) {
        *out = x;
        return 0;
    }
    for (const unit *u = units; u != NULL && u->suffix != NULL; u++)
        if (strlen(u->suffix) == n - i && memcmp(u->suffix, v + i, n - i) == 0) {
            *out = x * u->mult;
            return 0;
        }
    return -1;
}

static const unit size_units[] = {{"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}, {NULL, 0}};
static const unit ms_units[] = {{"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}, {NULL, 0}};

/* A probability: 0.001 or 1e-3. */
static int parse_prob(const char *v, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE-+", buf[i]))
            return -1; /* no hex, inf or nan through strtod */
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return end == buf + n && errno == 0 && isfinite(*out) ? 0 : -1;
}

/* host:port with a port of 1-65535; the host is a name or an IPv4 literal
 * (letters, digits, '.', '-'), or an IPv6 literal in brackets. */
static bool valid_addr(const char *v, size_t n)
{
    const char *colon = NULL;
    for (size_t i = n; i > 0; i--)
        if (v[i - 1] == ':') {
            colon = v + i - 1;
            break;
        }
    if (colon == NULL || colon == v)
        return false;
    size_t hn = (size_t)(colon - v), pn = n - hn - 1;
    double port;
    if (parse_number(colon + 1, pn, NULL, &port) != 0 || port > 65535) /* 0: any free port */
        return false;
    if (v[0] == '[')
        return hn > 2 && v[hn - 1] == ']';
    for (size_t i = 0; i < hn; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

static int set_value(const key_def *k, const char *v, size_t n, sidik_config *c, const char **why)
{
    char *field = (char *)c + k->off;
    double x = 0;
    switch (k->type) {
    case T_ADDR:
        if (!valid_addr(v, n)) {
            *why = "expected host:port with a port of 0-65535 (0: any free port)";
            return SIDIK_EFORMAT;
        }
        /* fall through */
    case T_STR:
    case T_LEVEL:
        if (n >= SIDIK_CONFIG_STR) {
            *why = "value longer than 255 bytes";
            return SIDIK_ETOOBIG;
        }
        if (n == 0) {
            *why = "empty value";
            return SIDIK_EFORMAT;
        }
        if (k->type == T_LEVEL) {
            char lv[16];
            sidik_log_level level;
            if (n >= sizeof lv)
                n = sizeof lv - 1;
            memcpy(lv, v, n);
            lv[n] = 0;
            if (sidik_log_level_parse(lv, &level) != 0) {
                *why = "expected error, warn, info, debug or trace";
                return SIDIK_EFORMAT;
            }
        }
        memcpy(field, v, n);
        field[n] = 0;
        return 0;
    case T_U32:
    case T_SIZE:
    case T_MS:
        if (parse_number(v, n, k->type == T_SIZE ? size_units : k->type == T_MS ? ms_units : NULL,
                         &x) != 0) {
            *why = k->type == T_SIZE ? "expected a whole number, optionally with K, M or G"
                   : k->type == T_MS ? "expected a duration such as 500ms, 10s, 5m or 1h"
                                     : "expected a whole number";
            return SIDIK_EFORMAT;
        }
        break;
    case T_PROB:
        if (parse_prob(v, n, &x) != 0) {
            *why = "expected a decimal number such as 0.001 or 1e-3";
            return SIDIK_EFORMAT;
        }
        break;
    }
    if (x < k->min || x > k->max) {
        *why = "value outside the key's range (deploy/sidikd.conf gives it)";
        return SIDIK_ERANGE;
    }
    if (k->type == T_U32)
        *(uint32_t *)(void *)field = (uint32_t)x;
    else if (k->type == T_PROB)
        *(double *)(void *)field = x;
    else
        *(uint64_t *)(void *)field = (uint64_t)x;
    return 0;
}

/* ---- lines ------------------------------------------------------------------- */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static int parse_line(const char *s, size_t n, sidik_config *c, bool *seen, const char **why)
{
    while (n > 0 && is_space(*s))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0 || s[0] == '#')
        return 0;
    const char *eq = memchr(s, '=', n);
    if (eq == NULL) {
        *why = "expected key = value";
        return SIDIK_EFORMAT;
    }
    size_t kn = (size_t)(eq - s);
    while (kn > 0 && is_space(s[kn - 1]))
        kn--;
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - s);
    while (vn > 0 && is_space(*v))
        v++, vn--;
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(keys); i++) {
        if (strlen(keys[i].name) != kn || memcmp(keys[i].name, s, kn) != 0)
            continue;
        if (seen[i]) {
            *why = "key set twice";
            return SIDIK_EFORMAT;
        }
        seen[i] = true;
        return set_value(&keys[i], v, vn, c, why);
    }
    *why = kn == 0 ? "missing key before '='" : "unknown key";
    return SIDIK_EFORMAT;
}

int sidik_config_parse(const char *text, size_t n, sidik_config *c, unsigned *line,
                       const char **why)
{
    const char *ignore;
    unsigned ignore_line;
    if (why == NULL)
        why = &ignore;
    if (line == NULL)
        line = &ignore_line;
    *why = NULL;
    *line = 0;
    if (c == NULL || (text == NULL && n > 0))
        return SIDIK_EINVAL;
    bool seen[SIDIK_ARRAY_SIZE(keys)] = {0};
    size_t at = 0;
    while (at < n) {
        ++*line;
        const char *nl = memchr(text + at, '\n', n - at);
        size_t len = nl != NULL ? (size_t)(nl - (text + at)) : n - at;
        if (len > LINE_MAX_BYTES) {
            *why = "line longer than 4096 bytes";
            return SIDIK_EFORMAT;
        }
        if (memchr(text + at, 0, len) != NULL) {
            *why = "NUL byte in the file";
            return SIDIK_EFORMAT;
        }
        int rc = parse_line(text + at, len, c, seen, why);
        if (rc != 0)
            return rc;
        at += len + (nl != NULL);
    }
    *line = 0;
    if (c->review_fpir < c->duplicate_fpir) {
        *why = "review_fpir must be at least duplicate_fpir";
        return SIDIK_ERANGE;
    }
    /* Else an enrollment Upload takes could never be staged whole. */
    if (c->chunk_office_bytes < c->max_message_bytes) {
        *why = "chunk_office_bytes must be at least max_message_bytes";
        return SIDIK_ERANGE;
    }
    if (c->chunk_total_bytes < c->chunk_office_bytes) {
        *why = "chunk_total_bytes must be at least chunk_office_bytes";
        return SIDIK_ERANGE;
    }
    return 0;
}

int sidik_config_format(const sidik_config *c, const char *key, char *buf, size_t cap)
{
    if (c == NULL || key == NULL || buf == NULL || cap == 0)
        return SIDIK_EINVAL;
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(keys); i++) {
        const key_def *k = &keys[i];
        if (strcmp(k->name, key) != 0)
            continue;
        const char *field = (const char *)c + k->off;
        int n = 0;
        switch (k->type) {
        case T_STR:
        case T_ADDR:
        case T_LEVEL:
            n = snprintf(buf, cap, "%s", field);
            break;
        case T_U32:
            n = snprintf(buf, cap, "%u", *(const uint32_t *)(const void *)field);
            break;
        case T_SIZE:
            n = snprintf(buf, cap, "%llu",
                         (unsigned long long)*(const uint64_t *)(const void *)field);
            break;
        case T_MS:
            n = snprintf(buf, cap, "%llums",
                         (unsigned long long)*(const uint64_t *)(const void *)field);
            break;
        case T_PROB:
            n = snprintf(buf, cap, "%g", *(const double *)(const void *)field);
            break;
        }
        return n < 0 || (size_t)n >= cap ? SIDIK_ETOOBIG : 0;
    }
    return SIDIK_ENOTFOUND;
}

int sidik_config_load(const char *path, sidik_config *c, unsigned *line, const char **why)
{
    if (path == NULL)
        return SIDIK_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (why)
            *why = "cannot open the config file";
        return -errno;
    }
    char *buf = sidik_trymalloc(FILE_MAX_BYTES + 1);
    if (buf == NULL) {
        close(fd);
        return SIDIK_ENOMEM;
    }
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf + n, FILE_MAX_BYTES + 1 - n)) > 0)
        n += (size_t)r;
    int err = r < 0 ? -errno : 0;
    close(fd);
    int rc = err;
    if (rc == 0 && n > FILE_MAX_BYTES) {
        if (why)
            *why = "config file larger than 1 MiB";
        rc = SIDIK_ETOOBIG;
    }
    if (rc == 0)
        rc = sidik_config_parse(buf, n, c, line, why);
    sidik_free(buf);
    return rc;
}
