/* dispatchd configuration: an INI file parsed by inih into an immutable
 * struct cfg. The schema is one static table (cfg_schema.c): key, type,
 * default, range and whether a reload may change it. Pure: the parser takes
 * a buffer, never a file, and never reads the environment. */
#ifndef CFG_CFG_H
#define CFG_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_STR_MAX 512

enum cfg_log_level {
	CFG_LOG_ERROR = 0,
	CFG_LOG_WARNING = 1,
	CFG_LOG_INFO = 2,
	CFG_LOG_DEBUG = 3,
};

/* [testing] clock: where the daemon's wall clock comes from. */
enum cfg_clock {
	CFG_CLOCK_SYSTEM = 0, /* the real time (the default; the only one in production) */
	CFG_CLOCK_FIXED = 1,  /* stopped at testing.clock_at */
	CFG_CLOCK_OFFSET = 2, /* the real time plus testing.clock_offset_s */
	CFG_CLOCK_DRIVEN = 3, /* starts at testing.clock_at, moved by PUT /v1/admin/clock */
};

/* An unset instant (testing.clock_at = empty). */
#define CFG_INSTANT_UNSET INT64_MIN

#define CFG_MAX_WINDOWS 8

/* A daily window with a head count: "09:00-13:00/24" or "09:00-13:00/24@Mon-Fri". */
struct cfg_window {
	int start_s;       /* seconds since local midnight */
	int end_s;         /* seconds since local midnight, > start_s, <= 86400 */
	int count;         /* couriers (or crews) on shift */
	unsigned weekdays; /* bit 0 = Monday ... bit 6 = Sunday */
};

/* A list of windows, in the order written. */
struct cfg_windows {
	int n;
	struct cfg_window w[CFG_MAX_WINDOWS];
};

/* After-sales (issue 12, docs/operations.md "After-sales"). Money is integer
 * fen (CNY / 100) everywhere; cfg_money_parse reads "1299.00". */
#define CFG_NAME_MAX 64              /* a category, service type or extra code, with its NUL */
#define CFG_UNIT_MAX 16              /* an extra's unit ("m", "visit", "unit"), with its NUL */
#define CFG_MAX_SERVICE_TYPES 32     /* [service.CATEGORY.TYPE] sections */
#define CFG_MAX_SERVICE_EXTRAS 12    /* extra = lines in one section */
#define CFG_MAX_RETURN_POLICIES 16   /* [returns.CATEGORY] sections */

/* One priced extra of a service type: "extra = pipe_extension, m, 15.00, 10". */
struct cfg_service_extra {
	char code[CFG_NAME_MAX]; /* [a-z0-9_]{1,63} */
	char unit[CFG_UNIT_MAX]; /* what one quantity is: "m", "visit", "unit" */
	int64_t price_fen;       /* price of one unit: the most that may be charged */
	int max_qty;             /* most units one visit may charge, >= 1 */
};

/* A service type of a product category: [service.large_appliances.installation]. */
struct cfg_service_type {
	char category[CFG_NAME_MAX]; /* skus.category */
	char type[CFG_NAME_MAX];     /* installation, repair, cleaning, ... */
	int duration_s;              /* standard duration (duration_minutes) */
	int64_t base_fee_fen;        /* base_fee */
	bool free;                   /* free = true: the base fee is waived by policy (the
				      * extras are still charged) */
	int n_extras;
	struct cfg_service_extra extras[CFG_MAX_SERVICE_EXTRAS];
};

/* Returns of a category ([returns.CATEGORY]), or the defaults ([returns]). */
struct cfg_return_policy {
	char category[CFG_NAME_MAX]; /* "" for the [returns] defaults */
	int window_days;             /* "no reason needed" window after delivery */
	int defect_window_days;      /* window for reason defective (>= window_days) */
	int64_t quick_refund_max_fen; /* refund due at pickup up to this; else after inspection */
};

/* Every setting, grouped by INI section. Units are in the names. */
struct cfg {
	/* [server] */
	char listen_address[CFG_STR_MAX];
	char admin_listen_address[CFG_STR_MAX]; /* "" = no operators' listener */
	int admin_listen_port;
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
	/* [rate_limit]: requests per second per caller and route class; 0 = off */
	int rate_public_per_s;
	int rate_read_per_s;
	int rate_write_per_s;
	int rate_plan_per_s;
	/* [auth] */
	char auth_token_key_file[CFG_STR_MAX];
	/* [paths] */
	char migrations_dir[CFG_STR_MAX];
	char sql_dir[CFG_STR_MAX]; /* "": the folder sql beside migrations_dir */
	/* [promise]: the region's delivery promise (times are local, seconds since midnight) */
	char promise_timezone[CFG_STR_MAX];
	int promise_same_day_cutoff_s;
	int promise_same_day_deadline_s;
	int promise_next_day_cutoff_s;
	int promise_next_day_deadline_s;
	int promise_station_sort_min;
	struct cfg_windows promise_waves;
	int promise_stops_per_courier_wave;
	int promise_stops_per_courier_slot;
	int promise_slot_min;
	int promise_slot_first_s;
	int promise_slot_last_end_s;
	int promise_slot_days_ahead;
	struct cfg_windows promise_large_windows;
	int promise_large_stops_per_crew;
	int promise_installs_per_crew;
	int promise_large_prep_min;
	int promise_large_days_ahead;
	/* [webhooks]: the sender of svc/webhook_sender.c */
	int webhooks_poll_interval_ms;
	int webhooks_concurrency;
	int webhooks_timeout_ms;
	int webhooks_retry_min_ms;
	int webhooks_retry_max_s;
	int webhooks_retry_window_s;
	char webhooks_ca_file[CFG_STR_MAX]; /* "": the system's CA certificates */

	/* [dispatch]: couriers in the field (the handheld API) */
	int dispatch_max_attempts;          /* delivery attempts before returning to the warehouse */
	int dispatch_eta_change_threshold_s; /* an ETA moving more than this is an eta_changed event */

	/* [dispatch]: the wave scheduler (daemon/svc/wave_scheduler.c) */
	int dispatch_scheduler_interval_ms; /* 0: no automatic planning */
	int dispatch_plan_cutoff_min;
	int dispatch_scheduler_max_plans;
	int dispatch_scheduler_stale_s;
	/* [services]: appointment windows and policy (docs/operations.md, "After-sales") */
	struct cfg_windows services_windows; /* "09:00-13:00/2": window/visits per engineer */
	int services_horizon_days;           /* windows offered from tomorrow to this many days */
	int services_change_cutoff_h;        /* reschedule or cancel until this long before */
	int services_plan_at_s;              /* a day is planned at this local time of the day
					      * before (svc/service_scheduler.c), s since midnight */
	int64_t services_late_compensation_fen; /* credited when a visit starts after its window */
	int n_service_types;                 /* [service.CATEGORY.TYPE] sections, in file order */
	struct cfg_service_type service_types[CFG_MAX_SERVICE_TYPES];
	/* [returns] defaults and [returns.CATEGORY] overrides */
	struct cfg_return_policy returns_default;
	int returns_pickup_days_ahead;       /* pickup waves offered up to this many days ahead */
	int pickup_hold_days;                /* a pickup point holds a parcel this many days */
	int pickup_return_to_warehouse;      /* 1: an uncollected parcel goes on as a return */
	long pickup_expiry_interval_ms;      /* the expiry tick (svc/pickup_expiry.c); 0: off */
	int pickup_code_failures_per_token;  /* wrong pickup codes a token may try ... */
	int pickup_code_failures_token_window_s; /* ... in this many seconds */
	int pickup_code_failures_per_point;  /* wrong pickup codes tried at one point ... */
	int pickup_code_failures_point_window_s; /* ... in this many seconds */
	int n_return_policies; /* [returns.CATEGORY], in file order; unset keys are [returns]'s */
	struct cfg_return_policy return_policies[CFG_MAX_RETURN_POLICIES];
	/* [testing]: for tests only; the shipped unit refuses a non-system clock */
	int testing_clock;	      /* enum cfg_clock */
	int64_t testing_clock_at_s;   /* UTC seconds, or CFG_INSTANT_UNSET */
	long testing_clock_offset_s;
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
	CFG_T_TIME,    /* "HH:MM" local time of day (24:00 allowed), stored as seconds */
	CFG_T_WINDOWS, /* comma-separated "HH:MM-HH:MM/N[@Mon-Fri]" */
	CFG_T_CLOCK,   /* "system", "fixed" or "offset" (enum cfg_clock) */
	CFG_T_INSTANT, /* RFC 3339 "YYYY-MM-DDTHH:MM:SS" + "Z" or "+HH:MM", stored as int64 UTC
			* seconds; empty = CFG_INSTANT_UNSET */
	CFG_T_MONEY,   /* an amount "129.00" (cfg_money_parse), stored as int64_t fen; the
			* schema row's min and max are in fen */
	CFG_T_BOOL,    /* "true" or "false", stored as int 1 or 0 */
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

/* Bytes the value of key k occupies in struct cfg. */
size_t cfg_key_size(const struct cfg_key *k);

/* Name of a log level ("error", "warning", "info", "debug"). */
const char *cfg_log_level_name(int level);

/* Name of a clock source ("system", "fixed", "offset", "driven"). */
const char *cfg_clock_name(int clock);

/* The service type for category and type, or NULL. Borrowed from cfg. */
const struct cfg_service_type *cfg_service_type_find(const struct cfg *cfg,
						     const char *category, const char *type);

/* The return policy of category: its [returns.CATEGORY], else the defaults.
 * Borrowed from cfg; never NULL. */
const struct cfg_return_policy *cfg_return_policy_for(const struct cfg *cfg,
						      const char *category);

/* Parse an exact non-negative decimal amount ("1299.00", "15", "0.5": at most
 * two decimals, at most 12 integer digits) into fen. Returns 0, or -1. */
int cfg_money_parse(const char *s, int64_t *fen);

/* Format fen as "1299.00" into out (at least 24 bytes). Returns out. */
char *cfg_money_format(int64_t fen, char *out);

#endif
