/* dispatchctl subcommands: each takes the arguments after its own name and
 * returns a process exit code (0 ok, 1 failed, 2 usage). */
#ifndef DM_CTL_H
#define DM_CTL_H

#include <stddef.h>

/* dispatchctl migrate [-c FILE] [--dsn DSN] [--dir DIR] [--sql-dir DIR] */
int ctl_migrate_main(int argc, char **argv);

/* dispatchctl areas import FILE --kind station|district|warehouse [--dry-run] [-c FILE|--dsn DSN] */
int ctl_areas_main(int argc, char **argv);

/* dispatchctl network generate --districts FILE --out FILE [--seed N] [--stations N] */
int ctl_network_main(int argc, char **argv);

/* dispatchctl seed --catalogue DIR [-c FILE] [--dsn DSN] */
int ctl_seed_main(int argc, char **argv);

/* dispatchctl tokens create|list|revoke|init-key ... (tokens.c) */
int ctl_tokens_main(int argc, char **argv);

/* What the subcommands that talk to PostgreSQL resolve the same way. */
struct ctl_settings {
	char dsn[1024];
	char migrations_dir[1024]; /* paths.migrations_dir: numbered, applied once */
	char sql_dir[1024];        /* paths.sql_dir, or the folder sql beside migrations_dir */
};

/* Resolve the settings from -c FILE, --dsn, --dir, --sql-dir and the
 * environment (DISPATCH_PG_DSN), in that order of precedence: flags, env,
 * file, defaults. A migrations_dir set nowhere is the installed one
 * (DISPATCH_INSTALL_DATADIR/migrations) when dispatchctl runs from the
 * install bindir, else the source tree's; an sql_dir set nowhere is the
 * folder "sql" beside the migrations folder finally chosen. Returns 0, or
 * prints why and returns -1; *next_arg is the index of the first argument that is not an option. */
int ctl_settings(int argc, char **argv, struct ctl_settings *out, int *next_arg);

struct dm_cfg_snap;

/* The same resolution from options already parsed (each may be NULL). When
 * keep is given and a config file was read, *keep is its snapshot with one
 * reference for the caller (dm_cfg_snap_unref), else NULL. */
int ctl_settings_resolve(const char *config, const char *dsn_flag, const char *dir_flag,
			 const char *sql_flag, struct ctl_settings *out, struct dm_cfg_snap **keep);

#endif
