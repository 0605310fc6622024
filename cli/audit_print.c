/* How `sidik audit` shows decisions (audit_print.h). */
#include "audit_print.h"
#include "out.h"

#include <inttypes.h>
#include <string.h>

const char *sidik_audit_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                  size_t cap)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    if (v != NULL)
        return v->name;
    snprintf(buf, cap, "UNKNOWN(%d)", value);
    return buf;
}

static const char *decision_name(int v, char *buf, size_t cap)
{
    return sidik_audit_enum_name(&sidik__v1__decision__descriptor, v, buf, cap);
}

static const char *status_name(int v, char *buf, size_t cap)
{
    return sidik_audit_enum_name(&sidik__v1__enrollment_status__descriptor, v, buf, cap);
}

static const char *finger_name(int v, char *buf, size_t cap)
{
    return sidik_audit_enum_name(&sidik__v1__finger_position__descriptor, v, buf, cap);
}

static unsigned matched_count(const Sidik__V1__Candidate *c)
{
    unsigned n = 0;
    for (size_t i = 0; i < c->n_fingers; i++)
        n += c->fingers[i]->matched;
    return n;
}

/* ---- for a person --------------------------------------------------- */

static void show_candidates(FILE *f, const Sidik__V1__DecisionRecord *d, bool colour)
{
    char b1[32], b2[32];
    for (size_t i = 0; i < d->n_candidates; i++) {
        const Sidik__V1__Candidate *c = d->candidates[i];
        fprintf(f, "  %zu. record %" PRIu64 "%s%s  fused score %.2f%s\n", i + 1, c->record_id,
                c->enrollment_id[0] ? ", enrollment " : "", c->enrollment_id, c->fused_score,
                c->nik_match ? "  (same NIK)" : "");
        fprintf(f, "     fingers matched: %u of %zu compared\n", matched_count(c), c->n_fingers);
        for (size_t k = 0; k < c->n_fingers; k++) {
            const Sidik__V1__FingerScore *s = c->fingers[k];
            const char *probe = finger_name(s->probe_position, b1, sizeof b1);
            const char *gal = finger_name(s->gallery_position, b2, sizeof b2);
            fprintf(f, "       %-13s", probe);
            if (s->gallery_position != s->probe_position)
                fprintf(f, " as %-13s", gal);
            fprintf(f, " %5u  %s%s%s\n", s->score, colour && s->matched ? "\033[1m" : "",
                    s->matched ? "matched" : "-", colour && s->matched ? "\033[0m" : "");
        }
    }
}

void sidik_audit_show(FILE *f, const Sidik__V1__DecisionRecord *d,
                      const Sidik__V1__EnrollmentState *st)
{
    bool colour = sidik_out_colour(f);
    char t[32], b[32];
    fprintf(f, "enrollment  %s\n", d->enrollment_id);
    fprintf(f, "office      %s\n", d->office_code[0] ? d->office_code : "-");
    fprintf(f, "NIK         %s\n", d->nik[0] ? d->nik : "-");
    fprintf(f, "status      %s\n", status_name(d->status, b, sizeof b));
    if (st != NULL && st->n_history > 0) {
        fprintf(f, "history\n");
        for (size_t i = 0; i < st->n_history; i++) {
            sidik_out_time(st->history[i]->time_ms, t, sizeof t);
            fprintf(f, "  %s  %s\n", t, status_name(st->history[i]->status, b, sizeof b));
        }
    }
    sidik_out_time(d->decided_time_ms, t, sizeof t);
    fprintf(f, "\ndecision    %s%s%s", colour ? "\033[1m" : "",
            decision_name(d->decision, b, sizeof b), colour ? "\033[0m" : "");
    fprintf(f, "  (decision %u%s, %s)\n", d->index + 1, d->index == 0 ? ", the search's" : "", t);
    if (d->adjudicator[0])
        fprintf(f, "adjudicator %s\n", d->adjudicator);
    if (d->reason[0])
        fprintf(f, "reason      %s\n", d->reason);
    fprintf(f, "gallery     %" PRIu64 " persons searched\n", d->gallery_size);
    /* The thresholds follow the gallery size and the fingers two persons
     * share, so they are the top candidate's; with none, no enrolled person
     * came near either threshold. */
    if (d->n_candidates == 0)
        fprintf(f, "candidates  none at or above the review threshold\n");
    else
        fprintf(f, "thresholds  duplicate %.2f, review %.2f (fused score, for the top candidate's "
                   "fingers)\ncandidates\n",
                d->threshold, d->review_threshold);
    show_candidates(f, d, colour);
    if (d->n_earlier > 0)
        fprintf(f, "\nearlier decisions\n");
    for (size_t i = 0; i < d->n_earlier; i++) {
        const Sidik__V1__DecisionRecord *e = d->earlier[i];
        sidik_out_time(e->decided_time_ms, t, sizeof t);
        fprintf(f, "  %u. %s  %s%s%s%s%s\n", e->index + 1, t, decision_name(e->decision, b, sizeof b),
                e->adjudicator[0] ? " by " : "", e->adjudicator, e->reason[0] ? ": " : "",
                e->reason);
    }
}

/* ---- for programs ----------------------------------------------------- */

static void json_key_string(FILE *f, const char *key, const char *s)
{
    fprintf(f, "\"%s\":", key);
    sidik_out_json_string(f, s);
}

static void json_fingers(FILE *f, const Sidik__V1__Candidate *c)
{
    char b[32];
    fputs("\"fingers\":[", f);
    for (size_t k = 0; k < c->n_fingers; k++) {
        const Sidik__V1__FingerScore *s = c->fingers[k];
        fprintf(f, "%s{\"probe_position\":\"%s\"", k ? "," : "",
                finger_name(s->probe_position, b, sizeof b));
        fprintf(f, ",\"gallery_position\":\"%s\",\"score\":%u,\"matched\":%s}",
                finger_name(s->gallery_position, b, sizeof b), s->score,
                s->matched ? "true" : "false");
    }
    fputc(']', f);
}

void sidik_audit_json(FILE *f, const Sidik__V1__DecisionRecord *d,
                      const Sidik__V1__EnrollmentState *st)
{
    char b[32], t[32];
    fputc('{', f);
    json_key_string(f, "enrollment_id", d->enrollment_id);
    fputc(',', f);
    json_key_string(f, "office_code", d->office_code);
    fputc(',', f);
    json_key_string(f, "nik", d->nik);
    fprintf(f, ",\"status\":\"%s\"", status_name(d->status, b, sizeof b));
    fprintf(f, ",\"decision\":\"%s\"", decision_name(d->decision, b, sizeof b));
    sidik_out_time(d->decided_time_ms, t, sizeof t);
    fprintf(f, ",\"decided_time_ms\":%" PRId64 ",\"decided_time\":\"%s\"", d->decided_time_ms, t);
    fprintf(f, ",\"index\":%u,\"gallery_size\":%" PRIu64, d->index, d->gallery_size);
    fputs(",\"threshold\":", f);
    sidik_out_json_number(f, d->threshold);
    fputs(",\"review_threshold\":", f);
    sidik_out_json_number(f, d->review_threshold);
    fputc(',', f);
    json_key_string(f, "adjudicator", d->adjudicator);
    fputc(',', f);
    json_key_string(f, "reason", d->reason);
    fputs(",\"candidates\":[", f);
    for (size_t i = 0; i < d->n_candidates; i++) {
        const Sidik__V1__Candidate *c = d->candidates[i];
        fprintf(f, "%s{\"record_id\":%" PRIu64 ",", i ? "," : "", c->record_id);
        json_key_string(f, "enrollment_id", c->enrollment_id);
        fputs(",\"fused_score\":", f);
        sidik_out_json_number(f, c->fused_score);
        fprintf(f, ",\"nik_match\":%s,\"fingers_matched\":%u,", c->nik_match ? "true" : "false",
                matched_count(c));
        json_fingers(f, c);
        fputc('}', f);
    }
    fputc(']', f);
    if (st != NULL) {
        fputs(",\"history\":[", f);
        for (size_t i = 0; i < st->n_history; i++)
            fprintf(f, "%s{\"status\":\"%s\",\"time_ms\":%" PRId64 "}", i ? "," : "",
                    status_name(st->history[i]->status, b, sizeof b), st->history[i]->time_ms);
        fputc(']', f);
    }
    if (d->n_earlier > 0) {
        fputs(",\"earlier\":[", f);
        for (size_t i = 0; i < d->n_earlier; i++) {
            if (i)
                fputc(',', f);
            sidik_audit_json(f, d->earlier[i], NULL);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

void sidik_audit_csv_header(FILE *f)
{
    fputs("enrollment_id,office_code,nik,status,decision,decided_time,top_record,top_score,"
          "fingers_matched,threshold,review_threshold,adjudicator,reason\n",
          f);
}

void sidik_audit_csv_row(FILE *f, const Sidik__V1__DecisionRecord *d)
{
    char b[32], t[32];
    sidik_out_csv_field(f, d->enrollment_id);
    fputc(',', f);
    sidik_out_csv_field(f, d->office_code);
    fputc(',', f);
    sidik_out_csv_field(f, d->nik);
    sidik_out_time(d->decided_time_ms, t, sizeof t);
    fprintf(f, ",%s,%s,%s,", status_name(d->status, b, sizeof b),
            decision_name(d->decision, b, sizeof b), t);
    if (d->n_candidates > 0)
        fprintf(f, "%" PRIu64 ",%.6g,%u", d->candidates[0]->record_id,
                d->candidates[0]->fused_score, matched_count(d->candidates[0]));
    else
        fputs(",,", f);
    fprintf(f, ",%.6g,%.6g,", d->threshold, d->review_threshold);
    sidik_out_csv_field(f, d->adjudicator);
    fputc(',', f);
    sidik_out_csv_field(f, d->reason);
    fputc('\n', f);
}

const char *const sidik_audit_table_head[SIDIK_AUDIT_TABLE_COLS] = {
    "enrollment", "office", "NIK", "decision", "decided (UTC)", ">top record", ">score", "reason"};

void sidik_audit_table_cells(const Sidik__V1__DecisionRecord *d,
                             char cells[SIDIK_AUDIT_TABLE_COLS][96])
{
    char b[32];
    snprintf(cells[0], 96, "%s", d->enrollment_id);
    snprintf(cells[1], 96, "%s", d->office_code);
    snprintf(cells[2], 96, "%s", d->nik[0] ? d->nik : "-");
    snprintf(cells[3], 96, "%s", decision_name(d->decision, b, sizeof b));
    sidik_out_time(d->decided_time_ms, cells[4], 96);
    if (d->n_candidates > 0) {
        snprintf(cells[5], 96, "%" PRIu64, d->candidates[0]->record_id);
        snprintf(cells[6], 96, "%.2f", d->candidates[0]->fused_score);
    } else {
        snprintf(cells[5], 96, "-");
        snprintf(cells[6], 96, "-");
    }
    snprintf(cells[7], 96, "%s%s%s", d->adjudicator, d->adjudicator[0] ? ": " : "", d->reason);
}
