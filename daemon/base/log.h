/* Logging: one line per event on stderr, with a level and a subsystem tag.
 * Under journald (JOURNAL_STREAM set) lines carry sd-daemon priority
 * prefixes so the journal keeps the levels; otherwise a UTC timestamp. */
#ifndef DM_LOG_H
#define DM_LOG_H

#include <stdbool.h>

enum dm_log_level {
	DM_LOG_ERROR = 0,
	DM_LOG_WARNING = 1,
	DM_LOG_INFO = 2,
	DM_LOG_DEBUG = 3,
};

/* Pick the output format once at startup (journald prefixes or timestamps). */
void dm_log_init(void);

/* Set the most verbose level that is written. Safe to call on reload. */
void dm_log_set_level(int level);

/* True when a message at level would be written. */
bool dm_log_enabled(int level);

/* Format and write one line; control characters are escaped and the line is
 * truncated at 1 KiB. Use the dm_log_* macros, which skip formatting when the
 * level is off. */
void dm_log_write(int level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define dm_log_at(level, tag, ...)                                                                 \
	do {                                                                                       \
		if (dm_log_enabled(level))                                                         \
			dm_log_write(level, tag, __VA_ARGS__);                                     \
	} while (0)
#define dm_log_error(tag, ...) dm_log_at(DM_LOG_ERROR, tag, __VA_ARGS__)
#define dm_log_warning(tag, ...) dm_log_at(DM_LOG_WARNING, tag, __VA_ARGS__)
#define dm_log_info(tag, ...) dm_log_at(DM_LOG_INFO, tag, __VA_ARGS__)
#define dm_log_debug(tag, ...) dm_log_at(DM_LOG_DEBUG, tag, __VA_ARGS__)

#endif
