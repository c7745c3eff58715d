/* Validation and repair of parsed areas, and the repair report.
 *
 * Every area is checked with GEOS (isValidDetail). An invalid one (ring
 * self-intersection, too few distinct points, nested shells, ...) is repaired
 * with GEOSMakeValid using the "structure" method (rings are re-noded and
 * their enclosed areas unioned; collapsed parts are dropped), then reduced to
 * its polygon parts of at least RT_GEO_AREAS_MIN_PART_M2. Valid areas are
 * left untouched. Threads: as for the set (see areas.h). */
#ifndef RT_GEO_REPAIR_H
#define RT_GEO_REPAIR_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/areas.h"

/* Counts over a set, for logs and dry-run summaries. */
struct rt_geo_repair_summary {
	size_t areas;	   /* areas in the set */
	size_t invalid;	   /* invalid as read */
	size_t repaired;   /* repaired with MakeValid */
	size_t overlapped; /* trimmed by the overlap rule */
	size_t emptied;	   /* nothing left after the overlap rule */
};

/* Validate every area and repair the invalid ones in place. Fails (RT_E_PARSE,
 * message naming the feature index and id) when an area has no surface left
 * after repair, RT_E_GEOS when GEOS fails; the set must then be discarded. */
RT_MUST_CHECK enum rt_status rt_geo_repair_run(struct rt_geo_areas *areas, struct rt_err *err);

/* Fill `sum` from the per-area records of rt_geo_repair_run and rt_geo_areas_resolve. */
void rt_geo_repair_summary(const struct rt_geo_areas *areas, struct rt_geo_repair_summary *sum);

/* The repair report as JSON text: {"areas":N,"invalid":..,"repaired":..,
 * "overlapped":..,"emptied":..,"features":[{"index","id","name","valid",
 * "reason","location":[lon,lat],"action":"none"|"make_valid","parts_before",
 * "parts_after","area_input_m2","area_repaired_m2","area_resolved_m2",
 * "overlapped_by","slivers_dropped"}...]}. Areas in set order; "index" is the
 * feature's index in its source document. *out is malloc'd; free() it. */
RT_MUST_CHECK enum rt_status rt_geo_repair_report_json(const struct rt_geo_areas *areas, char **out,
						       struct rt_err *err);

#endif
