/*
 * The role check: the whole role x method matrix, written out here apart
 * from the server's table, and hostile :path values.
 */
#include "test_support.h"

#include "sidik/authz.h"
#include "sidik/common.h"

#include <stdlib.h>
#include <string.h>

/* o = office, a = auditor, d = admin, p = printer */
static const struct {
    const char *path;
    const char *who;
} matrix[] = {
    {"/sidik.v1.Ingest/Upload", "o"},
    {"/sidik.v1.Ingest/UploadChunks", "o"},
    {"/sidik.v1.Status/Get", "oa"},
    {"/sidik.v1.Status/List", "o"},
    {"/sidik.v1.Audit/GetDecision", "a"},
    {"/sidik.v1.Audit/SearchDecisions", "a"},
    {"/sidik.v1.Audit/ReviewQueue", "a"},
    {"/sidik.v1.Audit/Adjudicate", "a"},
    {"/sidik.v1.Audit/VerifyChain", "a"},
    {"/sidik.v1.Admin/ListShards", "d"},
    {"/sidik.v1.Admin/AddShard", "d"},
    {"/sidik.v1.Admin/Rebalance", "d"},
    {"/sidik.v1.Admin/Stats", "d"},
    {"/sidik.v1.Admin/GetConfig", "d"},
    {"/sidik.v1.Print/Lease", "p"},
    {"/sidik.v1.Print/Ack", "p"},
};

static void test_server_authz_matrix(void **state)
{
    (void)state;
    const struct {
        sidik_role role;
        char letter;
    } roles[] = {{SIDIK_ROLE_OFFICE, 'o'},
                 {SIDIK_ROLE_AUDITOR, 'a'},
                 {SIDIK_ROLE_ADMIN, 'd'},
                 {SIDIK_ROLE_PRINTER, 'p'}};
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(matrix); i++) {
        const sidik_method_info *m = NULL;
        assert_int_equal(sidik_authz_lookup(matrix[i].path, strlen(matrix[i].path), &m), 0);
        assert_string_equal(m->path, matrix[i].path);
        for (size_t r = 0; r < SIDIK_ARRAY_SIZE(roles); r++) {
            sidik_identity who = {.role = roles[r].role};
            strcpy(who.name, "x");
            int want = strchr(matrix[i].who, roles[r].letter) ? 0 : SIDIK_EDENIED;
            if (sidik_authz_check(&who, m) != want)
                print_error("%s as %c\n", matrix[i].path, roles[r].letter);
            assert_int_equal(sidik_authz_check(&who, m), want);
        }
    }
    /* The shapes the streaming calls need. */
    const sidik_method_info *m;
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Ingest/Upload", 23, &m), 0);
    assert_int_equal(m->shape, SIDIK_CALL_BIDI);
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Ingest/UploadChunks", 29, &m), 0);
    assert_int_equal(m->shape, SIDIK_CALL_BIDI);
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Admin/Rebalance", 25, &m), 0);
    assert_int_equal(m->shape, SIDIK_CALL_SERVER_STREAM);
}

static void test_server_authz_hostile(void **state)
{
    (void)state;
    const sidik_method_info *m;
    const char *bad[] = {"", "/", "/sidik.v1.Ingest/Uploa", "/sidik.v1.Ingest/UploadX",
                         "/sidik.v1.ingest/upload", "sidik.v1.Ingest/Upload",
                         "/sidik.v1.Ingest/Upload/", "//sidik.v1.Ingest/Upload",
                         "/grpc.health.v1.Health/Check"};
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(bad); i++)
        assert_int_equal(sidik_authz_lookup(bad[i], strlen(bad[i]), &m), SIDIK_EUNSUPPORTED);
    /* A NUL inside the declared length is part of the path, not its end. */
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Print/Ack\0", 20, &m), SIDIK_EUNSUPPORTED);
    /* Lengths shorter than the string: only n bytes count. */
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Print/AckAck", 19, &m), 0);
    size_t n = 1 << 20;
    char *huge = malloc(n);
    memset(huge, 'A', n);
    assert_int_equal(sidik_authz_lookup(huge, n, &m), SIDIK_EUNSUPPORTED);
    free(huge);
    assert_int_equal(sidik_authz_lookup(NULL, 0, &m), SIDIK_EUNSUPPORTED);
    /* No identity, or one with no known role: unauthenticated. */
    assert_int_equal(sidik_authz_lookup("/sidik.v1.Print/Ack", 19, &m), 0);
    assert_int_equal(sidik_authz_check(NULL, m), SIDIK_EUNAUTH);
    sidik_identity nobody = {.role = (sidik_role)0};
    assert_int_equal(sidik_authz_check(&nobody, m), SIDIK_EUNAUTH);
    nobody.role = (sidik_role)99;
    assert_int_equal(sidik_authz_check(&nobody, m), SIDIK_EUNAUTH);
    assert_string_equal(sidik_grpc_status_name(sidik_err_grpc(SIDIK_EDENIED)), "PERMISSION_DENIED");
    assert_string_equal(sidik_grpc_status_name(sidik_err_grpc(SIDIK_EUNSUPPORTED)), "UNIMPLEMENTED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_authz_matrix),
        cmocka_unit_test(test_server_authz_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
