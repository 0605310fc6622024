/*
 * /metrics: the exposition text, line by line; histogram buckets
 * cumulative; exact totals under concurrent updates; a short buffer.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *render(sidik_metrics *m)
{
    size_t len;
    assert_int_equal(sidik_metrics_render(m, NULL, 0, &len), SIDIK_ETOOBIG);
    char *buf = malloc(len + 1);
    size_t len2;
    assert_int_equal(sidik_metrics_render(m, buf, len + 1, &len2), 0);
    assert_int_equal(len2, len);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t k = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += k)
        n += (p == text || p[-1] == '\n') && p[k] == '\n';
    return n;
}

static void test_server_metrics_text(void **state)
{
    (void)state;
    sidik_metrics *m;
    assert_int_equal(sidik_metrics_create(&m), 0);
    sidik_metrics_add(m, SIDIK_M_CONNECTIONS_OPEN, 5);
    sidik_metrics_add(m, SIDIK_M_CONNECTIONS_OPEN, -2);
    sidik_metrics_add(m, SIDIK_M_ENROLLMENTS_DUPLICATE, 3);
    sidik_metrics_add(m, SIDIK_M_VALUES_, 1); /* ignored */
    sidik_metrics_observe(m, SIDIK_H_DURABLE_SECONDS, 0.003);
    sidik_metrics_observe(m, SIDIK_H_DURABLE_SECONDS, 0.2);
    sidik_metrics_observe(m, SIDIK_H_DURABLE_SECONDS, 500);
    sidik_metrics_observe(m, SIDIK_H_DURABLE_SECONDS, -1); /* counts as 0 */
    char *t = render(m);
    const char *want[] = {
        "# TYPE sidik_connections_open gauge",
        "sidik_connections_open 3",
        "# TYPE sidik_enrollments_total counter",
        "sidik_enrollments_total{status=\"DUPLICATE\"} 3",
        "sidik_enrollments_total{status=\"RECEIVED\"} 0",
        "# TYPE sidik_receipt_seconds histogram",
        "sidik_receipt_seconds_bucket{le=\"0.001\"} 1",
        "sidik_receipt_seconds_bucket{le=\"0.0025\"} 1",
        "sidik_receipt_seconds_bucket{le=\"0.005\"} 2",
        "sidik_receipt_seconds_bucket{le=\"0.25\"} 3",
        "sidik_receipt_seconds_bucket{le=\"120\"} 3",
        "sidik_receipt_seconds_bucket{le=\"+Inf\"} 4",
        "sidik_receipt_seconds_count 4",
        "sidik_receipt_seconds_sum 500.203000",
        "sidik_decision_seconds_count 0",
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(want); i++) {
        if (count_lines(t, want[i]) != 1)
            print_error("missing or repeated: %s\n", want[i]);
        assert_int_equal(count_lines(t, want[i]), 1);
    }
    /* Every line is a comment or `name[{labels}] value`, and ends in \n. */
    assert_true(t[strlen(t) - 1] == '\n');
    for (char *line = strtok(t, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        strtod(sp + 1, &end);
        assert_true(*end == 0);
        assert_true(strncmp(line, "sidik_", 6) == 0);
    }
    free(t);
    assert_int_equal(sidik_metrics_get(m, SIDIK_M_CONNECTIONS_OPEN), 3);
    /* A buffer one byte short is refused with the size needed. */
    size_t len, need;
    assert_int_equal(sidik_metrics_render(m, NULL, 0, &need), SIDIK_ETOOBIG);
    char *small = malloc(need);
    assert_int_equal(sidik_metrics_render(m, small, need, &len), SIDIK_ETOOBIG);
    assert_int_equal(len, need);
    assert_int_equal(small[need - 1], 0);
    free(small);
    assert_int_equal(sidik_metrics_render(NULL, NULL, 0, &len), SIDIK_EINVAL);
    sidik_metrics_destroy(m);
}

static void *hammer(void *arg)
{
    sidik_metrics *m = arg;
    for (int i = 0; i < 100000; i++) {
        sidik_metrics_add(m, SIDIK_M_CONNECTIONS_TOTAL, 1);
        sidik_metrics_observe(m, SIDIK_H_DECISION_SECONDS, 0.5);
    }
    return NULL;
}

static void test_server_metrics_concurrent(void **state)
{
    (void)state;
    sidik_metrics *m;
    assert_int_equal(sidik_metrics_create(&m), 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sidik_metrics_get(m, SIDIK_M_CONNECTIONS_TOTAL), 400000);
    char *t = render(m);
    assert_int_equal(count_lines(t, "sidik_decision_seconds_count 400000"), 1);
    assert_int_equal(count_lines(t, "sidik_decision_seconds_bucket{le=\"0.5\"} 400000"), 1);
    assert_int_equal(count_lines(t, "sidik_decision_seconds_bucket{le=\"0.25\"} 0"), 1);
    free(t);
    sidik_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_metrics_text),
        SIDIK_TEST(test_server_metrics_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
