/* Shared fixtures for the warehouse unit tests: local-time builders and the
 * sample chains (near front centre, regional centre, far warehouse). */
#ifndef WH_TEST_H
#define WH_TEST_H

#include <stdint.h>

#include "warehouse/civil.h"
#include "warehouse/promise.h"

#define HM(h, m) ((int32_t)((h) * 3600 + (m) * 60))

/* Local seconds of y-m-d hh:mm:ss. */
static inline int64_t
wh_test_t(int y, int mo, int d, int hh, int mi, int ss)
{
	return wh_civil_at(wh_civil_days_from_ymd(y, mo, d), hh * 3600 + mi * 60 + ss);
}

/* Front centre next to the station: 30 min handling, around the clock, no shuttle
 * timetable, 40 min drive. */
static const struct wh_chain wh_test_near = {HM(0, 30), 0, 86400, NULL, 0, HM(0, 40)};

static const int32_t wh_test_rdc_departures[] = {HM(5, 0),  HM(8, 0),  HM(11, 0), HM(13, 0),
						 HM(15, 0), HM(17, 0), HM(20, 0)};
/* Regional centre: 90 min handling, around the clock, 7 shuttles a day, 90 min line-haul. */
static const struct wh_chain wh_test_rdc = {HM(1, 30), 0, 86400, wh_test_rdc_departures, 7,
					    HM(1, 30)};

static const int32_t wh_test_far_departures[] = {HM(20, 0)};
/* Far warehouse: 4 h handling, one shuttle at 20:00, 10 h line-haul. */
static const struct wh_chain wh_test_far = {HM(4, 0), 0, 86400, wh_test_far_departures, 1,
					    HM(10, 0)};

#endif
