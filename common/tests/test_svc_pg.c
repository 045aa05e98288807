/* test_svc_pg.c — common/svc/svc_pg: the libpq conninfo built from the datasource.* keys
 * (quoting, multi-host lists, the checks that name the bad key) and its TLS files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cfgcli.h"
#include "svc_pg.h"
#include "ts_cfg.h"

static void t_conninfo(void **state)
{
    char err[256] = "";
    (void)state;
    cfgcli_t *c = ts_cfg_doc("\"a\":\"b\"", NULL);
    char *ci = svc_conninfo(c, "app-x", err, sizeof err);
    assert_non_null(ci);
    assert_string_equal(ci, "host='localhost' port='5432' user='postgres' dbname='cqrs' sslmode=prefer "
                            "connect_timeout=5 target_session_attrs=any keepalives=1 keepalives_idle=10 "
                            "keepalives_interval=3 keepalives_count=3 tcp_user_timeout=15000 "
                            "application_name=app-x");
    free(ci);
    cfgcli_free(c);

    c = ts_cfg_doc("\"datasource.host\":\"db\",\"datasource.port\":6000,\"datasource.password\":\"p w\","
                   "\"datasource.sslmode\":\"require\",\"datasource.connect-timeout-s\":9",
                   NULL);
    ci = svc_conninfo(c, "a", err, sizeof err);
    assert_non_null(ci);
    assert_non_null(strstr(ci, "host='db' port='6000' "));
    assert_non_null(strstr(ci, "password='p w'"));
    assert_non_null(strstr(ci, "sslmode=require connect_timeout=9 target_session_attrs=any"));
    free(ci);
    cfgcli_free(c);

    /* a primary and its standby: libpq's comma lists, the writable one chosen */
    c = ts_cfg_doc("\"datasource.host\":\"127.0.0.1,127.0.0.1\",\"datasource.port\":\"26132,26133\","
                   "\"datasource.target-session-attrs\":\"read-write\",\"datasource.tcp-user-timeout-ms\":0",
                   NULL);
    ci = svc_conninfo(c, "a", err, sizeof err);
    assert_non_null(ci);
    assert_non_null(strstr(ci, "host='127.0.0.1,127.0.0.1' port='26132,26133' "));
    assert_non_null(strstr(ci, "target_session_attrs=read-write "));
    assert_non_null(strstr(ci, "tcp_user_timeout=0 "));
    PQconninfoOption *opts = PQconninfoParse(ci, NULL); /* libpq itself accepts it */
    assert_non_null(opts);
    PQconninfoFree(opts);
    free(ci);
    cfgcli_free(c);
    c = ts_cfg_doc("\"datasource.host\":\"a,b,c\",\"datasource.port\":\"1,2\"", NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "3 database hosts but 2 ports"));
    cfgcli_free(c);
    c = ts_cfg_doc("\"datasource.host\":\"a,,b\"", NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "empty entry"));
    cfgcli_free(c);
    c = ts_cfg_doc("\"datasource.target-session-attrs\":\"writable\"", NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "datasource.target-session-attrs"));
    cfgcli_free(c);

    c = ts_cfg_doc("\"datasource.sslmode\":\"maybe\"", NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "datasource.sslmode"));
    cfgcli_free(c);
    c = ts_cfg_doc("\"datasource.port\":70000", NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "datasource.port"));
    cfgcli_free(c);
}

/* The TLS files: appended quoted (libpq parses them back), checked readable, and a client
 * certificate needs its key. */
static void t_conninfo_tls(void **state)
{
    char err[512] = "", dir[] = "/tmp/cq-svcpg-XXXXXX", ca[600], crt[600], key[600], props[2048];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(ca, sizeof ca, "%s/root ca's.crt", dir); /* a space and a quote: escaped */
    snprintf(crt, sizeof crt, "%s/client.crt", dir);
    snprintf(key, sizeof key, "%s/client.key", dir);
    const char *files[] = {ca, crt, key};
    for (size_t i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "w");
        assert_non_null(f);
        fputs("x\n", f);
        fclose(f);
    }
    snprintf(props, sizeof props,
             "\"datasource.sslmode\":\"verify-full\",\"datasource.sslrootcert\":\"%s\","
             "\"datasource.sslcert\":\"%s\",\"datasource.sslkey\":\"%s\"",
             ca, crt, key);
    cfgcli_t *c = ts_cfg_doc(props, NULL);
    char *ci = svc_conninfo(c, "a", err, sizeof err);
    assert_non_null(ci);
    assert_non_null(strstr(ci, "sslmode=verify-full "));
    PQconninfoOption *opts = PQconninfoParse(ci, NULL);
    assert_non_null(opts);
    int seen = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "sslrootcert") == 0 && o->val && strcmp(o->val, ca) == 0)
            seen |= 1;
        if (strcmp(o->keyword, "sslcert") == 0 && o->val && strcmp(o->val, crt) == 0)
            seen |= 2;
        if (strcmp(o->keyword, "sslkey") == 0 && o->val && strcmp(o->val, key) == 0)
            seen |= 4;
    }
    assert_int_equal(seen, 7);
    PQconninfoFree(opts);
    free(ci);
    cfgcli_free(c);

    /* a file that is not there: the key, its value and why */
    snprintf(props, sizeof props, "\"datasource.sslrootcert\":\"%s/nope.crt\"", dir);
    c = ts_cfg_doc(props, NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "'datasource.sslrootcert'"));
    assert_non_null(strstr(err, "nope.crt"));
    assert_non_null(strstr(err, "No such file"));
    cfgcli_free(c);

    /* a client certificate without its key (and the other way round) */
    snprintf(props, sizeof props, "\"datasource.sslcert\":\"%s\"", crt);
    c = ts_cfg_doc(props, NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "only 'datasource.sslcert' is set"));
    cfgcli_free(c);
    snprintf(props, sizeof props, "\"datasource.sslkey\":\"%s\"", key);
    c = ts_cfg_doc(props, NULL);
    assert_null(svc_conninfo(c, "a", err, sizeof err));
    assert_non_null(strstr(err, "only 'datasource.sslkey' is set"));
    cfgcli_free(c);

    for (size_t i = 0; i < 3; i++)
        unlink(files[i]);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_conninfo), cmocka_unit_test(t_conninfo_tls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
