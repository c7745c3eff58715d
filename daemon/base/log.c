/* The logging module: level filter, line formatting and escaping. It owns
 * stderr; nothing else in the daemon writes there. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/base/log.h"

static atomic_int dm_log_level_now = DM_LOG_INFO;
static bool dm_log_journal;

static const char *const dm_log_names[] = {"error", "warning", "info", "debug"};
/* sd-daemon.h: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG */
static const char *const dm_log_prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

void
dm_log_init(void)
{
	dm_log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
dm_log_set_level(int level)
{
	if (level < DM_LOG_ERROR)
		level = DM_LOG_ERROR;
	if (level > DM_LOG_DEBUG)
		level = DM_LOG_DEBUG;
	atomic_store(&dm_log_level_now, level);
}

bool
dm_log_enabled(int level)
{
	return level <= atomic_load(&dm_log_level_now);
}

/* Copy src into dst escaping control and non-ASCII bytes as \xNN, so that
 * untrusted text cannot forge lines or terminal sequences. */
static void
dm_log_escape(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)*p;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*p >> 4];
			dst[o++] = hex[*p & 15];
		}
	}
	dst[o] = '\0';
}

void
dm_log_write(int level, const char *tag, const char *fmt, ...)
{
	char raw[1024], safe[1024], line[1200], stamp[40];
	va_list ap;
	int n;

	if (level < DM_LOG_ERROR || level > DM_LOG_DEBUG)
		level = DM_LOG_ERROR;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* Backend messages (libpq, hiredis) end in newlines: one event, one line. */
	for (size_t len = strlen(raw); len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == ' ');)
		raw[--len] = '\0';
	dm_log_escape(safe, sizeof safe, raw);
	if (dm_log_journal) {
		n = snprintf(line, sizeof line, "%s%s: %s\n", dm_log_prefixes[level], tag, safe);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof line, "%s.%03ldZ %s %s: %s\n", stamp,
			     ts.tv_nsec / 1000000, dm_log_names[level], tag, safe);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so concurrent writers never interleave within a line. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
