/* dispatchctl subcommands: each takes the arguments after its own name and
 * returns a process exit code (0 ok, 1 failed, 2 usage). */
#ifndef DM_CTL_H
#define DM_CTL_H

#include <stddef.h>

/* dispatchctl migrate [-c FILE] [--dsn DSN] [--dir DIR] */
int ctl_migrate_main(int argc, char **argv);

/* dispatchctl areas import FILE --kind station|district|warehouse [--dry-run] [-c FILE|--dsn DSN] */
int ctl_areas_main(int argc, char **argv);

/* dispatchctl network generate --districts FILE --out FILE [--seed N] [--stations N] */
int ctl_network_main(int argc, char **argv);

/* dispatchctl seed --catalogue DIR [-c FILE] [--dsn DSN] */
int ctl_seed_main(int argc, char **argv);

/* dispatchctl tokens create|list|revoke|init-key ... (tokens.c) */
int ctl_tokens_main(int argc, char **argv);

/* Resolve the DSN and migrations folder from -c FILE, --dsn, --dir and the
 * environment (DISPATCH_PG_DSN), in that order of precedence: flags, env,
 * file. Returns 0, or prints why and returns -1. Output buffers of cap bytes. */
int ctl_settings(int argc, char **argv, char *dsn, char *dir, size_t cap, int *next_arg);

#endif
