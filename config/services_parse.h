/* Parsing of the after-sales sections whose names carry data: [service.CATEGORY.TYPE]
 * (a service type and its price list) and [returns.CATEGORY] (a category's return
 * policy). Internal to config/: cfg.c finds the section headers and routes their keys
 * here. The fixed sections [services] and [returns] are ordinary schema keys. */
#ifndef CFG_SERVICES_PARSE_H
#define CFG_SERVICES_PARSE_H

#include <stdbool.h>

#include "config/cfg.h"

/* Longest section name inih keeps whole (its MAX_SECTION - 1): it cuts longer ones. */
#define CFG_SERVICES_PARSE_INI_SECTION 49

/* What one parse has seen of the dynamic sections: the keys set per section (to refuse
 * a key set twice and to find missing ones) and the line of each section header. */
struct cfg_services_parse {
	unsigned type_keys[CFG_MAX_SERVICE_TYPES];
	int type_line[CFG_MAX_SERVICE_TYPES];
	unsigned policy_keys[CFG_MAX_RETURN_POLICIES];
	int policy_line[CFG_MAX_RETURN_POLICIES];
	int returns_line; /* the first [returns] header, 0 when none */
};

/* Whether section (as written, or as inih passes it) is a [service.*] or [returns.*]
 * section this file parses. */
bool cfg_services_parse_owns(const char *section);

/* A section header at line: when it is one of ours, check its name and add its (empty)
 * service type or return policy to cfg, in file order; [returns] has its line noted.
 * Returns 0 (also for a section that is not ours), or -1 with err filled (a bad name,
 * a duplicate, too many). */
int cfg_services_parse_section(struct cfg_services_parse *sp, struct cfg *cfg,
			       const char *section, int line, struct cfg_err *err);

/* One key = value of a section of ours (section as inih passes it: possibly cut to
 * CFG_SERVICES_PARSE_INI_SECTION characters). Returns 0, or -1 with err->msg filled
 * naming the section and key (inih supplies the line). */
int cfg_services_parse_key(struct cfg_services_parse *sp, struct cfg *cfg, const char *section,
			   const char *name, const char *value, struct cfg_err *err);

/* After the whole file: required keys present, return policies completed from the
 * [returns] defaults, defect windows not shorter than the no-reason windows. Returns 0,
 * or -1 with err filled (the line of the header of the section concerned). */
int cfg_services_parse_finish(struct cfg_services_parse *sp, struct cfg *cfg,
			      struct cfg_err *err);

#endif
