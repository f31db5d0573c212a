/* Fault injection on this program's OWN throwaway cluster (test/pgtmp with PGTMP_PORT: TCP on
 * 127.0.0.1), never on PGORM_TEST_DSN. */
#include "pgcluster.h"
#include "pgtest.h"

#include <stdio.h>

static pgcluster cluster;
static char tcp_dsn[256];

static pgorm_conn *connect_dsn(const char *dsn)
{
	pgorm_conn_config cfg = PGORM_CONN_CONFIG_INIT;
	cfg.conninfo = dsn;
	cfg.stmt_mode = PGORM_STMT_UNNAMED;
	pgorm_conn *c = NULL;
	pgorm_error err;
	int rc = pgorm_conn_connect(&c, &cfg, &err);
	ck_assert_msg(rc == 0, "connect %s: %s", dsn, err.message);
	return c;
}

/* ---- 1. test/pgtmp with PGTMP_PORT ---- */

/* pgtmp wrote `listen_addresses = 127.0.0.1` unquoted: a syntax error, the server did not
 * start. This program's cluster is started with PGTMP_PORT; connect to it over TCP. */
START_TEST(test_issue_pgtmp_tcp_port)
{
	pgorm_conn *c = connect_dsn(tcp_dsn);
	ck_assert_str_eq(pgtest_text(c, "SELECT inet_server_addr()::text"), "127.0.0.1/32");
	ck_assert_str_eq(pgtest_text(c, "SHOW listen_addresses"), "127.0.0.1");
	ck_assert_int_eq(pgtest_int(c, "SELECT inet_server_port()"), cluster.port);
	pgorm_conn_close(c);
}
END_TEST

int main(void)
{
	pgcluster_start(&cluster, "faults", true, NULL);
	snprintf(tcp_dsn, sizeof tcp_dsn, "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable",
	         cluster.port);
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("own_cluster");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_issue_pgtmp_tcp_port);
	suite_add_tcase(s, tc);
	int rc = pgtest_run(s);
	pgcluster_stop(&cluster);
	return rc;
}
