/* dispatchctl tokens: create, list and revoke API tokens straight in
 * PostgreSQL (the first admin token has to come from somewhere without the
 * daemon), and create the token key file. The token text is printed once,
 * at creation, and never stored: the table gets its keyed hash
 * (base/token.h). Daemons notice changes on their next cache refresh. */
#include <getopt.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/reload.h"
#include "daemon/base/token.h"
#include "daemon/base/token_key.h"
#include "daemon/ctl/ctl.h"

#define CTL_TOKENS_LABEL_MAX 200
#define CTL_TOKENS_TS(col)                                                                   \
	"coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"

static const char ctl_tokens_usage_text[] =
	"usage: dispatchctl tokens create --role ROLE [--warehouse ID ...] [--station ID ...]\n"
	"                                 [--courier ID] [--engineer ID] [--pickup-point ID]\n"
	"                                 [--label TEXT]\n"
	"                                 [--expires 30d] [-c FILE] [--dsn DSN] [--key-file FILE]\n"
	"       dispatchctl tokens list [-c FILE] [--dsn DSN]\n"
	"       dispatchctl tokens revoke ID [-c FILE] [--dsn DSN]\n"
	"       dispatchctl tokens init-key FILE\n"
	"roles: admin, order_service, warehouse (--warehouse, repeatable), station (--station,\n"
	"repeatable), courier (--courier), engineer (--engineer), pickup_point (--pickup-point).\n"
	"--expires takes N followed by s, m, h, d or w. The token is printed once; only its\n"
	"keyed hash is stored.\n";

/* What the options said. */
struct ctl_tokens_opts {
	const char *config, *dsn, *key_file, *role, *label, *expires;
	const char *scope[DM_TOKEN_SCOPE_MAX];
	size_t nscope;
	int scope_kinds; /* bit per option kind used: warehouse 1, station 2, courier 4, engineer 8,
			  pickup point 16 */
};

static int
ctl_tokens_usage(void)
{
	fputs(ctl_tokens_usage_text, stderr);
	return 2;
}

/* Parse the options after the subcommand; positional arguments are left
 * at argv[*next ...]. Returns 0, or -1 after printing why. */
static int
ctl_tokens_parse(int argc, char **argv, struct ctl_tokens_opts *o, int *next)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dsn", required_argument, NULL, 'd'},
		{"key-file", required_argument, NULL, 'k'},
		{"role", required_argument, NULL, 'r'},
		{"label", required_argument, NULL, 'l'},
		{"expires", required_argument, NULL, 'e'},
		{"warehouse", required_argument, NULL, 1},
		{"station", required_argument, NULL, 2},
		{"courier", required_argument, NULL, 4},
		{"engineer", required_argument, NULL, 8},
		{"pickup-point", required_argument, NULL, 16},
		{NULL, 0, NULL, 0},
	};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'd': o->dsn = optarg; break;
		case 'k': o->key_file = optarg; break;
		case 'r': o->role = optarg; break;
		case 'l': o->label = optarg; break;
		case 'e': o->expires = optarg; break;
		case 1:
		case 2:
		case 4:
		case 8:
		case 16:
			if (o->nscope == DM_TOKEN_SCOPE_MAX) {
				fprintf(stderr, "dispatchctl: at most %d scope ids\n", DM_TOKEN_SCOPE_MAX);
				return -1;
			}
			if (!dm_token_scope_id_valid(optarg)) {
				fprintf(stderr, "dispatchctl: '%.64s' is not an id (1 to 63 of "
						"A-Z a-z 0-9 _ . : / -)\n",
					optarg);
				return -1;
			}
			o->scope[o->nscope++] = optarg;
			o->scope_kinds |= opt;
			break;
		default: return -1;
		}
	}
	*next = optind;
	return 0;
}

/* The DSN (resolved as every subcommand does, ctl_settings_resolve) and,
 * when want_key, the token key (--key-file, else the file's [auth]
 * token_key_file). */
static int
ctl_tokens_settings(const struct ctl_tokens_opts *o, char *dsn, size_t cap, bool want_key,
		    unsigned char key[DM_TOKEN_KEY_BYTES])
{
	struct dm_cfg_snap *snap = NULL;
	struct ctl_settings set;
	int rc = -1;
	if (ctl_settings_resolve(o->config, o->dsn, NULL, NULL, &set, &snap) != 0)
		return -1;
	snprintf(dsn, cap, "%s", set.dsn);
	if (!want_key) {
		rc = 0;
	} else if (o->key_file != NULL) {
		char why[256];
		if (dm_token_key_load(o->key_file, key, why, sizeof why) == 0)
			rc = 0;
		else
			fprintf(stderr, "dispatchctl: %s\n", why);
	} else if (snap != NULL && snap->token_key_set) {
		memcpy(key, snap->token_key, DM_TOKEN_KEY_BYTES);
		rc = 0;
	} else {
		fprintf(stderr, "dispatchctl: no token key: give --key-file FILE, or -c FILE whose "
				"[auth] token_key_file is set\n");
	}
	dm_cfg_snap_unref(snap);
	return rc;
}

static PGconn *
ctl_tokens_connect(const char *dsn)
{
	PGconn *conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dispatchctl: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Run a parameterised statement; NULL (after printing why) unless it gave
 * rows or completed. The caller PQclears the result. */
static PGresult *
ctl_tokens_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "dispatchctl: %s failed: %s", what, PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Check role, scope, label and lifetime. Returns 0, or -1 after printing why. */
static int
ctl_tokens_check_create(const struct ctl_tokens_opts *o, enum dm_token_role *role,
			char *expires_s, size_t cap)
{
	static const int kind_of_role[DM_TOKEN_ROLE_COUNT] = {
		[DM_TOKEN_WAREHOUSE] = 1, [DM_TOKEN_STATION] = 2, [DM_TOKEN_COURIER] = 4,
		[DM_TOKEN_ENGINEER] = 8, [DM_TOKEN_PICKUP_POINT] = 16,
	};
	static const char *const flag_of_role[DM_TOKEN_ROLE_COUNT] = {
		[DM_TOKEN_ADMIN] = "no scope", [DM_TOKEN_ORDER_SERVICE] = "no scope",
		[DM_TOKEN_WAREHOUSE] = "one or more --warehouse ID",
		[DM_TOKEN_STATION] = "one or more --station ID",
		[DM_TOKEN_COURIER] = "exactly one --courier ID",
		[DM_TOKEN_ENGINEER] = "exactly one --engineer ID",
		[DM_TOKEN_PICKUP_POINT] = "exactly one --pickup-point ID",
	};
	if (o->role == NULL || dm_token_role_parse(o->role, role) != DM_TOKEN_OK) {
		fprintf(stderr, "dispatchctl: --role must be one of admin, order_service, warehouse, "
				"station, courier, engineer, pickup_point\n");
		return -1;
	}
	if ((o->scope_kinds & ~kind_of_role[*role]) != 0 ||
	    dm_token_scope_check(*role, o->nscope) != DM_TOKEN_OK) {
		fprintf(stderr, "dispatchctl: role %s takes %s\n", o->role, flag_of_role[*role]);
		return -1;
	}
	if (o->label != NULL && strlen(o->label) > CTL_TOKENS_LABEL_MAX) {
		fprintf(stderr, "dispatchctl: --label is longer than %d bytes\n", CTL_TOKENS_LABEL_MAX);
		return -1;
	}
	expires_s[0] = '\0';
	if (o->expires != NULL) {
		int64_t s;
		if (dm_token_duration_parse(o->expires, &s) != DM_TOKEN_OK) {
			fprintf(stderr, "dispatchctl: --expires '%.32s': give N followed by s, m, h, d "
					"or w (at most about ten years)\n",
				o->expires);
			return -1;
		}
		snprintf(expires_s, cap, "%lld", (long long)s);
	}
	return 0;
}

static int
ctl_tokens_create(const struct ctl_tokens_opts *o)
{
	enum dm_token_role role;
	char dsn[1024], expires[24], scope[DM_TOKEN_SCOPE_ARRAY_MAX];
	char token[DM_TOKEN_MAX], id[DM_TOKEN_ID_MAX], hex[2 * DM_TOKEN_HASH_BYTES + 1];
	unsigned char key[DM_TOKEN_KEY_BYTES], hash[DM_TOKEN_HASH_BYTES];
	if (ctl_tokens_check_create(o, &role, expires, sizeof expires) != 0)
		return 2;
	if (ctl_tokens_settings(o, dsn, sizeof dsn, true, key) != 0)
		return 1;
	if (dm_token_generate(role, token) != DM_TOKEN_OK) {
		sodium_memzero(key, sizeof key);
		return 1;
	}
	dm_token_hash(key, token, hash);
	sodium_memzero(key, sizeof key);
	dm_token_hash_hex(hash, hex);
	dm_token_id_generate(id);
	if (dm_token_scope_pg_array(o->scope, o->nscope, scope, sizeof scope) != 0) {
		sodium_memzero(token, sizeof token);
		return 2; /* ids were checked as they were read: cannot happen */
	}
	PGconn *conn = ctl_tokens_connect(dsn);
	int rc = 1;
	if (conn == NULL)
		goto out;
	const char *params[] = {id, hex, dm_token_role_name(role), scope,
				o->label != NULL ? o->label : "", expires[0] != '\0' ? expires : NULL};
	PGresult *res = ctl_tokens_exec(
		conn, "creating the token",
		"INSERT INTO api_tokens (id, hash, role, scope, label, created_by, expires_at) "
		"VALUES ($1, decode($2, 'hex'), $3, $4::text[], $5, 'dispatchctl', "
		"now() + make_interval(secs => $6::bigint)) RETURNING " CTL_TOKENS_TS("expires_at"),
		6, params);
	if (res != NULL) {
		printf("token    %s\nid       %s\nrole     %s\nscope    ", token, id,
		       dm_token_role_name(role));
		for (size_t i = 0; i < o->nscope; i++)
			printf("%s%s", i > 0 ? "," : "", o->scope[i]);
		printf("%s\nexpires  %s\n", o->nscope == 0 ? "-" : "", PQgetvalue(res, 0, 0));
		fprintf(stderr, "dispatchctl: the token is shown only this once; store it now\n");
		PQclear(res);
		rc = 0;
	}
	PQfinish(conn);
out:
	sodium_memzero(token, sizeof token);
	return rc;
}

static int
ctl_tokens_list(const struct ctl_tokens_opts *o)
{
	char dsn[1024];
	if (ctl_tokens_settings(o, dsn, sizeof dsn, false, NULL) != 0)
		return 1;
	PGconn *conn = ctl_tokens_connect(dsn);
	if (conn == NULL)
		return 1;
	/* Every column but the hash. Tab-separated, one token a line. */
	PGresult *res = ctl_tokens_exec(
		conn, "listing the tokens",
		"SELECT id, role, coalesce(nullif(array_to_string(scope, ','), ''), '-'), "
		"coalesce(nullif(label, ''), '-'), created_by, " CTL_TOKENS_TS("created_at") ", "
		CTL_TOKENS_TS("expires_at") ", " CTL_TOKENS_TS("last_used_at") ", "
		CTL_TOKENS_TS("revoked_at") " FROM api_tokens ORDER BY created_at, id",
		0, NULL);
	int rc = 1;
	if (res != NULL) {
		printf("id\trole\tscope\tlabel\tcreated_by\tcreated\texpires\tlast_used\trevoked\n");
		for (int i = 0; i < PQntuples(res); i++)
			for (int c = 0; c < 9; c++)
				printf("%s%c", PQgetvalue(res, i, c), c < 8 ? '\t' : '\n');
		PQclear(res);
		rc = 0;
	}
	PQfinish(conn);
	return rc;
}

static int
ctl_tokens_revoke(const struct ctl_tokens_opts *o, const char *id)
{
	char dsn[1024];
	if (!dm_token_id_valid(id)) {
		fprintf(stderr, "dispatchctl: '%.40s' is not a token id (tok_ + 16 hex digits)\n", id);
		return 2;
	}
	if (ctl_tokens_settings(o, dsn, sizeof dsn, false, NULL) != 0)
		return 1;
	PGconn *conn = ctl_tokens_connect(dsn);
	if (conn == NULL)
		return 1;
	const char *params[] = {id};
	/* revoked_at is kept from the first revocation: revoking twice is a no-op. */
	PGresult *res = ctl_tokens_exec(
		conn, "revoking the token",
		"WITH r AS (UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS "
		"NULL RETURNING id) SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM api_tokens "
		"WHERE id = $1)",
		1, params);
	int rc = 1;
	if (res != NULL) {
		if (strcmp(PQgetvalue(res, 0, 1), "0") == 0) {
			fprintf(stderr, "dispatchctl: no token %s\n", id);
		} else {
			printf("%s %s\n", id,
			       strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "revoked" : "was already revoked");
			rc = 0;
		}
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}

int
ctl_tokens_main(int argc, char **argv)
{
	struct ctl_tokens_opts o = {0};
	int next;
	if (argc < 2)
		return ctl_tokens_usage();
	if (dm_token_init() != DM_TOKEN_OK) {
		fprintf(stderr, "dispatchctl: libsodium failed to initialise\n");
		return 1;
	}
	const char *sub = argv[1];
	if (ctl_tokens_parse(argc - 1, argv + 1, &o, &next) != 0)
		return ctl_tokens_usage();
	int npos = argc - 1 - next;
	char **pos = argv + 1 + next;
	if (strcmp(sub, "create") == 0 && npos == 0)
		return ctl_tokens_create(&o);
	if (strcmp(sub, "list") == 0 && npos == 0 && o.role == NULL && o.nscope == 0)
		return ctl_tokens_list(&o);
	if (strcmp(sub, "revoke") == 0 && npos == 1)
		return ctl_tokens_revoke(&o, pos[0]);
	if (strcmp(sub, "init-key") == 0 && npos == 1) {
		char why[512];
		if (dm_token_key_create(pos[0], why, sizeof why) != 0) {
			fprintf(stderr, "dispatchctl: %s\n", why);
			return 1;
		}
		printf("wrote %d random bytes to %s (mode 0600); set [auth] token_key_file = %s\n",
		       DM_TOKEN_SECRET_BYTES, pos[0], pos[0]);
		return 0;
	}
	return ctl_tokens_usage();
}
