/* dispatchctl seed: load a catalogue folder (skus.csv and stock.csv, see
 * data/catalogue/README.md) into PostgreSQL, in ONE transaction: a bad line
 * or a failed statement loads nothing.
 *
 * Idempotent: SKUs are inserted or brought up to date; stock rows are only
 * inserted where missing, so re-running never touches live stock (on-hand
 * counts and reservations belong to intake and the stock API from then on).
 * Every warehouse of stock.csv must already exist as an area (dispatchctl
 * areas import ... --kind warehouse). It owns the CSV reading and the
 * command line; the schema is data/migrations/003_orders.sql.
 *
 *   dispatchctl seed --catalogue DIR [-c FILE] [--dsn DSN]
 */
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/ctl.h"

#define CTL_SEED_MAX_FIELDS 16
#define CTL_SEED_MAX_LINE 4096

static const char *const ctl_seed_sku_cols[] = {
	"sku", "name", "category", "weight_kg", "volume_l", "large_item", "installable",
	"price_cny", "velocity"};
static const char *const ctl_seed_stock_cols[] = {"warehouse_id", "sku", "on_hand"};

/* One open CSV file: the current line split in place into fields. */
struct ctl_seed_csv {
	FILE *f;
	char path[2048];
	int line_no;
	char line[CTL_SEED_MAX_LINE];
	char *fields[CTL_SEED_MAX_FIELDS];
	int nfields;
};

static void
ctl_seed_usage(FILE *out)
{
	fprintf(out, "usage: dispatchctl seed --catalogue DIR [-c FILE] [--dsn DSN]\n");
}

/* Read the next record (no quoting: the generated files never need it).
 * Returns 1 with fields set, 0 at the end, -1 on a bad line (printed). */
static int
ctl_seed_csv_next(struct ctl_seed_csv *c)
{
	if (fgets(c->line, sizeof c->line, c->f) == NULL) {
		if (ferror(c->f)) {
			fprintf(stderr, "dispatchctl: cannot read %s: %s\n", c->path, strerror(errno));
			return -1;
		}
		return 0;
	}
	c->line_no++;
	size_t len = strlen(c->line);
	if (len == sizeof c->line - 1 && c->line[len - 1] != '\n') {
		fprintf(stderr, "dispatchctl: %s line %d: longer than %d bytes\n", c->path, c->line_no,
			CTL_SEED_MAX_LINE - 2);
		return -1;
	}
	while (len > 0 && (c->line[len - 1] == '\n' || c->line[len - 1] == '\r'))
		c->line[--len] = '\0';
	if (strchr(c->line, '"') != NULL) {
		fprintf(stderr, "dispatchctl: %s line %d: quoted fields are not supported\n", c->path,
			c->line_no);
		return -1;
	}
	c->nfields = 0;
	char *p = c->line;
	for (;;) {
		if (c->nfields == CTL_SEED_MAX_FIELDS) {
			fprintf(stderr, "dispatchctl: %s line %d: too many fields\n", c->path,
				c->line_no);
			return -1;
		}
		c->fields[c->nfields++] = p;
		char *comma = strchr(p, ',');
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	return 1;
}

/* Open dir/name and check its header is exactly cols. */
static int
ctl_seed_csv_open(struct ctl_seed_csv *c, const char *dir, const char *name,
		  const char *const *cols, int ncols)
{
	memset(c, 0, sizeof *c);
	if ((size_t)snprintf(c->path, sizeof c->path, "%s/%s", dir, name) >= sizeof c->path) {
		fprintf(stderr, "dispatchctl: path too long: %s/%s\n", dir, name);
		return -1;
	}
	c->f = fopen(c->path, "r");
	if (c->f == NULL) {
		fprintf(stderr, "dispatchctl: cannot open %s: %s\n", c->path, strerror(errno));
		return -1;
	}
	int rc = ctl_seed_csv_next(c);
	if (rc <= 0 || c->nfields != ncols)
		goto bad;
	for (int i = 0; i < ncols; i++)
		if (strcmp(c->fields[i], cols[i]) != 0)
			goto bad;
	return 0;
bad:
	if (rc >= 0)
		fprintf(stderr, "dispatchctl: %s: the header must be %s,...,%s (%d columns)\n", c->path,
			cols[0], cols[ncols - 1], ncols);
	fclose(c->f);
	c->f = NULL;
	return -1;
}

/* A decimal in [0, max] scaled by 1000 and rounded, as text into out. */
static bool
ctl_seed_milli(const char *s, double max, char *out, size_t cap)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= 0 && v <= max))
		return false;
	snprintf(out, cap, "%.0f", round(v * 1000.0));
	return true;
}

static bool
ctl_seed_int(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && errno == 0 && v >= min && v <= max;
}

static bool
ctl_seed_flag(const char *s)
{
	return strcmp(s, "0") == 0 || strcmp(s, "1") == 0;
}

/* Run a statement; print the server's message and return -1 unless it worked.
 * *affected receives the row count when not NULL. */
static int
ctl_seed_exec(PGconn *conn, const char *what, const char *sql, int n, const char *const *params,
	      long *affected)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "dispatchctl: %s failed: %s", what, PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	if (affected != NULL)
		*affected += atol(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

static int
ctl_seed_skus(PGconn *conn, const char *dir, long *added, long *changed, long *total)
{
	struct ctl_seed_csv c;
	char weight[32], volume[32], price[32];
	long before = 0;
	int rc;
	if (ctl_seed_csv_open(&c, dir, "skus.csv", ctl_seed_sku_cols, 9) != 0)
		return -1;
	if (ctl_seed_exec(conn, "counting skus", "SELECT 1 FROM skus", 0, NULL, &before) != 0)
		goto fail;
	while ((rc = ctl_seed_csv_next(&c)) == 1) {
		char **f = c.fields;
		if (c.nfields != 9 || !ctl_seed_milli(f[3], 1e5, weight, sizeof weight) ||
		    !ctl_seed_milli(f[4], 1e6, volume, sizeof volume) || !ctl_seed_flag(f[5]) ||
		    !ctl_seed_flag(f[6]) || !ctl_seed_milli(f[7], 1e9, price, sizeof price) ||
		    f[1][0] == '\0' || f[2][0] == '\0') {
			fprintf(stderr, "dispatchctl: %s line %d: expected %d fields: sku, name, "
					"category, weight_kg, volume_l, large_item (0/1), "
					"installable (0/1), price_cny, velocity\n",
				c.path, c.line_no, 9);
			goto fail;
		}
		const char *p[] = {f[0], f[1], f[2], weight, volume, f[5], f[6], price};
		char what[2100];
		snprintf(what, sizeof what, "%s line %d", c.path, c.line_no);
		if (ctl_seed_exec(conn, what,
				  "INSERT INTO skus AS s (sku, name, category, weight_g, volume_ml, "
				  "large, installable, price_milli) "
				  "VALUES ($1, $2, $3, $4, $5, $6::int::boolean, $7::int::boolean, $8) "
				  "ON CONFLICT (sku) DO UPDATE SET name = excluded.name, "
				  "category = excluded.category, weight_g = excluded.weight_g, "
				  "volume_ml = excluded.volume_ml, large = excluded.large, "
				  "installable = excluded.installable, price_milli = excluded.price_milli "
				  "WHERE (s.name, s.category, s.weight_g, s.volume_ml, s.large, "
				  "s.installable, s.price_milli) IS DISTINCT FROM (excluded.name, "
				  "excluded.category, excluded.weight_g, excluded.volume_ml, "
				  "excluded.large, excluded.installable, excluded.price_milli)",
				  8, p, changed) != 0)
			goto fail;
		(*total)++;
	}
	if (rc < 0)
		goto fail;
	fclose(c.f);
	long after = 0;
	if (ctl_seed_exec(conn, "counting skus", "SELECT 1 FROM skus", 0, NULL, &after) != 0)
		return -1;
	*added = after - before;
	*changed -= *added;
	return 0;
fail:
	fclose(c.f);
	return -1;
}

static int
ctl_seed_stock(PGconn *conn, const char *dir, long *added, long *total)
{
	struct ctl_seed_csv c;
	int rc;
	if (ctl_seed_csv_open(&c, dir, "stock.csv", ctl_seed_stock_cols, 3) != 0)
		return -1;
	while ((rc = ctl_seed_csv_next(&c)) == 1) {
		char **f = c.fields;
		char what[2100];
		long known = 0;
		if (c.nfields != 3 || f[0][0] == '\0' || !ctl_seed_int(f[2], 0, 1000000000)) {
			fprintf(stderr, "dispatchctl: %s line %d: expected warehouse_id, sku, "
					"on_hand (0..1000000000)\n",
				c.path, c.line_no);
			goto fail;
		}
		snprintf(what, sizeof what, "%s line %d", c.path, c.line_no);
		const char *pw[] = {f[0]};
		if (ctl_seed_exec(conn, what, "SELECT 1 FROM warehouses WHERE id = $1", 1, pw,
				  &known) != 0)
			goto fail;
		if (known == 0) {
			fprintf(stderr, "dispatchctl: %s line %d: no warehouse '%s': import the "
					"warehouse areas first (dispatchctl areas import FILE "
					"--kind warehouse)\n",
				c.path, c.line_no, f[0]);
			goto fail;
		}
		const char *p[] = {f[0], f[1], f[2]};
		if (ctl_seed_exec(conn, what,
				  "INSERT INTO stock (warehouse_id, sku, on_hand, reserved, available) "
				  "VALUES ($1, $2, $3, 0, $3) ON CONFLICT DO NOTHING",
				  3, p, added) != 0)
			goto fail;
		(*total)++;
	}
	if (rc < 0)
		goto fail;
	fclose(c.f);
	return 0;
fail:
	fclose(c.f);
	return -1;
}

/* Split out --catalogue DIR; the rest goes to ctl_settings. */
static int
ctl_seed_args(int argc, char **argv, const char **catalogue, char **rest, int *nrest)
{
	*nrest = 0;
	rest[(*nrest)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--catalogue") == 0 && i + 1 < argc)
			*catalogue = argv[++i];
		else if (strncmp(argv[i], "--catalogue=", 12) == 0)
			*catalogue = argv[i] + 12;
		else
			rest[(*nrest)++] = argv[i];
	}
	rest[*nrest] = NULL;
	return *catalogue != NULL ? 0 : -1;
}

int
ctl_seed_main(int argc, char **argv)
{
	struct ctl_settings set;
	const char *catalogue = NULL;
	int next, nrest;
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	if (rest == NULL)
		return 1;
	if (ctl_seed_args(argc, argv, &catalogue, rest, &nrest) != 0 ||
	    ctl_settings(nrest, rest, &set, &next) != 0 || next != nrest) {
		free(rest);
		ctl_seed_usage(stderr);
		return 2;
	}
	free(rest);
	PGconn *conn = PQconnectdb(set.dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dispatchctl: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	long skus_added = 0, skus_changed = 0, skus = 0, stock_added = 0, stock = 0;
	if (ctl_seed_exec(conn, "BEGIN", "BEGIN", 0, NULL, NULL) != 0 ||
	    ctl_seed_skus(conn, catalogue, &skus_added, &skus_changed, &skus) != 0 ||
	    ctl_seed_stock(conn, catalogue, &stock_added, &stock) != 0 ||
	    ctl_seed_exec(conn, "COMMIT", "COMMIT", 0, NULL, NULL) != 0) {
		fprintf(stderr, "dispatchctl: nothing was loaded\n");
		PQfinish(conn);
		return 1;
	}
	PQfinish(conn);
	printf("dispatchctl: %ld SKU(s): %ld new, %ld updated; %ld stock row(s): %ld new, %ld "
	       "already present (left as they are)\n",
	       skus, skus_added, skus_changed, stock, stock_added, stock - stock_added);
	return 0;
}
