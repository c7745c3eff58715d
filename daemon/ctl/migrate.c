/* dispatchctl migrate: bring a database's schema up to date, all of it in ONE
 * transaction under an advisory lock, so that several migrators may race and
 * a failure anywhere leaves the database as it was.
 *
 * 1. The numbered files NNN_name.sql of the migrations folder (tables,
 *    constraints, indexes), in numeric order: each applied once and recorded
 *    in schema_migrations with its md5. An applied file must never change.
 * 2. The repeatable files name.sql of the sql folder, one function or view
 *    each, written CREATE OR REPLACE: a file is applied again whenever its
 *    md5 differs from the one recorded in schema_functions, and every file is
 *    applied again after any migration was (a migration may drop a function
 *    or view to change its signature; its file then re-creates it). Files are
 *    tried in name order; one that fails for want of another (a view over a
 *    view not created yet) is retried after the others. The record of a file
 *    that no longer exists is forgotten (dropping its object is a
 *    migration's job). */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/file.h"
#include "daemon/ctl/ctl.h"

#define CTL_MIGRATE_MAX_FILES 512
#define CTL_MIGRATE_LOCK_KEY "74201"
#define CTL_MIGRATE_MAX_BYTES ((size_t)16 << 20)
#define CTL_MIGRATE_NAME_MAX 256

enum ctl_migrate_kind {
	CTL_MIGRATE_NUMBERED, /* NNN_name.sql */
	CTL_MIGRATE_REPEATABLE, /* name.sql */
};

struct ctl_migrate_file {
	int version;     /* NUMBERED only */
	char name[CTL_MIGRATE_NAME_MAX]; /* the file name, as recorded */
	char *sql;     /* the text, once read */
	char *error;   /* REPEATABLE: why its last attempt failed */
	bool pending;  /* REPEATABLE: still to be applied in this run */
	bool done;     /* applied in this run (told once committed) */
};

static int
ctl_migrate_cmp_version(const void *a, const void *b)
{
	const struct ctl_migrate_file *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

static int
ctl_migrate_cmp_name(const void *a, const void *b)
{
	const struct ctl_migrate_file *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* Whether name is a file of that kind: NNN_name.sql, or a name.sql of
 * letters, digits and underscores. */
static bool
ctl_migrate_named(const char *name, enum ctl_migrate_kind kind)
{
	size_t len = strlen(name);
	if (len < 5 || len >= CTL_MIGRATE_NAME_MAX || strcmp(name + len - 4, ".sql") != 0)
		return false;
	if (kind == CTL_MIGRATE_NUMBERED) {
		size_t digits = strspn(name, "0123456789");
		return digits > 0 && name[digits] == '_';
	}
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == len - 4;
}

/* Collect the files of one kind in dir, sorted (numbered: by number, which
 * must be unique; repeatable: by name). Returns the count or -1. */
static int
ctl_migrate_list(const char *dir, enum ctl_migrate_kind kind, struct ctl_migrate_file *out,
		 int cap)
{
	const char *what = kind == CTL_MIGRATE_NUMBERED ? "migrations" : "sql";
	DIR *dh = opendir(dir);
	struct dirent *de;
	int n = 0;
	if (dh == NULL) {
		fprintf(stderr, "dispatchctl: cannot open %s folder %s: %s\n", what, dir,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(dh)) != NULL) {
		if (!ctl_migrate_named(de->d_name, kind))
			continue;
		if (n == cap) {
			fprintf(stderr, "dispatchctl: more than %d files in %s\n", cap, dir);
			closedir(dh);
			return -1;
		}
		memset(&out[n], 0, sizeof out[n]);
		out[n].version = kind == CTL_MIGRATE_NUMBERED ? atoi(de->d_name) : 0;
		snprintf(out[n].name, sizeof out[n].name, "%s", de->d_name);
		n++;
	}
	closedir(dh);
	if (kind == CTL_MIGRATE_REPEATABLE) {
		qsort(out, (size_t)n, sizeof out[0], ctl_migrate_cmp_name);
		return n;
	}
	qsort(out, (size_t)n, sizeof out[0], ctl_migrate_cmp_version);
	for (int i = 1; i < n; i++) {
		if (out[i].version == out[i - 1].version) {
			fprintf(stderr, "dispatchctl: migrations %s and %s share number %d\n",
				out[i - 1].name, out[i].name, out[i].version);
			return -1;
		}
	}
	return n;
}

/* Read f's text into f->sql. Returns 0 or -1 (said why). */
static int
ctl_migrate_read(const char *dir, struct ctl_migrate_file *f)
{
	char path[2048], why[512];
	size_t len;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, f->name) >= sizeof path) {
		fprintf(stderr, "dispatchctl: path too long: %s/%s\n", dir, f->name);
		return -1;
	}
	f->sql = dm_file_read(path, CTL_MIGRATE_MAX_BYTES, &len, why, sizeof why);
	if (f->sql == NULL) {
		fprintf(stderr, "dispatchctl: %s\n", why);
		return -1;
	}
	return 0;
}

static void
ctl_migrate_files_free(struct ctl_migrate_file *files, int n)
{
	for (int i = 0; i < n; i++) {
		free(files[i].sql);
		free(files[i].error);
	}
}

/* Run sql. On failure return -1 and, when quiet is NULL, print the server's
 * message; otherwise hand a copy of it back in *quiet (the caller frees). */
static int
ctl_migrate_exec_q(PGconn *conn, const char *what, const char *sql, int n,
		   const char *const *params, PGresult **keep, char **quiet)
{
	PGresult *res = n > 0 || keep != NULL ? PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0)
					      : PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (quiet != NULL)
			*quiet = strdup(PQerrorMessage(conn));
		else
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

static int
ctl_migrate_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
		 PGresult **keep)
{
	return ctl_migrate_exec_q(conn, what, sql, n, params, keep, NULL);
}

/* Refuse a database migrated by a newer release: applying this folder's
 * (older) SQL function files would put back functions its schema outgrew.
 * Returns 0, or -1 after saying which migration is unknown here. */
static int
ctl_migrate_newer(PGconn *conn, const struct ctl_migrate_file *files, int n)
{
	PGresult *res = NULL;
	char known[16];
	snprintf(known, sizeof known, "%d", n > 0 ? files[n - 1].version : 0);
	const char *p[] = {known};
	if (ctl_migrate_exec(conn, "reading schema_migrations",
			     "SELECT version, name FROM schema_migrations WHERE version > $1::integer "
			     "ORDER BY version LIMIT 1",
			     1, p, &res) != 0)
		return -1;
	int rc = 0;
	if (PQntuples(res) > 0) {
		fprintf(stderr,
			"dispatchctl: the database has migration %s (%s), newer than this release's "
			"last (%s): run the dispatchctl of that release; nothing was changed\n",
			PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), known);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Apply one numbered migration unless already recorded, inside the caller's
 * transaction. Returns 1 applied, 0 skipped, -1 error (said why). */
static int
ctl_migrate_one(PGconn *conn, const char *dir, struct ctl_migrate_file *m)
{
	char version[16];
	PGresult *res = NULL;
	snprintf(version, sizeof version, "%d", m->version);
	if (ctl_migrate_read(dir, m) != 0)
		return -1;
	const char *p1[] = {version, m->sql};
	if (ctl_migrate_exec(conn, "reading schema_migrations",
			     "SELECT checksum = md5($2), name FROM schema_migrations WHERE version = $1",
			     2, p1, &res) != 0)
		return -1;
	if (PQntuples(res) == 1) {
		bool same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		if (!same)
			fprintf(stderr, "dispatchctl: %s was changed after it was applied; "
					"add a new migration instead\n",
				m->name);
		PQclear(res);
		return same ? 0 : -1;
	}
	PQclear(res);
	if (ctl_migrate_exec(conn, m->name, m->sql, 0, NULL, NULL) != 0)
		return -1;
	const char *p2[] = {version, m->name, m->sql};
	if (ctl_migrate_exec(conn, "recording the migration",
			     "INSERT INTO schema_migrations (version, name, checksum) "
			     "VALUES ($1, $2, md5($3))",
			     3, p2, NULL) != 0)
		return -1;
	m->done = true;
	return 1;
}

/* Read every repeatable file and mark those to apply: all of them when
 * everything is due, else those whose md5 is not the recorded one. Returns
 * the count marked, or -1. */
static int
ctl_migrate_sql_due(PGconn *conn, const char *dir, struct ctl_migrate_file *files, int n,
		    bool everything)
{
	int due = 0;
	for (int i = 0; i < n; i++) {
		PGresult *res = NULL;
		if (ctl_migrate_read(dir, &files[i]) != 0)
			return -1;
		const char *p[] = {files[i].name, files[i].sql};
		if (ctl_migrate_exec(conn, "reading schema_functions",
				     "SELECT coalesce((SELECT checksum = md5($2) "
				     "FROM schema_functions WHERE name = $1), false)",
				     2, p, &res) != 0)
			return -1;
		files[i].pending = everything || strcmp(PQgetvalue(res, 0, 0), "t") != 0;
		PQclear(res);
		due += files[i].pending;
	}
	return due;
}

/* Try one repeatable file under a savepoint and record it. Returns 0 applied,
 * 1 failed (rolled back to the savepoint, why kept in f->error), -1 error. */
static int
ctl_migrate_sql_try(PGconn *conn, struct ctl_migrate_file *f)
{
	if (ctl_migrate_exec(conn, "SAVEPOINT", "SAVEPOINT ctl_migrate_sql", 0, NULL, NULL) != 0)
		return -1;
	free(f->error);
	f->error = NULL;
	if (ctl_migrate_exec_q(conn, f->name, f->sql, 0, NULL, NULL, &f->error) != 0) {
		if (f->error == NULL)
			return -1;
		return ctl_migrate_exec(conn, "ROLLBACK TO SAVEPOINT",
					"ROLLBACK TO SAVEPOINT ctl_migrate_sql", 0, NULL, NULL) == 0
			       ? 1
			       : -1;
	}
	const char *p[] = {f->name, f->sql};
	if (ctl_migrate_exec(conn, "recording the sql file",
			     "INSERT INTO schema_functions (name, checksum) VALUES ($1, md5($2)) "
			     "ON CONFLICT (name) DO UPDATE "
			     "SET checksum = excluded.checksum, applied_at = now()",
			     2, p, NULL) != 0 ||
	    ctl_migrate_exec(conn, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT ctl_migrate_sql", 0,
			     NULL, NULL) != 0)
		return -1;
	f->done = true;
	return 0;
}

/* Apply the pending repeatable files, in passes: a pass that applies none
 * of the files left ends the run with their errors. Returns the count
 * applied, or -1 (said why). */
static int
ctl_migrate_sql_apply(PGconn *conn, struct ctl_migrate_file *files, int n, int due)
{
	int applied = 0;
	while (applied < due) {
		int progress = 0;
		for (int i = 0; i < n; i++) {
			if (!files[i].pending)
				continue;
			int r = ctl_migrate_sql_try(conn, &files[i]);
			if (r < 0)
				return -1;
			if (r == 0) {
				files[i].pending = false;
				progress++;
			}
		}
		if (progress == 0) {
			for (int i = 0; i < n; i++)
				if (files[i].pending)
					fprintf(stderr, "dispatchctl: %s failed: %s", files[i].name,
						files[i].error);
			return -1;
		}
		applied += progress;
	}
	return applied;
}

/* Forget the records of repeatable files that no longer exist; *forgotten
 * gets their names (one column). Returns 0 or -1. */
static int
ctl_migrate_sql_forget(PGconn *conn, const struct ctl_migrate_file *files, int n,
		       PGresult **forgotten)
{
	size_t cap = 3;
	for (int i = 0; i < n; i++)
		cap += strlen(files[i].name) + 3;
	char *names = malloc(cap), *p = names;
	if (names == NULL)
		return -1;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i > 0 ? "," : "", files[i].name);
	*p++ = '}';
	*p = '\0';
	const char *params[] = {names};
	int rc = ctl_migrate_exec(conn, "forgetting removed sql files",
				  "DELETE FROM schema_functions WHERE name <> ALL ($1::text[]) "
				  "RETURNING name",
				  1, params, forgotten);
	free(names);
	return rc;
}

int
ctl_migrate_main(int argc, char **argv)
{
	struct ctl_settings set;
	int next, rc = 1, applied = 0, defined = 0;
	PGresult *forgotten = NULL;
	static struct ctl_migrate_file migrations[CTL_MIGRATE_MAX_FILES];
	static struct ctl_migrate_file sqls[CTL_MIGRATE_MAX_FILES];

	if (ctl_settings(argc, argv, &set, &next) != 0 || next != argc) {
		fprintf(stderr, "usage: dispatchctl migrate [-c FILE] [--dsn DSN] [--dir DIR] "
				"[--sql-dir DIR]\n");
		return 2;
	}
	int n = ctl_migrate_list(set.migrations_dir, CTL_MIGRATE_NUMBERED, migrations,
				 CTL_MIGRATE_MAX_FILES);
	if (n < 0)
		return 1;
	int nsql = ctl_migrate_list(set.sql_dir, CTL_MIGRATE_REPEATABLE, sqls,
				    CTL_MIGRATE_MAX_FILES);
	if (nsql < 0)
		return 1;
	PGconn *conn = PQconnectdb(set.dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dispatchctl: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	/* The lock is the transaction's: released by its commit or rollback. */
	if (ctl_migrate_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL) != 0)
		goto out;
	if (ctl_migrate_exec(conn, "taking the migration lock",
			     "SELECT pg_advisory_xact_lock(" CTL_MIGRATE_LOCK_KEY ")", 0, NULL,
			     NULL) != 0 ||
	    ctl_migrate_exec(conn, "creating schema_migrations",
			     "CREATE TABLE IF NOT EXISTS schema_migrations ("
			     " version integer PRIMARY KEY, name text NOT NULL,"
			     " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
			     0, NULL, NULL) != 0 ||
	    ctl_migrate_exec(conn, "creating schema_functions",
			     "CREATE TABLE IF NOT EXISTS schema_functions ("
			     " name text PRIMARY KEY, checksum text NOT NULL,"
			     " applied_at timestamptz NOT NULL DEFAULT now())",
			     0, NULL, NULL) != 0)
		goto rollback;
	if (ctl_migrate_newer(conn, migrations, n) != 0)
		goto rollback;
	for (int i = 0; i < n; i++) {
		int r = ctl_migrate_one(conn, set.migrations_dir, &migrations[i]);
		if (r < 0)
			goto rollback;
		applied += r;
	}
	int due = ctl_migrate_sql_due(conn, set.sql_dir, sqls, nsql, applied > 0);
	if (due < 0 || (defined = ctl_migrate_sql_apply(conn, sqls, nsql, due)) < 0 ||
	    ctl_migrate_sql_forget(conn, sqls, nsql, &forgotten) != 0)
		goto rollback;
	if (ctl_migrate_exec(conn, "COMMIT", "COMMIT", 0, NULL, NULL) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (migrations[i].done)
			printf("applied %s\n", migrations[i].name);
	for (int i = 0; i < nsql; i++)
		if (sqls[i].done)
			printf("defined %s\n", sqls[i].name);
	for (int i = 0; i < PQntuples(forgotten); i++)
		printf("forgot %s (no such file; dropping what it defined is a migration's job)\n",
		       PQgetvalue(forgotten, i, 0));
	printf("schema is up to date: %d migration(s) known, %d applied now; %d sql file(s) "
	       "known, %d defined now\n",
	       n, applied, nsql, defined);
	rc = 0;
	goto out;
rollback:
	fprintf(stderr, "dispatchctl: nothing was changed\n");
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	PQclear(forgotten);
	PQfinish(conn);
	ctl_migrate_files_free(migrations, n);
	ctl_migrate_files_free(sqls, nsql);
	return rc;
}
