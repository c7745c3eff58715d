/* Solomon instance reader: a whitespace tokenizer over a caller's buffer and
 * the builder of the matching struct rt_vrp_problem. Owns the instance it
 * returns; never touches files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "routing/vrp/solomon.h"

struct rt_vrp_solomon_lex {
	const char *p, *end;
	int line;
	char tok[64];
};

/* Next token into lx->tok; 0 at end of input. Tokens longer than the buffer
 * are truncated, which then fails the number or keyword check. */
static int
rt_vrp_solomon_next(struct rt_vrp_solomon_lex *lx)
{
	size_t n = 0;

	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
				   *lx->p == '\n' || *lx->p == '\f' || *lx->p == '\v')) {
		if (*lx->p == '\n')
			lx->line++;
		lx->p++;
	}
	if (lx->p >= lx->end)
		return 0;
	while (lx->p < lx->end && !(*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
				    *lx->p == '\n' || *lx->p == '\f' || *lx->p == '\v')) {
		if (n + 1 < sizeof lx->tok)
			lx->tok[n++] = *lx->p;
		lx->p++;
	}
	lx->tok[n] = '\0';
	return 1;
}

static int
rt_vrp_solomon_number(const char *tok, double *out)
{
	char *endp;
	double v = strtod(tok, &endp);

	if (endp == tok || *endp != '\0' || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

static enum rt_status
rt_vrp_solomon_expect(struct rt_vrp_solomon_lex *lx, const char *word, struct rt_err *err)
{
	if (!rt_vrp_solomon_next(lx))
		return rt_err_set(err, RT_E_PARSE, "line %d: expected '%s', got end of input",
				  lx->line, word);
	if (strcasecmp(lx->tok, word) != 0)
		return rt_err_set(err, RT_E_PARSE, "line %d: expected '%s', got '%s'", lx->line,
				  word, lx->tok);
	return RT_OK;
}

static enum rt_status
rt_vrp_solomon_header(struct rt_vrp_solomon_lex *lx, struct rt_vrp_solomon *inst,
		      struct rt_err *err)
{
	double k, q;
	enum rt_status st;

	if (!rt_vrp_solomon_next(lx))
		return rt_err_set(err, RT_E_PARSE, "empty input: expected an instance name");
	memcpy(inst->name, lx->tok, sizeof inst->name);
	inst->name[sizeof inst->name - 1] = '\0';
	if ((st = rt_vrp_solomon_expect(lx, "VEHICLE", err)) != RT_OK ||
	    (st = rt_vrp_solomon_expect(lx, "NUMBER", err)) != RT_OK ||
	    (st = rt_vrp_solomon_expect(lx, "CAPACITY", err)) != RT_OK)
		return st;
	if (!rt_vrp_solomon_next(lx) || !rt_vrp_solomon_number(lx->tok, &k) ||
	    !rt_vrp_solomon_next(lx) || !rt_vrp_solomon_number(lx->tok, &q))
		return rt_err_set(err, RT_E_PARSE, "line %d: expected vehicle number and capacity",
				  lx->line);
	if (k < 1 || k > RT_VRP_SOLOMON_MAX_CUSTOMERS || k != floor(k) || q < 0)
		return rt_err_set(err, RT_E_INVAL, "line %d: bad fleet size %g or capacity %g",
				  lx->line, k, q);
	inst->fleet = (size_t)k;
	inst->capacity = q;
	if ((st = rt_vrp_solomon_expect(lx, "CUSTOMER", err)) != RT_OK)
		return st;
	return RT_OK;
}

/* Read the customer table: rows of 7 numbers, ids 0, 1, 2, ... in order.
 * rows is grown as needed; *n_rows counts rows including the depot. */
static enum rt_status
rt_vrp_solomon_rows(struct rt_vrp_solomon_lex *lx, double **rows, size_t *n_rows,
		    struct rt_err *err)
{
	size_t cap = 0, n = 0;
	int have = rt_vrp_solomon_next(lx);
	double v;

	/* skip the column titles: everything up to the first number */
	while (have && !rt_vrp_solomon_number(lx->tok, &v))
		have = rt_vrp_solomon_next(lx);
	while (have) {
		double *row;
		int line = lx->line;
		if (n >= (size_t)RT_VRP_SOLOMON_MAX_CUSTOMERS + 1)
			return rt_err_set(err, RT_E_INVAL, "more than %d customers",
					  RT_VRP_SOLOMON_MAX_CUSTOMERS);
		if (n == cap) {
			cap = cap ? 2 * cap : 128;
			row = realloc(*rows, cap * 7 * sizeof *row);
			if (row == NULL)
				return rt_err_set(err, RT_E_NOMEM, "out of memory");
			*rows = row;
		}
		row = *rows + n * 7;
		for (int f = 0; f < 7; f++) {
			if (f > 0 && !(have = rt_vrp_solomon_next(lx)))
				return rt_err_set(
				    err, RT_E_PARSE,
				    "line %d: customer row truncated (%d of 7 fields)", line, f);
			if (!rt_vrp_solomon_number(lx->tok, &row[f]))
				return rt_err_set(err, RT_E_PARSE,
						  "line %d: expected a number, got '%s'", lx->line,
						  lx->tok);
		}
		if (row[0] != (double)n)
			return rt_err_set(err, RT_E_PARSE,
					  "line %d: customer number %g out of order (expected %zu)",
					  line, row[0], n);
		if (row[3] < 0 || row[6] < 0 || row[4] > row[5] || row[4] < 0)
			return rt_err_set(err, RT_E_INVAL,
					  "line %d: customer %zu has a negative demand or service, "
					  "or an unordered window",
					  line, n);
		n++;
		have = rt_vrp_solomon_next(lx);
	}
	if (n < 2)
		return rt_err_set(err, RT_E_PARSE,
				  "line %d: need the depot and at least one customer", lx->line);
	*n_rows = n;
	return RT_OK;
}

static enum rt_status
rt_vrp_solomon_build(struct rt_vrp_solomon *inst, const double *rows, size_t n_rows,
		     struct rt_err *err)
{
	size_t n = n_rows - 1; /* n_rows >= 2, checked by the row reader */

	if (n_rows < 2)
		return rt_err_set(err, RT_E_PARSE, "no customers");
	inst->n_customers = n;
	inst->xy = malloc(2 * n_rows * sizeof *inst->xy);
	inst->dist = malloc(n_rows * n_rows * sizeof *inst->dist);
	inst->time = malloc(n_rows * n_rows * sizeof *inst->time);
	inst->stops = calloc(n, sizeof *inst->stops);
	inst->vehicles = calloc(inst->fleet, sizeof *inst->vehicles);
	if (!inst->xy || !inst->dist || !inst->time || !inst->stops || !inst->vehicles)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n_rows; i++) {
		inst->xy[2 * i] = rows[i * 7 + 1];
		inst->xy[2 * i + 1] = rows[i * 7 + 2];
	}
	rt_vrp_problem_matrix_euclidean(inst->xy, n_rows, 1.0, inst->dist, inst->time);
	for (size_t i = 0; i < n; i++) {
		const double *r = rows + (i + 1) * 7;
		struct rt_vrp_stop *s = &inst->stops[i];
		s->loc = (uint32_t)(i + 1);
		s->delivery[0] = r[3];
		s->tw_open_s = r[4];
		s->tw_close_s = r[5];
		s->service_s = r[6];
	}
	for (size_t v = 0; v < inst->fleet; v++) {
		struct rt_vrp_vehicle *veh = &inst->vehicles[v];
		veh->capacity[0] = inst->capacity;
		veh->shift_start_s = rows[4];
		veh->shift_end_s = rows[5];
	}
	inst->matrix.dist_m = inst->dist;
	inst->matrix.time_s = inst->time;
	inst->problem.n_locs = n_rows;
	inst->problem.n_stops = n;
	inst->problem.n_vehicles = inst->fleet;
	inst->problem.n_profiles = 1;
	inst->problem.stops = inst->stops;
	inst->problem.vehicles = inst->vehicles;
	inst->problem.matrices = &inst->matrix;
	return RT_OK;
}

struct rt_vrp_solomon *
rt_vrp_solomon_parse(const char *buf, size_t len, struct rt_err *err)
{
	struct rt_vrp_solomon_lex lx = {.p = buf, .end = buf + len, .line = 1};
	struct rt_vrp_solomon *inst;
	double *rows = NULL;
	size_t n_rows = 0;

	if (buf == NULL && len > 0) {
		rt_err_set(err, RT_E_INVAL, "NULL buffer");
		return NULL;
	}
	inst = calloc(1, sizeof *inst);
	if (inst == NULL) {
		rt_err_set(err, RT_E_NOMEM, "out of memory");
		return NULL;
	}
	if (rt_vrp_solomon_header(&lx, inst, err) != RT_OK ||
	    rt_vrp_solomon_rows(&lx, &rows, &n_rows, err) != RT_OK ||
	    rt_vrp_solomon_build(inst, rows, n_rows, err) != RT_OK) {
		free(rows);
		rt_vrp_solomon_free(inst);
		return NULL;
	}
	free(rows);
	return inst;
}

void
rt_vrp_solomon_free(struct rt_vrp_solomon *inst)
{
	if (inst == NULL)
		return;
	free(inst->xy);
	free(inst->dist);
	free(inst->time);
	free(inst->stops);
	free(inst->vehicles);
	free(inst);
}
