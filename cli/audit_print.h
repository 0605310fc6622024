/*
 * How `sidik audit` shows decisions: one decision in full for a person,
 * many as a table, and JSON (one object) or CSV (one row each) for
 * programs. JSON keys are the proto's field names; enums are printed by
 * their proto names ("DUPLICATE_OF", "RIGHT_THUMB"); times in ms since the
 * epoch beside their UTC text.
 */
#ifndef SIDIK_CLI_AUDIT_PRINT_H
#define SIDIK_CLI_AUDIT_PRINT_H

#include <stdio.h>

#include "sidik.pb-c.h"

/** The proto name of value in enum d, or "UNKNOWN(N)" in buf. */
const char *sidik_audit_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                  size_t cap);

/** One decision for a person: the enrollment, its status history (st may
 *  be NULL), the decision, the thresholds, each candidate with its fingers
 *  (which matched), then the earlier decisions in short. */
void sidik_audit_show(FILE *f, const Sidik__V1__DecisionRecord *d,
                      const Sidik__V1__EnrollmentState *st);

/** d as one JSON object (no newline); st (may be NULL) adds "history". */
void sidik_audit_json(FILE *f, const Sidik__V1__DecisionRecord *d,
                      const Sidik__V1__EnrollmentState *st);

/** The CSV header line, and d as one row: enrollment, office, NIK, status,
 *  decision, time, top candidate, its score, thresholds, adjudicator,
 *  reason. */
void sidik_audit_csv_header(FILE *f);
void sidik_audit_csv_row(FILE *f, const Sidik__V1__DecisionRecord *d);

/** The table's columns, and d as one of its rows (cells into a table). */
#define SIDIK_AUDIT_TABLE_COLS 8
extern const char *const sidik_audit_table_head[SIDIK_AUDIT_TABLE_COLS];
void sidik_audit_table_cells(const Sidik__V1__DecisionRecord *d,
                             char cells[SIDIK_AUDIT_TABLE_COLS][96]);

#endif
