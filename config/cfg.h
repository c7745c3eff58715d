/* dispatchd configuration: an INI file parsed by inih into an immutable
 * struct cfg. The schema is one static table (cfg_schema.c): key, type,
 * default, range and whether a reload may change it. Pure: the parser takes
 * a buffer, never a file, and never reads the environment. */
#ifndef CFG_CFG_H
#define CFG_CFG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_STR_MAX 512

enum cfg_log_level {
	CFG_LOG_ERROR = 0,
	CFG_LOG_WARNING = 1,
	CFG_LOG_INFO = 2,
	CFG_LOG_DEBUG = 3,
};

/* Every setting, grouped by INI section. Units are in the names. */
struct cfg {
	/* [server] */
	char listen_address[CFG_STR_MAX];
	int listen_port;
	long max_body_bytes;
	long max_header_bytes;
	int request_timeout_ms;
	int drain_timeout_ms;
	int worker_threads;
	/* [postgres] */
	char pg_dsn[CFG_STR_MAX];
	int pg_pool_size;
	int pg_connect_timeout_ms;
	int pg_query_timeout_ms;
	int pg_health_interval_ms;
	int pg_reconnect_min_ms;
	int pg_reconnect_max_ms;
	/* [redis] */
	char redis_host[CFG_STR_MAX];
	int redis_port;
	char redis_password[CFG_STR_MAX];
	int redis_db;
	int redis_connect_timeout_ms;
	int redis_command_timeout_ms;
	int redis_health_interval_ms;
	int redis_reconnect_min_ms;
	int redis_reconnect_max_ms;
	/* [log] */
	int log_level; /* enum cfg_log_level */
	/* [paths] */
	char migrations_dir[CFG_STR_MAX];
};

/* Parse failure: the 1-based line (0 when not tied to a line) and a message
 * naming the section and key. Writing it never allocates. */
struct cfg_err {
	int line;
	char msg[256];
};

enum cfg_type {
	CFG_T_STRING,
	CFG_T_INT,
	CFG_T_LONG,
	CFG_T_LOG_LEVEL,
};

/* One row of the schema table. */
struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t offset;  /* of the field in struct cfg */
	const char *default_value;
	long min, max;  /* inclusive range for numbers */
	bool reloadable;
	bool secret;    /* never logged; may come from the environment */
	const char *doc;
};

/* The schema: a static table of *count rows, valid for the process lifetime. */
const struct cfg_key *cfg_schema(size_t *count);

/* Parse an INI buffer of len bytes into a new struct cfg (free with cfg_free).
 * Unset keys take their defaults; lines may be at most 198 characters. On error returns NULL and fills err with the
 * line and a message naming the section and key. */
struct cfg *cfg_parse(const char *buf, size_t len, struct cfg_err *err);

/* A config with every key at its default (free with cfg_free); NULL on OOM. */
struct cfg *cfg_new_defaults(void);

/* Set one key from text, as the file would (used for environment overrides
 * of secrets). Returns 0, or -1 with err filled. */
int cfg_set(struct cfg *cfg, const char *section, const char *name, const char *value,
	    struct cfg_err *err);

/* Free a config from cfg_parse or cfg_new_defaults; NULL is a no-op. */
void cfg_free(struct cfg *cfg);

/* The first non-reloadable key whose value differs between a and b (a schema
 * row), or NULL when a reload may apply b whole. */
const struct cfg_key *cfg_first_fixed_change(const struct cfg *a, const struct cfg *b);

/* Name of a log level ("error", "warning", "info", "debug"). */
const char *cfg_log_level_name(int level);

#endif
