/* The configuration schema: the one table that says which keys exist, their
 * types, defaults, ranges and reloadability. docs/operations.md documents
 * every row; a unit test checks that the two agree. */
#include <stddef.h>

#include "config/cfg.h"

#define F(field) offsetof(struct cfg, field)

static const struct cfg_key cfg_schema_table[] = {
	{"server", "listen_address", CFG_T_STRING, F(listen_address), "127.0.0.1", 0, 0, false,
	 false, "IPv4/IPv6 address the REST port binds to"},
	{"server", "listen_port", CFG_T_INT, F(listen_port), "8080", 0, 65535, false, false,
	 "TCP port of the REST API (0 picks a free port)"},
	{"server", "max_body_bytes", CFG_T_LONG, F(max_body_bytes), "1048576", 1024, 67108864,
	 true, false, "largest request body accepted; larger gets 413"},
	{"server", "max_header_bytes", CFG_T_LONG, F(max_header_bytes), "16384", 1024, 1048576,
	 true, false, "largest request header block accepted"},
	{"server", "request_timeout_ms", CFG_T_INT, F(request_timeout_ms), "10000", 100, 600000,
	 true, false, "a request still waiting on a backend after this gets 503"},
	{"server", "drain_timeout_ms", CFG_T_INT, F(drain_timeout_ms), "10000", 0, 600000, true,
	 false, "on SIGTERM, how long in-flight requests may take before exit"},
	{"server", "worker_threads", CFG_T_INT, F(worker_threads), "2", 1, 64, false, false,
	 "threads for CPU-heavy jobs (area indexes, route planning)"},
	{"postgres", "dsn", CFG_T_STRING, F(pg_dsn), "host=127.0.0.1 port=5432 dbname=dispatchd",
	 0, 0, false, true, "libpq connection string; env DISPATCH_PG_DSN overrides"},
	{"postgres", "pool_size", CFG_T_INT, F(pg_pool_size), "4", 1, 64, false, false,
	 "connections kept open to PostgreSQL"},
	{"postgres", "connect_timeout_ms", CFG_T_INT, F(pg_connect_timeout_ms), "3000", 100,
	 60000, true, false, "a connection attempt not finished after this is abandoned"},
	{"postgres", "query_timeout_ms", CFG_T_INT, F(pg_query_timeout_ms), "5000", 100, 600000,
	 true, false, "a query not answered after this is cancelled and fails"},
	{"postgres", "health_interval_ms", CFG_T_INT, F(pg_health_interval_ms), "1000", 100,
	 60000, true, false, "how often an idle connection is probed with SELECT 1"},
	{"postgres", "reconnect_min_ms", CFG_T_INT, F(pg_reconnect_min_ms), "100", 10, 60000,
	 true, false, "first reconnect delay; doubles per failure"},
	{"postgres", "reconnect_max_ms", CFG_T_INT, F(pg_reconnect_max_ms), "5000", 10, 600000,
	 true, false, "cap of the reconnect delay"},
	{"redis", "host", CFG_T_STRING, F(redis_host), "127.0.0.1", 0, 0, false, false,
	 "Redis host (IP address)"},
	{"redis", "port", CFG_T_INT, F(redis_port), "6379", 1, 65535, false, false,
	 "Redis TCP port"},
	{"redis", "password", CFG_T_STRING, F(redis_password), "", 0, 0, false, true,
	 "AUTH password, empty for none; env DISPATCH_REDIS_PASSWORD overrides"},
	{"redis", "db", CFG_T_INT, F(redis_db), "0", 0, 15, false, false, "SELECTed database"},
	{"redis", "connect_timeout_ms", CFG_T_INT, F(redis_connect_timeout_ms), "1000", 50,
	 60000, true, false, "a connect not finished after this is abandoned"},
	{"redis", "command_timeout_ms", CFG_T_INT, F(redis_command_timeout_ms), "1000", 10,
	 60000, true, false, "a command not answered after this fails and drops the link"},
	{"redis", "health_interval_ms", CFG_T_INT, F(redis_health_interval_ms), "1000", 100,
	 60000, true, false, "how often the connection is probed with PING"},
	{"redis", "reconnect_min_ms", CFG_T_INT, F(redis_reconnect_min_ms), "100", 10, 60000,
	 true, false, "first reconnect delay; doubles per failure"},
	{"redis", "reconnect_max_ms", CFG_T_INT, F(redis_reconnect_max_ms), "5000", 10, 600000,
	 true, false, "cap of the reconnect delay"},
	{"log", "level", CFG_T_LOG_LEVEL, F(log_level), "info", 0, 3, true, false,
	 "error, warning, info or debug"},
	{"paths", "migrations_dir", CFG_T_STRING, F(migrations_dir), DISPATCH_SOURCE_DIR
	 "/data/migrations", 0, 0, false, false, "folder of numbered SQL migrations"},
};

const struct cfg_key *
cfg_schema(size_t *count)
{
	*count = sizeof cfg_schema_table / sizeof cfg_schema_table[0];
	return cfg_schema_table;
}
