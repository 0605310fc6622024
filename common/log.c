/* Structured, single-write log lines with UTC timestamps. */
#include "sidik/log.h"
#include "sidik/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Process-wide settings, written at start-up (or by tests); atomics so a
 * reader on another thread never sees a torn value. */
static _Atomic int threshold = SIDIK_LOG_LEVEL_INFO;
static _Atomic int out_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

enum { LINE_MAX_BYTES = 4096 };

int sidik_log_level_parse(const char *s, sidik_log_level *out)
{
    if (s == NULL)
        return SIDIK_EINVAL;
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (sidik_log_level)i;
            return 0;
        }
    }
    return SIDIK_EINVAL;
}

const char *sidik_log_level_name(sidik_log_level level)
{
    if ((unsigned)level < sizeof level_names / sizeof level_names[0])
        return level_names[level];
    return "unknown";
}

int sidik_log_init_from_env(void)
{
    const char *v = getenv("SIDIK_LOG");
    if (v == NULL || *v == '\0')
        return 0;
    sidik_log_level l;
    if (sidik_log_level_parse(v, &l) != 0) {
        sidik_log_set_level(SIDIK_LOG_LEVEL_INFO);
        SIDIK_LOG_WARN("SIDIK_LOG holds an unknown level; using info",
                       "value=\"%.32s\" allowed=error|warn|info|debug|trace", v);
        return SIDIK_EINVAL;
    }
    sidik_log_set_level(l);
    return 0;
}

void sidik_log_set_level(sidik_log_level level)
{
    atomic_store_explicit(&threshold, (int)level, memory_order_relaxed);
}

sidik_log_level sidik_log_get_level(void)
{
    return (sidik_log_level)atomic_load_explicit(&threshold, memory_order_relaxed);
}

void sidik_log_set_fd(int fd)
{
    atomic_store_explicit(&out_fd, fd, memory_order_relaxed);
}

/* Appends src to dst[*len..cap), escaping control characters, backslash and
 * (inside the quoted msg) double quotes. Returns false when it ran out of room. */
static bool append_escaped(char *dst, size_t *len, size_t cap, const char *src, bool in_quotes)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        char esc[5];
        size_t n = 0;
        if (*p == '\n') {
            esc[n++] = '\\', esc[n++] = 'n';
        } else if (*p == '\r') {
            esc[n++] = '\\', esc[n++] = 'r';
        } else if (*p == '\t') {
            esc[n++] = '\\', esc[n++] = 't';
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[n++] = '\\', esc[n++] = 'x', esc[n++] = hex[*p >> 4], esc[n++] = hex[*p & 15];
        } else if (in_quotes && (*p == '"' || *p == '\\')) {
            esc[n++] = '\\', esc[n++] = (char)*p;
        } else {
            esc[n++] = (char)*p;
        }
        if (*len + n >= cap)
            return false;
        for (size_t i = 0; i < n; i++)
            dst[(*len)++] = esc[i];
    }
    return true;
}

void sidik_log(sidik_log_level level, const char *msg, const char *fmt, ...)
{
    if (!sidik_log_enabled(level))
        return;
    int saved_errno = errno;

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    /* Reserve room for the " truncated=1\n" tail so it always fits. */
    static const char tail[] = " truncated=1";
    char line[LINE_MAX_BYTES];
    size_t cap = sizeof line - sizeof tail - 1;
    size_t len =
        (size_t)snprintf(line, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, ts.tv_nsec / 1000000, sidik_log_level_name(level));
    bool ok = append_escaped(line, &len, cap, msg != NULL ? msg : "", true);
    if (ok && len + 1 < cap)
        line[len++] = '"';
    else
        ok = false;

    if (ok && fmt != NULL && *fmt != '\0') {
        char fields[LINE_MAX_BYTES];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(fields, sizeof fields, fmt, ap);
        va_end(ap);
        if (n >= (int)sizeof fields)
            ok = false;
        if (n > 0 && len + 1 < cap) {
            line[len++] = ' ';
            ok = append_escaped(line, &len, cap, fields, false) && ok;
        }
    }
    if (!ok) {
        for (size_t i = 0; tail[i] != '\0'; i++)
            line[len++] = tail[i];
    }
    line[len++] = '\n';

    int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* Nowhere left to report a logging failure. */
        p += w;
        len -= (size_t)w;
    }
    errno = saved_errno;
}
