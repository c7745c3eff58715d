/* Redis client on the event loop: hiredis's async API with its libevent
 * adapter, plus what hiredis 0.14 lacks: a deadline per connect and per
 * command, PING health checks, and reconnect with capped backoff. */
#ifndef DM_RDS_H
#define DM_RDS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct cfg;
struct dm_rds;

/* Completion: reply is borrowed (valid while the callback runs) or NULL on
 * failure, when error says why (timeout, link lost). A Redis error reply
 * (REDIS_REPLY_ERROR) is passed through as a reply. */
typedef void dm_rds_done_fn(const redisReply *reply, const char *error, void *arg);

/* Client counters for readiness and metrics. */
struct dm_rds_stats {
	long commands_total;
	long command_errors_total;
	long reconnects_total;
};

/* A client on base with the [redis] settings of cfg; connects at once, in the
 * background. NULL on OOM. */
struct dm_rds *dm_rds_new(struct event_base *base, const struct cfg *cfg);

/* Take the reloadable [redis] settings (timeouts, backoff) from cfg. */
void dm_rds_configure(struct dm_rds *rds, const struct cfg *cfg);

/* Send one command (argv/argvlen are copied by hiredis). Returns 0 and later
 * calls done exactly once, or -1 at once (done never called) while down. */
int dm_rds_command(struct dm_rds *rds, int argc, const char **argv, const size_t *argvlen,
		   dm_rds_done_fn *done, void *arg);

/* True while the link is connected, authenticated and answered its last PING. */
bool dm_rds_up(const struct dm_rds *rds);

/* Copy the counters into out. */
void dm_rds_stats_get(const struct dm_rds *rds, struct dm_rds_stats *out);

/* Disconnect and free; pending commands complete with an error. NULL is a no-op. */
void dm_rds_free(struct dm_rds *rds);

#endif
