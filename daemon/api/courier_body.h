/* The request bodies of the couriers resource (api/couriers.c), checked and
 * normalised before they reach PostgreSQL: a courier's fields, its shifts
 * (weekly pattern and dated overrides in local "HH:MM" times) and a duty
 * change. Each problem is one {"field","message"} entry of an errors array,
 * the shape of every 422 of the API; nothing here talks to a backend. */
#ifndef DM_API_COURIER_BODY_H
#define DM_API_COURIER_BODY_H

#include <jansson.h>
#include <stdbool.h>

#define DM_API_COURIER_BODY_REASON_MAX 200 /* bytes of a duty reason */

/* A courier's members for POST (create: id, name, phone and vehicle
 * required, skills optional) or PATCH (!create: any of name, phone,
 * vehicle, skills, active). An engineer's (engineer: issue 12) also take
 * daily_capacity (1..50, required at create) and provider (optional text,
 * null clears it at PATCH); its vehicle defaults to "van" and its skills
 * are product categories. Returns a new object holding exactly the members
 * given (the caller owns it), or NULL after adding errors. body is
 * borrowed. Whether the vehicle has a profile is PostgreSQL's to say. */
json_t *dm_api_courier_body_fields(const json_t *body, bool create, bool engineer,
				   json_t *errors);

/* A shifts body {"weekly": [...], "overrides": [...]} (each optional: a
 * missing one is empty). On success returns 0 and sets *weekly to
 * [{"dow": 1..7, "start", "end"}] (one entry per day of each pattern entry)
 * and *dates to [{"date", "start", "end"} | {"date"} for a day off], both
 * owned by the caller; else returns -1 after adding errors (weekly[i].days,
 * overrides[i].start, an overlap named at the later entry). */
int dm_api_courier_body_shifts(const json_t *body, json_t **weekly, json_t **dates,
			       json_t *errors);

/* A duty body {"on_shift": bool, "reason": "..."} into *on_shift and
 * *reason (borrowed from body; "" when absent). Returns 0, or -1 after
 * adding errors. */
int dm_api_courier_body_duty(const json_t *body, bool *on_shift, const char **reason,
			     json_t *errors);

/* "YYYY-MM-DD" (a real date, years 2000-2999) into days since the epoch;
 * false when s names no date. Also the {date} of the engineers' day plans
 * (api/service_days.c). */
bool dm_api_courier_body_date(const char *s, int *days);

#endif
