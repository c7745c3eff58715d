/* systemd notifications through libsystemd's sd_notify. Without a
 * NOTIFY_SOCKET every call is a cheap no-op, so the daemon runs the same
 * under systemd, in tests and by hand. */
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/sd.h"

static void
dm_sd_send(const char *msg)
{
	int rc = sd_notify(0, msg);
	if (rc < 0)
		dm_log_warning("sd", "sd_notify failed: rc=%d", rc);
}

void
dm_sd_ready(const char *status)
{
	char msg[512];
	snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
	dm_sd_send(msg);
}

void
dm_sd_reloading(void)
{
	char msg[128];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(dm_clock_mono_s() * 1e6));
	dm_sd_send(msg);
}

void
dm_sd_stopping(void)
{
	dm_sd_send("STOPPING=1\nSTATUS=draining");
}

void
dm_sd_status(const char *status)
{
	char msg[512];
	snprintf(msg, sizeof msg, "STATUS=%s", status);
	dm_sd_send(msg);
}

void
dm_sd_watchdog_ping(void)
{
	dm_sd_send("WATCHDOG=1");
}

uint64_t
dm_sd_watchdog_usec(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

int
dm_sd_listen_fds(void)
{
	int n = sd_listen_fds(1);
	return n > 0 ? n : 0;
}

int
dm_sd_listen_fd(int i)
{
	return SD_LISTEN_FDS_START + i;
}
