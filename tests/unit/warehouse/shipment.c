/* Unit tests for warehouse/shipment.c: names round-trip, every legal
 * transition of the lifecycle, a set of illegal ones, idempotent re-scans,
 * which role may scan what, and collected_at_point (issue 13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "warehouse/shipment.h"

#define A WH_SHIPMENT_ALLOCATED
#define PI WH_SHIPMENT_PICKED
#define PA WH_SHIPMENT_PACKED
#define DW WH_SHIPMENT_DEPARTED_WAREHOUSE
#define AS WH_SHIPMENT_ARRIVED_AT_STATION
#define OD WH_SHIPMENT_OUT_FOR_DELIVERY
#define DE WH_SHIPMENT_DELIVERED
#define FA WH_SHIPMENT_FAILED
#define RS WH_SHIPMENT_RESCHEDULED
#define RW WH_SHIPMENT_RETURNING_TO_WAREHOUSE
#define RT WH_SHIPMENT_RETURNED
#define CA WH_SHIPMENT_CANCELLED

/* Every legal transition, written out independently of shipment.c. */
static const struct {
	enum wh_shipment_state from, to;
} legal[] = {
	{A, PI}, {A, CA}, {PI, PA}, {PI, CA}, {PA, DW}, {PA, CA}, {DW, AS},
	{AS, OD}, {OD, DE}, {OD, FA}, {FA, RS}, {FA, RW}, {RS, OD}, {RW, RT},
};

static bool
is_legal(enum wh_shipment_state from, enum wh_shipment_state to)
{
	for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
		if (legal[i].from == from && legal[i].to == to)
			return true;
	return false;
}

static void
shipment_names_round_trip(void **state)
{
	static const char *const names[] = {
		"allocated", "picked", "packed", "departed_warehouse", "arrived_at_station",
		"out_for_delivery", "delivered", "failed", "rescheduled",
		"returning_to_warehouse", "returned", "cancelled",
	};
	(void)state;
	assert_int_equal(sizeof names / sizeof names[0], WH_SHIPMENT_STATE_COUNT);
	for (int i = 0; i < WH_SHIPMENT_STATE_COUNT; i++) {
		enum wh_shipment_state s = WH_SHIPMENT_CANCELLED;
		assert_string_equal(wh_shipment_state_name((enum wh_shipment_state)i), names[i]);
		assert_int_equal(wh_shipment_state_parse(names[i], &s), WH_OK);
		assert_int_equal(s, i);
	}
	static const char *const bad[] = {"", "Picked", "picked ", "left_warehouse", "at_station",
					  "departed", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum wh_shipment_state s = WH_SHIPMENT_PACKED;
		assert_int_equal(wh_shipment_state_parse(bad[i], &s), WH_E_INVAL);
		assert_int_equal(s, WH_SHIPMENT_PACKED); /* untouched */
	}
	assert_null(wh_shipment_state_name(WH_SHIPMENT_STATE_COUNT));
	assert_null(wh_shipment_state_name((enum wh_shipment_state)-1));
}

static void
shipment_every_legal_transition(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++) {
		enum wh_shipment_state to = WH_SHIPMENT_STATE_COUNT;
		assert_int_equal(wh_shipment_next(legal[i].from, legal[i].to, &to),
				 WH_SHIPMENT_MOVED);
		assert_int_equal(to, legal[i].to);
	}
}

/* The whole matrix: anything not in the legal table (nor a re-scan) is illegal. */
static void
shipment_everything_else_is_illegal(void **state)
{
	(void)state;
	int illegal = 0;
	for (int f = 0; f < WH_SHIPMENT_STATE_COUNT; f++) {
		for (int e = 0; e < WH_SHIPMENT_STATE_COUNT; e++) {
			enum wh_shipment_state from = (enum wh_shipment_state)f;
			if (f == e || is_legal(from, (enum wh_shipment_state)e))
				continue;
			enum wh_shipment_state to = WH_SHIPMENT_STATE_COUNT;
			assert_int_equal(wh_shipment_next((enum wh_shipment_state)f,
							  (enum wh_shipment_state)e, &to),
					 WH_SHIPMENT_ILLEGAL);
			assert_int_equal(to, WH_SHIPMENT_STATE_COUNT); /* untouched */
			illegal++;
		}
	}
	assert_int_equal(illegal, 12 * 12 - 12 - 14);
}

/* Named illegal cases worth reading: skipping steps, going back, leaving a final state. */
static void
shipment_named_illegal_cases(void **state)
{
	static const struct {
		enum wh_shipment_state from, event;
	} cases[] = {
		{A, PA},  /* packed before picked */
		{A, DW},  /* skipping the warehouse */
		{PI, AS}, /* at the station without leaving */
		{PA, PI}, /* back to picked */
		{DW, CA}, /* too late to cancel: on the truck */
		{AS, CA}, {OD, CA},
		{DE, FA}, /* delivered is final */
		{DE, RW}, {RT, OD}, {CA, PI}, {CA, A},
		{FA, DE}, /* a failed attempt is not delivered without going out again */
		{RS, DE}, {RW, AS}, {AS, DW}, {A, OD},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(wh_shipment_next(cases[i].from, cases[i].event, NULL),
				 WH_SHIPMENT_ILLEGAL);
	assert_true(wh_shipment_final(DE) && wh_shipment_final(RT) && wh_shipment_final(CA));
	assert_false(wh_shipment_final(FA) || wh_shipment_final(A) || wh_shipment_final(RS));
}

static void
shipment_rescan_is_idempotent(void **state)
{
	(void)state;
	for (int s = 0; s < WH_SHIPMENT_STATE_COUNT; s++) {
		enum wh_shipment_state to = WH_SHIPMENT_STATE_COUNT;
		assert_int_equal(wh_shipment_next((enum wh_shipment_state)s,
						  (enum wh_shipment_state)s, &to),
				 WH_SHIPMENT_SAME);
		assert_int_equal(to, s);
	}
	assert_int_equal(wh_shipment_next(WH_SHIPMENT_STATE_COUNT, PI, NULL), WH_SHIPMENT_INVALID);
	assert_int_equal(wh_shipment_next(A, (enum wh_shipment_state)-1, NULL),
			 WH_SHIPMENT_INVALID);
}

static void
shipment_who_scans_what(void **state)
{
	static const struct {
		enum wh_shipment_state event;
		bool admin, warehouse, station;
	} cases[] = {
		{PI, true, true, false},   {PA, true, true, false},   {DW, true, true, false},
		{AS, true, false, true},   {A, false, false, false},  {OD, false, false, false},
		{DE, false, false, false}, {FA, false, false, false}, {RS, false, false, false},
		{RW, false, false, false}, {RT, false, false, false}, {CA, false, false, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(wh_shipment_scan_allowed(WH_SHIPMENT_BY_ADMIN, cases[i].event),
				 cases[i].admin);
		assert_int_equal(wh_shipment_scan_allowed(WH_SHIPMENT_BY_WAREHOUSE, cases[i].event),
				 cases[i].warehouse);
		assert_int_equal(wh_shipment_scan_allowed(WH_SHIPMENT_BY_STATION, cases[i].event),
				 cases[i].station);
	}
}

/* A parcel collected at a pickup point is delivered from where it waited:
 * out for delivery (a courier-served point) or at the station (its shelf). */
static void
shipment_collected_at_point(void **state)
{
	(void)state;
	for (int f = 0; f < WH_SHIPMENT_STATE_COUNT; f++) {
		enum wh_shipment_state to = CA;
		enum wh_shipment_step st = wh_shipment_collected_at_point(f, &to);
		if (f == AS || f == OD) {
			assert_int_equal(st, WH_SHIPMENT_MOVED);
			assert_int_equal(to, DE);
		} else if (f == DE) {
			assert_int_equal(st, WH_SHIPMENT_SAME);
			assert_int_equal(to, DE);
		} else {
			assert_int_equal(st, WH_SHIPMENT_ILLEGAL);
			assert_int_equal(to, CA); /* untouched */
		}
	}
	assert_int_equal(wh_shipment_collected_at_point(WH_SHIPMENT_STATE_COUNT, NULL),
			 WH_SHIPMENT_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipment_names_round_trip),
		cmocka_unit_test(shipment_every_legal_transition),
		cmocka_unit_test(shipment_everything_else_is_illegal),
		cmocka_unit_test(shipment_named_illegal_cases),
		cmocka_unit_test(shipment_rescan_is_idempotent),
		cmocka_unit_test(shipment_who_scans_what),
		cmocka_unit_test(shipment_collected_at_point),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
