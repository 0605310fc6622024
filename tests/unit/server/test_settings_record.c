/*
 * The settings sidikd starts with, kept in the control store and audited:
 * the first start records them in one entry, an unchanged start adds
 * nothing, each changed key gets its own entry naming old and new values
 * (a key an older build did not have reads "(not set)"), and the chain
 * stays intact; hostile and damaged records refused with exact errors.
 */
#include "test_support.h"

#include "../storage/storage_test.h"
#include "sidik/common.h"
#include "sidik/settings_record.h"

#include <string.h>

#define T0 1790000000000LL

static uint64_t audit_entries(sidik_control *c)
{
    sidik_control_txn *t;
    uint64_t checked = 0, bad = 0;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_audit_verify(t, &checked, &bad), 0);
    sidik_control_abort(t);
    return checked;
}

static void entry(sidik_control *c, uint64_t seq, sidik_audit_entry *e)
{
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_audit_get(t, seq, e), 0);
    sidik_control_abort(t);
}

static void test_settings_record_changes_audited(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c;
    assert_int_equal(sidik_control_open(dir, NULL, &c, NULL), 0);
    sidik_config cfg;
    sidik_config_defaults(&cfg);
    unsigned changed = 0;
    size_t nkeys = 0;
    while (sidik_config_keys[nkeys] != NULL)
        nkeys++;

    assert_int_equal(sidik_settings_record(c, &cfg, T0, &changed), 0);
    assert_int_equal(changed, nkeys);
    assert_int_equal(audit_entries(c), 1);
    sidik_audit_entry e;
    entry(c, 1, &e);
    assert_int_equal(e.kind, SIDIK_AUDIT_ADMIN);
    assert_string_equal(e.actor, "sidikd");
    assert_string_equal(e.subject, "settings");
    char want[128];
    snprintf(want, sizeof want, "first start: %zu settings recorded", nkeys);
    assert_string_equal(e.detail, want);

    /* The same settings again: nothing new. */
    assert_int_equal(sidik_settings_record(c, &cfg, T0 + 1, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(audit_entries(c), 1);

    /* Two thresholds tightened: one entry each, old and new. */
    cfg.duplicate_fpir = 1e-4;
    cfg.review_fpir = 1e-3;
    assert_int_equal(sidik_settings_record(c, &cfg, T0 + 2, &changed), 0);
    assert_int_equal(changed, 2);
    assert_int_equal(audit_entries(c), 3);
    entry(c, 2, &e);
    assert_string_equal(e.detail, "duplicate_fpir: 0.001 -> 0.0001");
    assert_int_equal(e.time_ms, T0 + 2);
    entry(c, 3, &e);
    assert_string_equal(e.detail, "review_fpir: 0.01 -> 0.001");
    assert_int_equal(sidik_settings_record(c, &cfg, T0 + 3, &changed), 0);
    assert_int_equal(changed, 0);

    /* What an older build kept lacks a key this one has. */
    sidik_control_txn *t;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    char *text;
    size_t n;
    assert_int_equal(sidik_control_settings_get(t, &text, &n), 0);
    assert_int_equal(strlen(text), n);
    char *line = strstr(text, "log_level = ");
    assert_non_null(line);
    *line = 0; /* the last key: cut it off */
    assert_int_equal(sidik_control_settings_put(t, text, strlen(text)), 0);
    sidik_free(text);
    assert_int_equal(sidik_control_commit(t), 0);
    assert_int_equal(sidik_settings_record(c, &cfg, T0 + 4, &changed), 0);
    assert_int_equal(changed, 1);
    entry(c, 4, &e);
    assert_string_equal(e.detail, "log_level: (not set) -> info");
    assert_int_equal(audit_entries(c), 4);

    sidik_control_close(c);
    scratch_remove(dir);
}

static void test_settings_record_refusals(void **state)
{
    (void)state;
    char *dir = scratch_create();
    sidik_control *c;
    assert_int_equal(sidik_control_open(dir, NULL, &c, NULL), 0);
    sidik_control_txn *t;
    char *text;
    size_t n;
    assert_int_equal(sidik_control_begin(c, true, &t), 0);
    assert_int_equal(sidik_control_settings_get(t, &text, &n), SIDIK_ENOTFOUND);
    assert_int_equal(sidik_control_settings_put(t, "a = \x01\n", 6), SIDIK_EINVAL);
    assert_int_equal(sidik_control_settings_put(t, "a = \xc3\xa9\n", 7), SIDIK_EINVAL);
    assert_int_equal(sidik_control_settings_put(t, "a = b\0c", 7), SIDIK_EINVAL);
    static char big[SIDIK_SETTINGS_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(sidik_control_settings_put(t, big, sizeof big), SIDIK_EINVAL);
    assert_int_equal(sidik_control_settings_put(t, big, SIDIK_SETTINGS_MAX), 0);
    assert_int_equal(sidik_control_settings_put(NULL, "a", 1), SIDIK_EINVAL);
    assert_int_equal(sidik_control_settings_get(t, NULL, &n), SIDIK_EINVAL);
    assert_int_equal(sidik_control_commit(t), 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_settings_put(t, "a = b\n", 6), SIDIK_ESTATE);
    sidik_control_abort(t);
    sidik_control_close(c);
    /* Damage written behind the store's back is refused, not trusted. */
    raw_lmdb_put(dir, "meta", "settings", 8, "a = \x07", 5);
    assert_int_equal(sidik_control_open(dir, NULL, &c, NULL), 0);
    assert_int_equal(sidik_control_begin(c, false, &t), 0);
    assert_int_equal(sidik_control_settings_get(t, &text, &n), SIDIK_ECORRUPT);
    sidik_control_abort(t);
    sidik_config cfg;
    sidik_config_defaults(&cfg);
    assert_int_equal(sidik_settings_record(c, &cfg, T0, NULL), SIDIK_ECORRUPT);
    assert_int_equal(audit_entries(c), 0);
    sidik_control_close(c);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_record_changes_audited),
        cmocka_unit_test(test_settings_record_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
