/* systemd integration: every sd_notify call of the daemon lives here. */
#ifndef DM_SD_H
#define DM_SD_H

#include <stdint.h>

/* Tell the service manager we are ready (READY=1 plus a STATUS line). */
void dm_sd_ready(const char *status);

/* Announce a reload (RELOADING=1 with MONOTONIC_USEC). Follow with dm_sd_ready. */
void dm_sd_reloading(void);

/* Announce shutdown (STOPPING=1). */
void dm_sd_stopping(void);

/* Update the STATUS= line shown by systemctl status. */
void dm_sd_status(const char *status);

/* Keep-alive ping for WatchdogSec= (WATCHDOG=1). */
void dm_sd_watchdog_ping(void);

/* The watchdog interval in microseconds that systemd asked for, or 0. */
uint64_t dm_sd_watchdog_usec(void);

/* Number of sockets passed by systemd socket activation (fds start at 3). */
int dm_sd_listen_fds(void);

/* The i-th socket-activated fd (0 <= i < dm_sd_listen_fds()). */
int dm_sd_listen_fd(int i);

#endif
