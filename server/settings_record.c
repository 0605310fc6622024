/* The settings sidikd runs with, kept and audited (sidik/settings_record.h). */
#include "sidik/settings_record.h"
#include "sidik/common.h"

#include <stdio.h>
#include <string.h>

#define LINE_MAX_BYTES 1100 /* a key and a value of up to SIDIK_CONFIG_STR */

/* "key = value\n" for every key, in the table's order. */
static int settings_text(const sidik_config *c, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *s = sidik_trymalloc(cap);
    if (s == NULL)
        return SIDIK_ENOMEM;
    for (size_t i = 0; sidik_config_keys[i] != NULL; i++) {
        char v[LINE_MAX_BYTES];
        int rc = sidik_config_format(c, sidik_config_keys[i], v, sizeof v);
        size_t need = strlen(sidik_config_keys[i]) + strlen(v) + 5;
        if (rc == 0 && n + need > SIDIK_SETTINGS_MAX)
            rc = SIDIK_ETOOBIG;
        if (rc == 0 && n + need > cap) {
            char *t = sidik_tryrealloc(s, cap * 2 > n + need ? cap * 2 : n + need);
            if (t == NULL)
                rc = SIDIK_ENOMEM;
            else
                s = t, cap = cap * 2 > n + need ? cap * 2 : n + need;
        }
        if (rc != 0) {
            sidik_free(s);
            return rc;
        }
        n += (size_t)snprintf(s + n, cap - n, "%s = %s\n", sidik_config_keys[i], v);
    }
    *out = s, *len = n;
    return 0;
}

/* The value of key in text ("key = value" lines), into v; false when the
 * text has no such line (a key this build added since). */
static bool value_of(const char *text, const char *key, char *v, size_t cap)
{
    size_t kn = strlen(key);
    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t ln = end ? (size_t)(end - p) : strlen(p);
        if (ln > kn + 3 && memcmp(p, key, kn) == 0 && memcmp(p + kn, " = ", 3) == 0) {
            size_t vn = ln - kn - 3 < cap - 1 ? ln - kn - 3 : cap - 1;
            memcpy(v, p + kn + 3, vn);
            v[vn] = 0;
            return true;
        }
        p += ln + (end != NULL);
    }
    return false;
}

static int audit(sidik_control_txn *t, int64_t now_ms, const char *detail)
{
    sidik_audit_entry a = {.kind = SIDIK_AUDIT_ADMIN, .time_ms = now_ms};
    snprintf(a.actor, sizeof a.actor, "sidikd");
    snprintf(a.subject, sizeof a.subject, "settings");
    snprintf(a.detail, sizeof a.detail, "%s", detail);
    return sidik_control_audit_append(t, &a, NULL);
}

int sidik_settings_record(sidik_control *control, const sidik_config *c, int64_t now_ms,
                          unsigned *changed)
{
    char *now = NULL, *before = NULL;
    size_t n, bn;
    unsigned diff = 0;
    int rc = settings_text(c, &now, &n);
    if (rc != 0)
        return rc;
    sidik_control_txn *t;
    if ((rc = sidik_control_begin(control, true, &t)) != 0) {
        sidik_free(now);
        return rc;
    }
    rc = sidik_control_settings_get(t, &before, &bn);
    if (rc == SIDIK_ENOTFOUND) {
        char d[128];
        for (size_t i = 0; sidik_config_keys[i] != NULL; i++)
            diff++;
        snprintf(d, sizeof d, "first start: %u settings recorded", diff);
        rc = audit(t, now_ms, d);
    } else if (rc == 0 && (bn != n || memcmp(before, now, n) != 0)) {
        for (size_t i = 0; rc == 0 && sidik_config_keys[i] != NULL; i++) {
            const char *key = sidik_config_keys[i];
            char was[LINE_MAX_BYTES] = "(not set)", is[LINE_MAX_BYTES];
            value_of(before, key, was, sizeof was);
            value_of(now, key, is, sizeof is);
            if (strcmp(was, is) == 0)
                continue;
            char d[SIDIK_AUDIT_DETAIL_MAX + 1];
            snprintf(d, sizeof d, "%s: %.240s -> %.240s", key, was, is);
            rc = audit(t, now_ms, d);
            SIDIK_LOG_INFO("setting changed since the last start", "key=%s was=\"%s\" now=\"%s\"",
                           key, was, is);
            diff++;
        }
    }
    if (rc == 0 && diff > 0)
        rc = sidik_control_settings_put(t, now, n);
    if (rc == 0)
        rc = sidik_control_commit(t);
    else
        sidik_control_abort(t);
    sidik_free(before);
    sidik_free(now);
    if (rc == 0 && changed != NULL)
        *changed = diff;
    return rc;
}
