/*
 * What the `sidik` commands print, so every command reads the same way:
 * tables for people, JSON and CSV for programs, colour and progress bars
 * only on a terminal, times in UTC ISO-8601.
 *
 * Colour follows the common conventions: only when the stream is a
 * terminal, never when NO_COLOR is set (no-color.org) or TERM is "dumb".
 * A progress bar draws on stderr only when stderr is a terminal, so a
 * piped or logged run stays clean; it is one line redrawn in place.
 *
 * Nothing here is thread-safe; a command prints from one thread.
 */
#ifndef SIDIK_CLI_OUT_H
#define SIDIK_CLI_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/** Whether f should get colour. */
bool sidik_out_colour(FILE *f);

/** s as a JSON string, quotes included. Bytes that start no valid UTF-8
 *  sequence become U+FFFD, so the output always parses. */
void sidik_out_json_string(FILE *f, const char *s);

/** x as a JSON number (%.6g), or null when it is not finite (JSON has no
 *  NaN or infinity). */
void sidik_out_json_number(FILE *f, double x);

/** s as one CSV field (RFC 4180): quoted when it holds a comma, quote,
 *  CR or LF, quotes doubled. */
void sidik_out_csv_field(FILE *f, const char *s);

/** ms since the epoch as "2026-12-02T10:15:03Z" into out (at least 21
 *  bytes); 0 prints "-". */
void sidik_out_time(int64_t ms, char *out, size_t cap);

/** Reads a time given on a command line: a date "2026-12-02" (its
 *  midnight UTC), "2026-12-02T10:15:03Z" (the Z may be left off; UTC
 *  either way) or "@" and milliseconds since the epoch, as the JSON output
 *  gives them ("@1796207703000"; a bare number would be ambiguous with a
 *  year). Errors: SIDIK_EINVAL. */
int sidik_out_parse_time(const char *s, int64_t *ms);

/* ---- tables ---------------------------------------------------------- */

#define SIDIK_TABLE_COLS 12
#define SIDIK_TABLE_CELL 96 /* longer cells are cut, with "..." */

typedef struct sidik_table {
    unsigned ncols;
    const char *head[SIDIK_TABLE_COLS];
    bool right[SIDIK_TABLE_COLS]; /* numbers align right */
    unsigned width[SIDIK_TABLE_COLS];
    unsigned nrows, cap;
    char (*cells)[SIDIK_TABLE_CELL]; /* nrows x ncols */
} sidik_table;

/** Starts a table with the given column headers (borrowed until print); a
 *  header starting with '>' is right-aligned (the '>' is not printed). */
void sidik_table_init(sidik_table *t, unsigned ncols, const char *const *head);

/** Adds a row of ncols cells (copied). Errors: SIDIK_ENOMEM. */
int sidik_table_row(sidik_table *t, const char *const *cells);

/** Prints the header (bold on a colour terminal) and the rows, columns as
 *  wide as their widest cell. */
void sidik_table_print(const sidik_table *t, FILE *f);

void sidik_table_close(sidik_table *t);

/* ---- progress ------------------------------------------------------- */

typedef struct sidik_progress {
    const char *what; /* "moved", borrowed */
    uint64_t total;   /* 0: not known yet */
    double start_s, last_s;
    bool tty, drawn;
} sidik_progress;

void sidik_progress_start(sidik_progress *p, const char *what, uint64_t total);

/** Redraws "[#####-----]  45%  1,234/5,000 moved  123/s  0:31 left" at
 *  most 10 times a second (total may change as it becomes known). */
void sidik_progress_update(sidik_progress *p, uint64_t done, uint64_t total);

/** Ends the line (the last figures stay on screen). */
void sidik_progress_end(sidik_progress *p, uint64_t done);

#endif
