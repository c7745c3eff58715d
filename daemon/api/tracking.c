/* The tracking resource: GET /v1/orders/{id}/tracking (order_service,
 * admin: the full view, with the recipient and the stop's PIN) and the
 * public GET /v1/track/{code} (no token: the masked view of a tracking
 * code). Both documents are data/sql/order_tracking_doc.sql's, the one
 * place that decides what each view shows; this file only checks the path
 * and picks the view. There is deliberately no write route under
 * /v1/track: a tracking code can never cancel or change an order. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "daemon/api/order_body.h"
#include "daemon/api/tables.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"

static void
dm_api_tracking_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such order");
}

static void
dm_api_tracking_order(struct dm_req *r)
{
	const char *id = r->params[0];
	if (!dm_order_body_valid_id(id)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	const char *params[] = {id};
	(void)dm_req_pg_query(r, "SELECT order_tracking_doc($1, false)", 1, params,
			      DM_REQ_PG_READ, dm_api_tracking_done);
}

static void
dm_api_tracking_code_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such tracking code");
}

/* Codes are printed upper-case; one typed in lower case is the same code. */
static void
dm_api_tracking_code(struct dm_req *r)
{
	char code[DM_ORDER_BODY_TRACKING_LEN];
	size_t n = strlen(r->params[0]);
	if (n >= sizeof code) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such tracking code", NULL);
		return;
	}
	for (size_t i = 0; i <= n; i++)
		code[i] = (char)toupper((unsigned char)r->params[0][i]);
	if (!dm_order_body_valid_tracking_code(code)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such tracking code", NULL);
		return;
	}
	const char *params[] = {code};
	(void)dm_req_pg_query(r,
			      "SELECT order_tracking_doc(o.id, true) FROM orders o "
			      "WHERE o.tracking_code = $1",
			      1, params, DM_REQ_PG_READ, dm_api_tracking_code_done);
}

static const struct dm_route dm_api_tracking_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/tracking",
	 .handler = dm_api_tracking_order,
	 .body_limit = 1,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/track/{code}",
	 .handler = dm_api_tracking_code,
	 .body_limit = 1,
	 .roles = DM_ROLES_PUBLIC},
};

const struct dm_route_table dm_api_tracking_table = {
	dm_api_tracking_routes, sizeof dm_api_tracking_routes / sizeof dm_api_tracking_routes[0]};
