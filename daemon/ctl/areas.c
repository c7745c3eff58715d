/* dispatchctl areas import FILE --kind station|district|warehouse [--dry-run]
 *
 * Reads a GeoJSON FeatureCollection, validates and repairs every feature
 * (routing/geo/repair), makes districts and stations disjoint by the overlap
 * rule (routing/geo/areas; warehouse areas overlap by design and are left
 * as they are), prints the repair report as JSON on stdout, and unless
 * --dry-run replaces every area of that kind in ONE transaction: a bad file,
 * a failed statement or a lost connection imports nothing. Running daemons
 * pick the new areas up on SIGHUP.
 *
 * Features that carry properties.kind are filtered by it (station: "station";
 * warehouse: "rdc" and "fdc"; district: "district"), so the generated network
 * file imports in one command per kind; a file without kinds is all of the
 * requested kind (warehouses must say rdc or fdc). */
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/ctl.h"
#include "daemon/base/file.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"
#include "routing/geo/json.h"
#include "routing/geo/repair.h"

#define CTL_AREAS_MAX_FILE ((size_t)256 << 20)
#define CTL_AREAS_MAX_SETS 2

struct ctl_areas_set {
	const char *kind;           /* stored kind: district, station, rdc, fdc */
	struct rt_geo_areas *areas; /* owned */
};

static void
ctl_areas_usage(FILE *out)
{
	fprintf(out, "usage: dispatchctl areas import FILE --kind station|district|warehouse "
		     "[--dry-run] [-c FILE] [--dsn DSN]\n");
}

/* Parse, repair and (for district/station) resolve the features of one
 * stored kind. filter is the properties.kind to keep, or NULL for all. */
static struct rt_geo_areas *
ctl_areas_prepare(struct rt_geo_ctx *ctx, const char *buf, size_t len, const char *filter,
		  bool resolve, struct rt_err *err)
{
	struct rt_geo_json_opts opts;
	struct rt_geo_areas *areas = NULL;
	rt_geo_json_opts_default(&opts);
	opts.max_bytes = CTL_AREAS_MAX_FILE;
	opts.kind = filter;
	if (rt_geo_json_parse(ctx, buf, len, &opts, &areas, err) != RT_OK)
		return NULL;
	if (rt_geo_repair_run(areas, err) != RT_OK ||
	    (resolve && rt_geo_areas_resolve(areas, err) != RT_OK)) {
		rt_geo_areas_free(areas);
		return NULL;
	}
	return areas;
}

static bool
ctl_areas_has_kinds(const struct rt_geo_areas *areas)
{
	for (size_t i = 0; i < rt_geo_areas_count(areas); i++)
		if (rt_geo_areas_kind(areas, i) != NULL)
			return true;
	return false;
}

/* Run one statement; on failure print why and return -1. */
static int
ctl_areas_exec(PGconn *conn, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "dispatchctl: import failed: %s", PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

static char *
ctl_areas_hex(const unsigned char *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(len * 2 + 1);
	if (hex == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[len * 2] = '\0';
	return hex;
}

static int
ctl_areas_insert(PGconn *conn, const struct ctl_areas_set *set)
{
	for (size_t i = 0; i < rt_geo_areas_count(set->areas); i++) {
		struct rt_err err;
		unsigned char *wkb = NULL;
		size_t wlen = 0;
		if (rt_geo_areas_wkb(set->areas, i, &wkb, &wlen, &err) != RT_OK) {
			fprintf(stderr, "dispatchctl: area %s: %s\n", rt_geo_areas_id(set->areas, i),
				err.msg);
			return -1;
		}
		char *hex = ctl_areas_hex(wkb, wlen);
		free(wkb);
		if (hex == NULL)
			return -1;
		char area[64];
		snprintf(area, sizeof area, "%.3f", rt_geo_areas_area_m2(set->areas, i));
		const char *name = rt_geo_areas_name(set->areas, i);
		const char *props = rt_geo_areas_props_json(set->areas, i);
		const char *params[] = {set->kind, rt_geo_areas_id(set->areas, i),
					name != NULL ? name : rt_geo_areas_id(set->areas, i),
					props != NULL ? props : "{}", hex, area};
		/* The point is the station/warehouse itself when the feature says
		 * where (properties lon/lat), else a point inside its area. */
		int rc = ctl_areas_exec(
			conn,
			"INSERT INTO areas (kind, id, name, props, geom, point, area_m2) "
			"SELECT $1, $2, $3, p, g, "
			"  CASE WHEN p ? 'lon' AND p ? 'lat' THEN ST_SetSRID(ST_MakePoint("
			"    (p->>'lon')::float8, (p->>'lat')::float8), 4326) "
			"  WHEN $1 = 'district' THEN NULL ELSE ST_PointOnSurface(g) END, $6 "
			"FROM (SELECT $4::jsonb AS p, "
			"  ST_Multi(ST_GeomFromWKB(decode($5, 'hex'), 4326)) AS g) s",
			6, params);
		free(hex);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
ctl_areas_store(const char *dsn, const char *source, const struct ctl_areas_set *sets, int nsets,
		const char *report, size_t features, size_t repaired)
{
	PGconn *conn = PQconnectdb(dsn);
	int rc = -1;
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "dispatchctl: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
		goto out;
	}
	if (ctl_areas_exec(conn, "BEGIN", 0, NULL) != 0)
		goto out;
	for (int s = 0; s < nsets; s++) {
		const char *p[] = {sets[s].kind};
		if (ctl_areas_exec(conn, "DELETE FROM areas WHERE kind = $1", 1, p) != 0 ||
		    ctl_areas_insert(conn, &sets[s]) != 0)
			goto rollback;
	}
	char nf[32], nr[32];
	snprintf(nf, sizeof nf, "%zu", features);
	snprintf(nr, sizeof nr, "%zu", repaired);
	const char *p[] = {nsets == 2 ? "warehouse" : sets[0].kind, source, nf, nr, report};
	if (ctl_areas_exec(conn,
			   "INSERT INTO area_imports (kind, source, features, repaired, report) "
			   "VALUES ($1, $2, $3, $4, $5::jsonb)",
			   5, p) != 0 ||
	    ctl_areas_exec(conn, "COMMIT", 0, NULL) != 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	PQfinish(conn);
	return rc;
}

/* Build the JSON report of every set: {"file","kind","sets":[{kind, report}]}. */
static char *
ctl_areas_report(const char *file, const char *kind, const struct ctl_areas_set *sets, int nsets,
		 size_t *features, size_t *repaired)
{
	json_t *root = json_pack("{s:s,s:s,s:[]}", "file", file, "kind", kind, "sets");
	*features = *repaired = 0;
	for (int s = 0; root != NULL && s < nsets; s++) {
		char *text = NULL;
		struct rt_err err;
		struct rt_geo_repair_summary sum;
		if (rt_geo_repair_report_json(sets[s].areas, &text, &err) != RT_OK) {
			json_decref(root);
			return NULL;
		}
		json_t *rep = json_loads(text, 0, NULL);
		free(text);
		rt_geo_repair_summary(sets[s].areas, &sum);
		*features += sum.areas;
		*repaired += sum.repaired;
		json_array_append_new(json_object_get(root, "sets"),
				      json_pack("{s:s,s:o*}", "kind", sets[s].kind, "report", rep));
	}
	char *out = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return out;
}

static int
ctl_areas_import(const char *file, const char *kind, bool dry_run, const char *dsn)
{
	const char *kinds[CTL_AREAS_MAX_SETS] = {kind, NULL};
	int nsets = 1, rc = 1;
	struct ctl_areas_set sets[CTL_AREAS_MAX_SETS] = {{0}};
	struct rt_err err;
	size_t len = 0, features = 0, repaired = 0;
	char *report = NULL;

	if (strcmp(kind, "warehouse") == 0) {
		kinds[0] = "rdc";
		kinds[1] = "fdc";
		nsets = 2;
	} else if (strcmp(kind, "station") != 0 && strcmp(kind, "district") != 0) {
		fprintf(stderr, "dispatchctl: --kind must be station, district or warehouse\n");
		return 2;
	}
	char why[512];
	char *buf = dm_file_read(file, CTL_AREAS_MAX_FILE, &len, why, sizeof why);
	if (buf == NULL)
		fprintf(stderr, "dispatchctl: %s\n", why);
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	if (buf == NULL || ctx == NULL)
		goto out;
	/* Do the features say what they are? Then filter by it. */
	struct rt_geo_areas *all = NULL;
	struct rt_geo_json_opts opts;
	rt_geo_json_opts_default(&opts);
	opts.max_bytes = CTL_AREAS_MAX_FILE;
	if (rt_geo_json_parse(ctx, buf, len, &opts, &all, &err) != RT_OK) {
		fprintf(stderr, "dispatchctl: %s: %s\n", file, err.msg);
		goto out;
	}
	bool has_kinds = ctl_areas_has_kinds(all);
	rt_geo_areas_free(all);
	if (!has_kinds && nsets == 2) {
		fprintf(stderr, "dispatchctl: %s: warehouse features need properties.kind "
				"\"rdc\" or \"fdc\"\n",
			file);
		goto out;
	}
	for (int s = 0; s < nsets; s++) {
		sets[s].kind = kinds[s];
		sets[s].areas = ctl_areas_prepare(ctx, buf, len, has_kinds ? kinds[s] : NULL,
						  nsets == 1, &err);
		if (sets[s].areas == NULL) {
			fprintf(stderr, "dispatchctl: %s: %s\n", file, err.msg);
			goto out;
		}
		if (rt_geo_areas_count(sets[s].areas) == 0) {
			fprintf(stderr, "dispatchctl: %s: no features of kind \"%s\"\n", file,
				kinds[s]);
			goto out;
		}
	}
	report = ctl_areas_report(file, kind, sets, nsets, &features, &repaired);
	if (report == NULL) {
		fprintf(stderr, "dispatchctl: cannot build the repair report\n");
		goto out;
	}
	printf("%s\n", report);
	if (dry_run) {
		fprintf(stderr, "dispatchctl: dry run: %zu %s area(s) valid after repair (%zu "
				"repaired); nothing imported\n",
			features, kind, repaired);
		rc = 0;
		goto out;
	}
	if (ctl_areas_store(dsn, file, sets, nsets, report, features, repaired) != 0)
		goto out;
	fprintf(stderr, "dispatchctl: imported %zu %s area(s) (%zu repaired); send SIGHUP to "
			"running daemons to load them\n",
		features, kind, repaired);
	rc = 0;
out:
	for (int s = 0; s < nsets; s++)
		rt_geo_areas_free(sets[s].areas);
	free(report);
	rt_geo_ctx_free(ctx);
	free(buf);
	return rc;
}

int
ctl_areas_main(int argc, char **argv)
{
	const char *file = NULL, *kind = NULL;
	bool dry_run = false;
	char *rest[16];
	int nrest = 0;
	struct ctl_settings set;

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		ctl_areas_usage(stderr);
		return 2;
	}
	rest[nrest++] = argv[0];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
			kind = argv[++i];
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
		} else if (argv[i][0] == '-' && i + 1 < argc && nrest + 2 < 16) {
			rest[nrest++] = argv[i];
			rest[nrest++] = argv[++i];
		} else if (argv[i][0] != '-' && file == NULL) {
			file = argv[i];
		} else {
			ctl_areas_usage(stderr);
			return 2;
		}
	}
	rest[nrest] = NULL;
	int next;
	if (file == NULL || kind == NULL ||
	    ctl_settings(nrest, rest, &set, &next) != 0 || next != nrest) {
		ctl_areas_usage(stderr);
		return 2;
	}
	return ctl_areas_import(file, kind, dry_run, set.dsn);
}
