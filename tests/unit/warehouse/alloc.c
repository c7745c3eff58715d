/* Unit tests for warehouse/alloc.c: territory, single-warehouse preference,
 * promise before cost, ties, partial stock, splits, empty network, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "warehouse/alloc.h"

#define CHAOYANG 110105u
#define HAIDIAN 110108u
#define TONGZHOU 110112u
#define SAME_DAY 1000
#define NEXT_DAY 2000

static const uint32_t alloc_cy[] = {CHAOYANG};
static const uint32_t alloc_hd[] = {HAIDIAN};

static struct wh_alloc_warehouse
alloc_rdc(const char *id, const struct wh_stock_level *stock, size_t n, int64_t dist_m,
	  int64_t promise)
{
	struct wh_alloc_warehouse w = {id, WH_ALLOC_REGIONAL, "north", NULL, 0, stock, n,
				       dist_m, promise};
	return w;
}

static struct wh_alloc_warehouse
alloc_fdc(const char *id, const uint32_t *d, const struct wh_stock_level *stock, size_t n,
	  int64_t dist_m, int64_t promise)
{
	struct wh_alloc_warehouse w = {id, WH_ALLOC_FRONT, "north", d, 1, stock, n, dist_m,
				       promise};
	return w;
}

static const struct wh_alloc_line alloc_lines2[] = {
	{"SKU-A", 2, 500, false},
	{"SKU-B", 1, 1500, false},
};
static const struct wh_alloc_order alloc_cy_order = {alloc_lines2, 2, "north", CHAOYANG};

static const struct wh_stock_level alloc_ab[] = {{"SKU-A", 10}, {"SKU-B", 3}};
static const struct wh_stock_level alloc_a[] = {{"SKU-A", 10}, {"SKU-B", 0}};
static const struct wh_stock_level alloc_b[] = {{"SKU-B", 5}};

static struct wh_alloc_cost
alloc_cost(void)
{
	struct wh_alloc_cost c;
	wh_alloc_cost_defaults(&c);
	return c;
}

static void
alloc_single_nearest(void **state)
{
	struct wh_alloc_warehouse c[2];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	c[0] = alloc_rdc("bj-rdc-01", alloc_ab, 2, 35000, SAME_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_ab, 2, 8000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 2, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 1);
	assert_int_equal(r.shipments[0].warehouse, 1);
	assert_int_equal(r.shipments[0].n_lines, 2);
	assert_int_equal(r.shipments[0].weight_g, 2500);
	/* 4.000 + 8 km x 2.5 kg x 20.000/t.km = 4.000 + 0.400 */
	assert_int_equal(r.shipments[0].cost_milli, 4400);
	assert_int_equal(r.cost_milli, 4400);
	assert_int_equal(r.lines[0].shipment, 0);
	assert_int_equal(r.lines[1].status, WH_ALLOC_LINE_OK);
}

static void
alloc_promise_before_cost(void **state)
{
	struct wh_alloc_warehouse c[2];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	/* The FDC is past its cut-off (next day); the far RDC still makes the same day. */
	c[0] = alloc_rdc("bj-rdc-01", alloc_ab, 2, 35000, SAME_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_ab, 2, 8000, NEXT_DAY);
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 2, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 1);
	assert_int_equal(r.shipments[0].warehouse, 0);
	assert_int_equal(r.promise_s, SAME_DAY);
	/* A warehouse that cannot promise at all ranks last but still ships. */
	c[0].promise_s = WH_ALLOC_PROMISE_NONE;
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 2, &cost, &r, &err), WH_OK);
	assert_int_equal(r.shipments[0].warehouse, 1);
}

static void
alloc_ties_by_id(void **state)
{
	static const uint32_t both[] = {CHAOYANG};
	struct wh_alloc_warehouse c[3];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	c[0] = alloc_fdc("bj-fdc-09", both, alloc_ab, 2, 8000, SAME_DAY);
	c[1] = alloc_fdc("bj-fdc-03", both, alloc_ab, 2, 8000, SAME_DAY);
	c[2] = alloc_fdc("bj-fdc-05", both, alloc_ab, 2, 8000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 3, &cost, &r, &err), WH_OK);
	assert_int_equal(r.shipments[0].warehouse, 1);
	/* Same answer whatever the input order. */
	struct wh_alloc_warehouse t = c[0];
	c[0] = c[1];
	c[1] = c[2];
	c[2] = t;
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 3, &cost, &r, &err), WH_OK);
	assert_string_equal(c[r.shipments[0].warehouse].id, "bj-fdc-03");
}

static void
alloc_partial_stock_prefers_single(void **state)
{
	struct wh_alloc_warehouse c[2];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	/* The FDC has only A: one RDC shipment beats FDC + RDC even if the FDC is faster. */
	c[0] = alloc_rdc("bj-rdc-01", alloc_ab, 2, 35000, NEXT_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_a, 2, 8000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 2, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 1);
	assert_int_equal(r.shipments[0].warehouse, 0);
	assert_int_equal(r.promise_s, NEXT_DAY);
}

static void
alloc_split(void **state)
{
	struct wh_alloc_warehouse c[3];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	/* Nobody holds both: A from the FDC (nearer than the RDC), B from the only holder. */
	c[0] = alloc_rdc("bj-rdc-01", alloc_a, 2, 35000, SAME_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_a, 2, 8000, SAME_DAY);
	c[2] = alloc_fdc("bj-fdc-02", alloc_cy, alloc_b, 1, 12000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 3, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 2);
	assert_int_equal(r.shipments[0].warehouse, 1); /* ordered by id */
	assert_int_equal(r.shipments[1].warehouse, 2);
	assert_int_equal(r.lines[0].shipment, 0);
	assert_int_equal(r.lines[1].shipment, 1);
	assert_int_equal(r.cost_milli, r.shipments[0].cost_milli + r.shipments[1].cost_milli);
	/* Promise beats cost in a split too: a slow FDC-01 makes the RDC take line A. */
	c[1].promise_s = NEXT_DAY;
	assert_int_equal(wh_alloc_run(&alloc_cy_order, c, 3, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 2);
	assert_int_equal(r.shipments[0].warehouse, 2); /* "bj-fdc-02" < "bj-rdc-01" */
	assert_int_equal(r.shipments[1].warehouse, 0);
	assert_int_equal(r.lines[0].shipment, 1);
	assert_int_equal(r.promise_s, SAME_DAY);
}

static void
alloc_split_fewest_shipments(void **state)
{
	static const struct wh_alloc_line lines[] = {
		{"L1", 1, 100, false}, {"L2", 1, 100, false}, {"L3", 1, 100, false}};
	static const struct wh_alloc_order order = {lines, 3, "north", CHAOYANG};
	static const struct wh_stock_level s1[] = {{"L1", 1}}, s2[] = {{"L2", 1}},
					   s3[] = {{"L3", 1}}, s23[] = {{"L2", 1}, {"L3", 1}};
	struct wh_alloc_warehouse c[4];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	/* The three near single-SKU centres would be cheaper per kg, but 2 shipments win. */
	c[0] = alloc_fdc("a", alloc_cy, s1, 1, 1000, SAME_DAY);
	c[1] = alloc_fdc("b", alloc_cy, s2, 1, 1000, SAME_DAY);
	c[2] = alloc_fdc("c", alloc_cy, s3, 1, 1000, SAME_DAY);
	c[3] = alloc_rdc("d", s23, 2, 90000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&order, c, 4, &cost, &r, &err), WH_OK);
	assert_int_equal(r.n_shipments, 2);
	assert_int_equal(r.shipments[0].warehouse, 0);
	assert_int_equal(r.shipments[1].warehouse, 3);
	assert_int_equal(r.shipments[1].n_lines, 2);
}

static void
alloc_no_stock(void **state)
{
	static const struct wh_alloc_line lines[] = {{"SKU-A", 20, 500, false},
						     {"SKU-B", 1, 100, false}};
	static const struct wh_alloc_order order = {lines, 2, "north", CHAOYANG};
	struct wh_alloc_warehouse c[2];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	c[0] = alloc_rdc("bj-rdc-01", alloc_ab, 2, 35000, SAME_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_a, 2, 8000, SAME_DAY);
	assert_int_equal(wh_alloc_run(&order, c, 2, &cost, &r, &err), WH_E_NO_STOCK);
	assert_int_equal(r.n_shipments, 0);
	assert_int_equal(r.lines[0].status, WH_ALLOC_LINE_NO_STOCK);
	assert_int_equal(r.lines[0].best_available, 10);
	assert_int_equal(r.lines[0].shipment, -1);
	assert_int_equal(r.lines[1].status, WH_ALLOC_LINE_UNASSIGNED);
	assert_non_null(strstr(err.msg, "SKU-A"));
}

static void
alloc_empty_network(void **state)
{
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	assert_int_equal(wh_alloc_run(&alloc_cy_order, NULL, 0, &cost, &r, &err),
			 WH_E_NO_STOCK);
	assert_int_equal(r.n_lines, 2);
	assert_int_equal(r.lines[0].status, WH_ALLOC_LINE_NOT_SERVED);
	assert_int_equal(r.lines[1].status, WH_ALLOC_LINE_NOT_SERVED);
}

static void
alloc_territory(void **state)
{
	static const struct wh_alloc_order haidian = {alloc_lines2, 2, "north", HAIDIAN};
	static const struct wh_alloc_order tongzhou = {alloc_lines2, 2, "north", TONGZHOU};
	static const struct wh_alloc_order shanghai = {alloc_lines2, 2, "east", 310101u};
	struct wh_alloc_warehouse c[3];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	c[0] = alloc_rdc("bj-rdc-01", alloc_ab, 2, 35000, NEXT_DAY);
	c[1] = alloc_fdc("bj-fdc-01", alloc_cy, alloc_ab, 2, 1000, SAME_DAY);
	c[2] = alloc_fdc("bj-fdc-02", alloc_hd, alloc_ab, 2, 9000, SAME_DAY);
	assert_true(wh_alloc_serves(&c[1], &alloc_cy_order));
	assert_false(wh_alloc_serves(&c[1], &haidian));
	assert_int_equal(wh_alloc_run(&haidian, c, 3, &cost, &r, &err), WH_OK);
	assert_int_equal(r.shipments[0].warehouse, 2);
	/* Tongzhou: no front centre for it here, the RDC serves the whole region. */
	assert_int_equal(wh_alloc_run(&tongzhou, c, 3, &cost, &r, &err), WH_OK);
	assert_int_equal(r.shipments[0].warehouse, 0);
	/* Another region: nobody serves it. */
	assert_int_equal(wh_alloc_run(&shanghai, c, 3, &cost, &r, &err), WH_E_NO_STOCK);
	assert_int_equal(r.lines[0].status, WH_ALLOC_LINE_NOT_SERVED);
	/* A Chaoyang FDC without B and no RDC: B is out of stock, not unserved. */
	c[1].stock = alloc_a;
	assert_int_equal(wh_alloc_run(&alloc_cy_order, &c[1], 1, &cost, &r, &err),
			 WH_E_NO_STOCK);
	assert_int_equal(r.lines[1].status, WH_ALLOC_LINE_NO_STOCK);
	assert_int_equal(r.lines[0].status, WH_ALLOC_LINE_UNASSIGNED);
}

static void
alloc_invalid_and_limits(void **state)
{
	static const struct wh_alloc_line dup[] = {{"X", 1, 1, false}, {"X", 2, 1, false}};
	static const struct wh_alloc_line zero[] = {{"X", 0, 1, false}};
	static const struct wh_alloc_line one[] = {{"X", 1, 1, false}};
	static const struct wh_stock_level sx[] = {{"X", 5}};
	struct wh_alloc_line many[WH_ALLOC_MAX_LINES + 1];
	struct wh_alloc_order o = {dup, 2, "north", CHAOYANG};
	struct wh_alloc_warehouse c[WH_ALLOC_MAX_SEARCH + 1];
	char ids[WH_ALLOC_MAX_SEARCH + 1][8];
	struct wh_alloc_cost cost = alloc_cost();
	struct wh_alloc_result r;
	struct wh_err err;
	(void)state;
	assert_int_equal(wh_alloc_run(&o, NULL, 0, &cost, &r, &err), WH_E_INVAL);
	o.lines = zero;
	o.n_lines = 1;
	assert_int_equal(wh_alloc_run(&o, NULL, 0, &cost, &r, &err), WH_E_INVAL);
	o.n_lines = 0;
	assert_int_equal(wh_alloc_run(&o, NULL, 0, &cost, &r, &err), WH_E_INVAL);
	for (size_t i = 0; i < WH_ALLOC_MAX_LINES + 1; i++)
		many[i] = one[0];
	o.lines = many;
	o.n_lines = WH_ALLOC_MAX_LINES + 1;
	assert_int_equal(wh_alloc_run(&o, NULL, 0, &cost, &r, &err), WH_E_LIMIT);
	o.lines = one;
	o.n_lines = 1;
	for (size_t i = 0; i < WH_ALLOC_MAX_SEARCH + 1; i++) {
		snprintf(ids[i], sizeof ids[i], "w%zu", i);
		c[i] = alloc_fdc(ids[i], alloc_cy, sx, 1, 1000, SAME_DAY);
	}
	assert_int_equal(wh_alloc_run(&o, c, WH_ALLOC_MAX_SEARCH, &cost, &r, &err), WH_OK);
	assert_int_equal(wh_alloc_run(&o, c, WH_ALLOC_MAX_SEARCH + 1, &cost, &r, &err),
			 WH_E_LIMIT);
	/* Out-of-territory centres don't count towards the bound. */
	c[0].districts = alloc_hd;
	assert_int_equal(wh_alloc_run(&o, c, WH_ALLOC_MAX_SEARCH + 1, &cost, &r, &err), WH_OK);
	c[1].id = "w0";
	assert_int_equal(wh_alloc_run(&o, c, 2, &cost, &r, &err), WH_E_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alloc_single_nearest),
		cmocka_unit_test(alloc_promise_before_cost),
		cmocka_unit_test(alloc_ties_by_id),
		cmocka_unit_test(alloc_partial_stock_prefers_single),
		cmocka_unit_test(alloc_split),
		cmocka_unit_test(alloc_split_fewest_shipments),
		cmocka_unit_test(alloc_no_stock),
		cmocka_unit_test(alloc_empty_network),
		cmocka_unit_test(alloc_territory),
		cmocka_unit_test(alloc_invalid_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
