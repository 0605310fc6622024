/* What the `sidik` commands print (out.h). */
#include "out.h"
#include "sidik/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool sidik_out_colour(FILE *f)
{
    const char *term = getenv("TERM");
    const char *no = getenv("NO_COLOR");
    if (no != NULL && no[0] != '\0')
        return false;
    if (term == NULL || strcmp(term, "dumb") == 0)
        return false;
    return isatty(fileno(f)) == 1;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t len;
    uint32_t cp, min;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, cp = p[0] & 0x1f, min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3, cp = p[0] & 0x0f, min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, cp = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void sidik_out_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p != '\0') {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            fputc(*p++, f);
        } else {
            size_t len = utf8_len(p);
            if (len == 0) {
                fputs("\\ufffd", f);
                p++;
            } else {
                fwrite(p, 1, len, f);
                p += len;
            }
        }
    }
    fputc('"', f);
}

void sidik_out_json_number(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.6g", x);
    else
        fputs("null", f);
}

void sidik_out_csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void sidik_out_time(int64_t ms, char *out, size_t cap)
{
    if (ms == 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "%lld ms", (long long)ms);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so no timezone or libc state is
 * involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

int sidik_out_parse_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (s[0] == '@') { /* up to 15 digits: past the year 33000 in ms */
        if (n < 2 || n > 16 || !digits(s + 1, n - 1))
            return SIDIK_EINVAL;
        *ms = (int64_t)strtoll(s + 1, NULL, 10);
        return 0;
    }
    /* YYYY-MM-DD[THH:MM:SS[Z]] */
    if (n != 10 && n != 19 && !(n == 20 && s[19] == 'Z'))
        return SIDIK_EINVAL;
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return SIDIK_EINVAL;
    unsigned y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = 0, mi = 0, se = 0;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return SIDIK_EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return SIDIK_EINVAL;
    if (n > 10) {
        if (s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
            s[16] != ':' || !digits(s + 17, 2))
            return SIDIK_EINVAL;
        h = num(s + 11, 2), mi = num(s + 14, 2), se = num(s + 17, 2);
        if (h > 23 || mi > 59 || se > 59)
            return SIDIK_EINVAL;
    }
    int64_t days = days_from_civil(y, mo, d);
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000;
    return 0;
}

/* ---- tables ---------------------------------------------------------- */

void sidik_table_init(sidik_table *t, unsigned ncols, const char *const *head)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols < SIDIK_TABLE_COLS ? ncols : SIDIK_TABLE_COLS;
    for (unsigned c = 0; c < t->ncols; c++) {
        t->right[c] = head[c][0] == '>';
        t->head[c] = head[c] + t->right[c];
        t->width[c] = (unsigned)strlen(t->head[c]);
    }
}

/* Display width: UTF-8 continuation bytes take no column. */
static unsigned columns(const char *s)
{
    unsigned w = 0;
    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

int sidik_table_row(sidik_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 64;
        void *p = sidik_tryrealloc(t->cells, (size_t)cap * SIDIK_TABLE_COLS * SIDIK_TABLE_CELL);
        if (p == NULL)
            return SIDIK_ENOMEM;
        t->cells = p;
        t->cap = cap;
    }
    for (unsigned c = 0; c < t->ncols; c++) {
        char *cell = t->cells[(size_t)t->nrows * SIDIK_TABLE_COLS + c];
        size_t n = strlen(cells[c]);
        if (n < SIDIK_TABLE_CELL) {
            memcpy(cell, cells[c], n + 1);
        } else {
            /* Cut on a character boundary, then mark the cut. */
            size_t k = SIDIK_TABLE_CELL - 4;
            while (k > 0 && ((unsigned char)cells[c][k] & 0xc0) == 0x80)
                k--;
            memcpy(cell, cells[c], k);
            memcpy(cell + k, "...", 4);
        }
        unsigned w = columns(cell);
        if (w > t->width[c])
            t->width[c] = w;
    }
    t->nrows++;
    return 0;
}

static void cell_print(const sidik_table *t, FILE *f, unsigned c, const char *s)
{
    unsigned pad = t->width[c] - columns(s);
    if (t->right[c])
        fprintf(f, "%*s%s", (int)pad, "", s);
    else if (c + 1 < t->ncols)
        fprintf(f, "%s%*s", s, (int)pad, "");
    else
        fputs(s, f); /* no trailing blanks */
}

void sidik_table_print(const sidik_table *t, FILE *f)
{
    bool colour = sidik_out_colour(f);
    if (colour)
        fputs("\033[1m", f);
    for (unsigned c = 0; c < t->ncols; c++) {
        cell_print(t, f, c, t->head[c]);
        if (c + 1 < t->ncols)
            fputs("  ", f);
    }
    fputs(colour ? "\033[0m\n" : "\n", f);
    for (unsigned r = 0; r < t->nrows; r++) {
        for (unsigned c = 0; c < t->ncols; c++) {
            cell_print(t, f, c, t->cells[(size_t)r * SIDIK_TABLE_COLS + c]);
            if (c + 1 < t->ncols)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
}

void sidik_table_close(sidik_table *t)
{
    sidik_free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ---- progress ------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sidik_progress_start(sidik_progress *p, const char *what, uint64_t total)
{
    *p = (sidik_progress){.what = what, .total = total, .start_s = now_s()};
    p->tty = isatty(STDERR_FILENO) == 1;
}

static void draw(sidik_progress *p, uint64_t done, double t)
{
    enum { BAR = 30 };
    double el = t - p->start_s, rate = el > 0 ? (double)done / el : 0;
    char bar[BAR + 1];
    unsigned fill = p->total ? (unsigned)((double)BAR * (double)(done < p->total ? done : p->total) /
                                          (double)p->total)
                             : 0;
    for (unsigned i = 0; i < BAR; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[BAR] = 0;
    fprintf(stderr, "\r[%s] %3u%%  %llu/%llu %s  %.0f/s", bar,
            p->total ? (unsigned)(100.0 * (double)done / (double)p->total) : 0,
            (unsigned long long)done, (unsigned long long)p->total, p->what, rate);
    if (p->total > done && rate > 0) {
        unsigned left = (unsigned)((double)(p->total - done) / rate + 0.5);
        fprintf(stderr, "  %u:%02u left", left / 60, left % 60);
    }
    fputs("\033[K", stderr); /* clear what a longer earlier line left */
    fflush(stderr);
    p->drawn = true;
}

void sidik_progress_update(sidik_progress *p, uint64_t done, uint64_t total)
{
    p->total = total;
    if (!p->tty)
        return;
    double t = now_s();
    if (p->drawn && t - p->last_s < 0.1)
        return;
    p->last_s = t;
    draw(p, done, t);
}

void sidik_progress_end(sidik_progress *p, uint64_t done)
{
    if (!p->tty)
        return;
    draw(p, done, now_s());
    fputc('\n', stderr);
}
