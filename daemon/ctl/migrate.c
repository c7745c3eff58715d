/* dispatchctl migrate: apply the numbered SQL files of the migrations folder
 * in order, each in its own transaction, recording it in schema_migrations
 * with its md5. Idempotent: applied files are skipped (and must not have
 * changed); an advisory lock lets several migrators race safely. */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>

#include "daemon/ctl/ctl.h"
#include "daemon/base/file.h"

#define CTL_MIGRATE_MAX_FILES 512
#define CTL_MIGRATE_LOCK_KEY "74201"
#define CTL_MIGRATE_MAX_BYTES ((size_t)16 << 20)

struct ctl_migration {
	int version;
	char name[256];
};

static int
ctl_migrate_cmp(const void *a, const void *b)
{
	const struct ctl_migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* Collect NNN_name.sql files, sorted by number. Returns the count or -1. */
static int
ctl_migrate_list(const char *dir, struct ctl_migration *out, int cap)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (dh == NULL) {
		fprintf(stderr, "dispatchctl: cannot open migrations folder %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(dh)) != NULL) {
		size_t len = strlen(de->d_name);
		size_t digits = strspn(de->d_name, "0123456789");
		if (digits == 0 || de->d_name[digits] != '_' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".sql") != 0 || len >= sizeof out[0].name)
			continue;
		if (n == cap) {
			fprintf(stderr, "dispatchctl: more than %d migrations\n", cap);
			closedir(dh);
			return -1;
		}
		out[n].version = atoi(de->d_name);
		memcpy(out[n].name, de->d_name, len + 1);
		n++;
	}
	closedir(dh);
	qsort(out, (size_t)n, sizeof out[0], ctl_migrate_cmp);
	for (int i = 1; i < n; i++) {
		if (out[i].version == out[i - 1].version) {
			fprintf(stderr, "dispatchctl: migrations %s and %s share number %d\n",
				out[i - 1].name, out[i].name, out[i].version);
			return -1;
		}
	}
	return n;
}

static char *
ctl_migrate_read(const char *dir, const char *name)
{
	char path[2048], why[512];
	size_t len;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		fprintf(stderr, "dispatchctl: path too long: %s/%s\n", dir, name);
		return NULL;
	}
	char *sql = dm_file_read(path, CTL_MIGRATE_MAX_BYTES, &len, why, sizeof why);
	if (sql == NULL)
		fprintf(stderr, "dispatchctl: %s\n", why);
	return sql;
}

/* Run sql; print the server's message and return -1 unless it succeeded. */
static int
ctl_migrate_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
		 PGresult **keep)
{
	PGresult *res = n > 0 || keep != NULL ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0)
					      : PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "dispatchctl: %s failed: %s", what, PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	if (keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return 0;
}

/* Apply one migration unless already recorded. Returns 1 applied, 0 skipped, -1 error. */
static int
ctl_migrate_one(PGconn *conn, const char *dir, const struct ctl_migration *m)
{
	char version[16];
	PGresult *res = NULL;
	snprintf(version, sizeof version, "%d", m->version);
	char *sql = ctl_migrate_read(dir, m->name);
	if (sql == NULL)
		return -1;
	const char *p1[] = {version, sql};
	if (ctl_migrate_exec(conn, "reading schema_migrations",
			     "SELECT checksum = md5($2), name FROM schema_migrations WHERE version = $1",
			     2, p1, &res) != 0)
		goto fail;
	if (PQntuples(res) == 1) {
		bool same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		if (!same)
			fprintf(stderr, "dispatchctl: %s was changed after it was applied; "
					"add a new migration instead\n",
				m->name);
		PQclear(res);
		free(sql);
		return same ? 0 : -1;
	}
	PQclear(res);
	if (ctl_migrate_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL) != 0)
		goto fail;
	if (ctl_migrate_exec(conn, m->name, sql, 0, NULL, NULL) != 0) {
		ctl_migrate_exec(conn, "ROLLBACK", "ROLLBACK", 0, NULL, NULL);
		goto fail;
	}
	const char *p2[] = {version, m->name, sql};
	if (ctl_migrate_exec(conn, "recording the migration",
			     "INSERT INTO schema_migrations (version, name, checksum) "
			     "VALUES ($1, $2, md5($3))",
			     3, p2, NULL) != 0 ||
	    ctl_migrate_exec(conn, "COMMIT", "COMMIT", 0, NULL, NULL) != 0) {
		ctl_migrate_exec(conn, "ROLLBACK", "ROLLBACK", 0, NULL, NULL);
		goto fail;
	}
	free(sql);
	printf("applied %s\n", m->name);
	return 1;
fail:
	free(sql);
	return -1;
}

int
ctl_migrate_main(int argc, char **argv)
{
	char dsn[1024], dir[1024];
	int next, rc = 1, applied = 0;
	static struct ctl_migration list[CTL_MIGRATE_MAX_FILES];

	if (ctl_settings(argc, argv, dsn, dir, sizeof dsn, &next) != 0 || next != argc) {
		fprintf(stderr, "usage: dispatchctl migrate [-c FILE] [--dsn DSN] [--dir DIR]\n");
		return 2;
	}
	int n = ctl_migrate_list(dir, list, CTL_MIGRATE_MAX_FILES);
	if (n < 0)
		return 1;
	PGconn *conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dispatchctl: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	if (ctl_migrate_exec(conn, "taking the migration lock",
			     "SELECT pg_advisory_lock(" CTL_MIGRATE_LOCK_KEY ")", 0, NULL, NULL) != 0 ||
	    ctl_migrate_exec(conn, "creating schema_migrations",
			     "CREATE TABLE IF NOT EXISTS schema_migrations ("
			     " version integer PRIMARY KEY, name text NOT NULL,"
			     " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
			     0, NULL, NULL) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		int r = ctl_migrate_one(conn, dir, &list[i]);
		if (r < 0)
			goto out;
		applied += r;
	}
	printf("schema is up to date: %d migration(s) known, %d applied now\n", n, applied);
	rc = 0;
out:
	PQfinish(conn);
	return rc;
}
