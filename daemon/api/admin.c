/* Operator resources under /v1/admin: the schema migrations and function
 * files (data/sql) the daemon's database has applied, the log level at
 * run time (until the next reload, which re-reads it from the file), and the
 * instant of a driven test clock ([testing] clock = driven: the simulated
 * day's generator moves the daemon's time; 404 under any other clock). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/io/http.h"
#include "daemon/io/query_parse.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/api/tables.h"

static void
dm_api_admin_migrations_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (!reply->ok) {
		if (strcmp(reply->sqlstate, "42P01") == 0)
			dm_req_problem(r, DM_PROBLEM_NOT_READY, "the schema is not migrated: run dispatchctl migrate", NULL);
		else
			dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		return;
	}
	/* Rows: kind (0 migration, 1 function file), version, name, checksum, time. */
	json_t *migrations = json_array(), *functions = json_array();
	for (int i = 0; i < PQntuples(reply->res); i++) {
		const char *name = PQgetvalue(reply->res, i, 2);
		const char *at = PQgetvalue(reply->res, i, 4);
		if (strcmp(PQgetvalue(reply->res, i, 0), "0") == 0)
			json_array_append_new(migrations,
					      json_pack("{s:i,s:s,s:s}", "version",
							atoi(PQgetvalue(reply->res, i, 1)), "name",
							name, "applied_at", at));
		else
			json_array_append_new(functions,
					      json_pack("{s:s,s:s,s:s}", "name", name, "checksum",
							PQgetvalue(reply->res, i, 3), "applied_at",
							at));
	}
	dm_req_reply_json(r, 200,
			  json_pack("{s:o,s:o}", "migrations", migrations, "functions", functions));
}

static void
dm_api_admin_migrations(struct dm_req *r)
{
	/* A database migrated before data/sql existed has no schema_functions:
	 * 42P01, "not migrated", which is true of its functions. */
	(void)dm_req_pg_query(r,
			      "SELECT 0, version, name, NULL, to_char(applied_at AT TIME ZONE 'UTC', "
			      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations "
			      "UNION ALL "
			      "SELECT 1, NULL, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
			      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_functions "
			      "ORDER BY 1, 2, 3",
			      0, NULL, DM_REQ_PG_READ, dm_api_admin_migrations_done);
}

static void
dm_api_admin_log_level(struct dm_req *r)
{
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	const char *level = json_string_value(json_object_get(body, "level"));
	int found = -1;
	for (int i = CFG_LOG_ERROR; level != NULL && i <= CFG_LOG_DEBUG; i++)
		if (strcasecmp(level, cfg_log_level_name(i)) == 0)
			found = i;
	if (found < 0 || json_object_size(body) != 1) {
		json_t *errors = json_pack("{s:[{s:s,s:s}]}", "errors", "field", "level", "message",
					   "must be the only member, one of error, warning, info, "
					   "debug");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid log level", errors);
	} else {
		dm_log_set_level(found);
		dm_log_info("cfg", "log level set to %s over the API", cfg_log_level_name(found));
		dm_req_reply_json(r, 200, json_pack("{s:s}", "level", cfg_log_level_name(found)));
	}
	json_decref(body);
}

static void
dm_api_admin_clock(struct dm_req *r)
{
	if (dm_clock_source() != DM_CLOCK_DRIVEN) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND,
			       "no driven clock: [testing] clock is not driven", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	const char *at = json_string_value(json_object_get(body, "at"));
	int64_t utc_s;
	int32_t off_s;
	if (json_object_size(body) != 1 || at == NULL ||
	    dm_query_parse_rfc3339(at, &utc_s, &off_s) != DM_QUERY_PARSE_OK) {
		json_t *errors = json_pack("{s:[{s:s,s:s}]}", "errors", "field", "at", "message",
					   "must be the only member: an RFC 3339 time with an "
					   "offset (2030-01-08T09:00:00+08:00)");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid clock instant", errors);
		json_decref(body);
		return;
	}
	(void)dm_clock_drive(utc_s * 1000);
	dm_log_debug("clock", "driven clock set to %s", at);
	dm_req_reply_json(r, 200, json_pack("{s:s,s:s}", "at", at, "source", "driven"));
	json_decref(body);
}

static const struct dm_route dm_api_admin_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/migrations",
	 .handler = dm_api_admin_migrations,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_PUT,
	 .pattern = "/v1/admin/log-level",
	 .handler = dm_api_admin_log_level,
	 .body_limit = 4096,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_PUT,
	 .pattern = "/v1/admin/clock",
	 .handler = dm_api_admin_clock,
	 .body_limit = 4096,
	 .roles = DM_ROLE(ADMIN)},
};

const struct dm_route_table dm_api_admin_table = {
	dm_api_admin_routes, sizeof dm_api_admin_routes / sizeof dm_api_admin_routes[0]};
