/* dispatchctl: the administration CLI. It owns argument dispatch to the
 * subcommands (ctl/<name>.c) and the shared settings resolution. Unlike the
 * daemon it may block: it runs one operation and exits. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctl/ctl.h"
#include "daemon/base/reload.h"

struct ctl_command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static const struct ctl_command ctl_commands[] = {
	{"migrate", "migrate [-c FILE] [--dsn DSN] [--dir DIR] [--sql-dir DIR]   apply pending "
		    "schema migrations, then the changed function and view files",
	 ctl_migrate_main},
	{"areas", "areas import FILE --kind station|district|warehouse [--dry-run] [-c FILE] "
		  "[--dsn DSN]   validate, repair and import service areas",
	 ctl_areas_main},
	{"network", "network generate --districts FILE --out FILE [--seed N] [--stations N]   "
		    "regenerate the sample network",
	 ctl_network_main},
	{"seed", "seed --catalogue DIR [-c FILE] [--dsn DSN]   load SKUs and stock", ctl_seed_main},
	{"tokens", "tokens create|list|revoke|init-key ...   manage API tokens (tokens --help)",
	 ctl_tokens_main},
};

/* The migrations folder when paths.migrations_dir is empty: the installed
 * one when this program runs from the install bindir (a package's
 * /usr/bin/dispatchctl), else the source tree this build came from. */
static void
ctl_settings_default_migrations(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (strcmp(dirname(exe), DISPATCH_INSTALL_BINDIR) == 0) {
			snprintf(out, cap, "%s", DISPATCH_INSTALL_DATADIR "/migrations");
			return;
		}
	}
	snprintf(out, cap, "%s", DISPATCH_SOURCE_DIR "/data/migrations");
}

/* The folder "sql" beside dir ("data/migrations/" -> "data/sql"). */
static void
ctl_settings_sibling_sql(const char *dir, char *out, size_t cap)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	while (len > 0 && dir[len - 1] != '/')
		len--;
	snprintf(out, cap, "%.*ssql", (int)len, dir);
}

int
ctl_settings(int argc, char **argv, struct ctl_settings *out, int *next_arg)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dsn", required_argument, NULL, 'd'},
		{"dir", required_argument, NULL, 'm'},
		{"sql-dir", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *dsn_flag = NULL, *dir_flag = NULL, *sql_flag = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'd': dsn_flag = optarg; break;
		case 'm': dir_flag = optarg; break;
		case 's': sql_flag = optarg; break;
		default: return -1;
		}
	}
	*next_arg = optind;
	return ctl_settings_resolve(config, dsn_flag, dir_flag, sql_flag, out, NULL);
}

int
ctl_settings_resolve(const char *config, const char *dsn_flag, const char *dir_flag,
		     const char *sql_flag, struct ctl_settings *out, struct dm_cfg_snap **keep)
{
	if (keep != NULL)
		*keep = NULL;
	struct cfg *defaults = cfg_new_defaults();
	if (defaults == NULL)
		return -1;
	snprintf(out->dsn, sizeof out->dsn, "%s", defaults->pg_dsn);
	snprintf(out->migrations_dir, sizeof out->migrations_dir, "%s", defaults->migrations_dir);
	snprintf(out->sql_dir, sizeof out->sql_dir, "%s", defaults->sql_dir);
	cfg_free(defaults);
	if (config != NULL) {
		struct cfg_err err;
		struct dm_cfg_snap *snap = dm_reload_load(config, &err);
		if (snap == NULL) {
			fprintf(stderr, "dispatchctl: %s line %d: %s\n", config, err.line, err.msg);
			return -1;
		}
		snprintf(out->dsn, sizeof out->dsn, "%s", snap->cfg->pg_dsn);
		snprintf(out->migrations_dir, sizeof out->migrations_dir, "%s",
			 snap->cfg->migrations_dir);
		snprintf(out->sql_dir, sizeof out->sql_dir, "%s", snap->cfg->sql_dir);
		if (keep != NULL)
			*keep = snap;
		else
			dm_cfg_snap_unref(snap);
	} else if (getenv("DISPATCH_PG_DSN") != NULL) {
		snprintf(out->dsn, sizeof out->dsn, "%s", getenv("DISPATCH_PG_DSN"));
	}
	if (dsn_flag != NULL)
		snprintf(out->dsn, sizeof out->dsn, "%s", dsn_flag);
	if (dir_flag != NULL)
		snprintf(out->migrations_dir, sizeof out->migrations_dir, "%s", dir_flag);
	if (sql_flag != NULL)
		snprintf(out->sql_dir, sizeof out->sql_dir, "%s", sql_flag);
	if (out->migrations_dir[0] == '\0')
		ctl_settings_default_migrations(out->migrations_dir, sizeof out->migrations_dir);
	if (out->sql_dir[0] == '\0')
		ctl_settings_sibling_sql(out->migrations_dir, out->sql_dir, sizeof out->sql_dir);
	return 0;
}

static void
ctl_usage(FILE *out)
{
	fprintf(out, "usage: dispatchctl COMMAND [options]\n       dispatchctl --version\ncommands:\n");
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		fprintf(out, "  %s\n", ctl_commands[i].usage);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		ctl_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("dispatchctl %s\n", DISPATCH_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		ctl_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0]; i++)
		if (strcmp(argv[1], ctl_commands[i].name) == 0)
			return ctl_commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "dispatchctl: unknown command '%s'\n", argv[1]);
	ctl_usage(stderr);
	return 2;
}
