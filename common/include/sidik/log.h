/*
 * Structured logging: one line per event, logfmt-style key=value, to stderr.
 *
 *   ts=2026-11-22T11:02:03.123Z level=info msg="simd level chosen" simd=avx2 source=cpuid
 *
 * The caller writes its fields with printf formatting ("shard=%u bytes=%zu");
 * string values that can hold spaces belong in quotes ("why=\"%s\""). The
 * logger escapes every control character in the finished line, so a hostile
 * value (a client's certificate subject, say) can never forge a second line.
 *
 * The threshold comes from SIDIK_LOG (error|warn|info|debug|trace, default
 * info), read by sidik_log_init_from_env(), which main() calls once.
 *
 * Thread safety: every function is thread-safe; each line reaches the file
 * descriptor in a single write(2), so lines from threads do not interleave.
 */
#ifndef SIDIK_LOG_H
#define SIDIK_LOG_H

#include <stdbool.h>

typedef enum {
    SIDIK_LOG_LEVEL_ERROR = 0,
    SIDIK_LOG_LEVEL_WARN = 1,
    SIDIK_LOG_LEVEL_INFO = 2,
    SIDIK_LOG_LEVEL_DEBUG = 3,
    SIDIK_LOG_LEVEL_TRACE = 4,
} sidik_log_level;

/** Parses "error", "warn", "info", "debug" or "trace" (case-insensitive).
 *  Returns 0, or SIDIK_EINVAL for anything else (out is untouched). */
int sidik_log_level_parse(const char *s, sidik_log_level *out);

/** "error" ... "trace". */
const char *sidik_log_level_name(sidik_log_level level);

/** Sets the threshold from $SIDIK_LOG. Returns 0 (also when unset), or
 *  SIDIK_EINVAL when it holds an unknown level; the threshold is then left
 *  at info and a warning is logged. */
int sidik_log_init_from_env(void);

void sidik_log_set_level(sidik_log_level level);
sidik_log_level sidik_log_get_level(void);

/** Where lines go; default 2 (stderr). Tests point it at a pipe or file. */
void sidik_log_set_fd(int fd);

static inline bool sidik_log_enabled(sidik_log_level level)
{
    return level <= sidik_log_get_level();
}

/** Writes one line if level passes the threshold. msg is a short fixed text
 *  (quoted in the output); fmt, which may be NULL, formats the fields. Lines
 *  longer than 4 KiB are cut and end in "truncated=1". */
void sidik_log(sidik_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SIDIK__LOG(lvl, ...)             \
    do {                                 \
        if (sidik_log_enabled(lvl))      \
            sidik_log(lvl, __VA_ARGS__); \
    } while (0)
#define SIDIK_LOG_ERROR(...) SIDIK__LOG(SIDIK_LOG_LEVEL_ERROR, __VA_ARGS__)
#define SIDIK_LOG_WARN(...)  SIDIK__LOG(SIDIK_LOG_LEVEL_WARN, __VA_ARGS__)
#define SIDIK_LOG_INFO(...)  SIDIK__LOG(SIDIK_LOG_LEVEL_INFO, __VA_ARGS__)
#define SIDIK_LOG_DEBUG(...) SIDIK__LOG(SIDIK_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define SIDIK_LOG_TRACE(...) SIDIK__LOG(SIDIK_LOG_LEVEL_TRACE, __VA_ARGS__)

#endif
