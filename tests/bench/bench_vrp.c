/* The vrp suite: solves the Solomon VRPTW instances (or a generated
 * station-sized problem) with the route planner, passes every solution
 * through the independent validator and prints the quality figures. It owns
 * file reading and timing; the planner itself is pure (routing/vrp/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "routing/vrp/check.h"
#include "routing/vrp/solomon.h"
#include "routing/vrp/solver.h"

#define BENCH_VRP_MAX_INSTANCES 128

struct bench_vrp_opts {
	const char *dir;
	const char *only; /* comma-separated instance names, or NULL for all */
	double seconds;
	uint64_t seed;
	enum rt_vrp_objective objective;
	int station;
};

struct bench_vrp_bks {
	char name[32];
	int vehicles;
	double dist;
};

static double
bench_vrp_clock(void *arg)
{
	(void)arg;
	return bench_now_s();
}

static char *
bench_vrp_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* bks.csv rows for one objective, in file order. */
static int
bench_vrp_bks_load(const char *dir, enum rt_vrp_objective obj, struct bench_vrp_bks *out,
		   size_t *n_out)
{
	char path[4096], *buf, *line, *save = NULL;
	const char *want = obj == RT_VRP_OBJ_DISTANCE ? "distance_only" : "hierarchical";
	size_t len, n = 0;

	snprintf(path, sizeof path, "%s/bks.csv", dir);
	if ((buf = bench_vrp_read(path, &len)) == NULL) {
		fprintf(stderr, "dispatch-bench: cannot read %s\n", path);
		return -1;
	}
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char name[32], objective[32];
		int vehicles;
		double dist;
		if (sscanf(line, "%31[^,],%*[^,],%*[^,],%*[^,],%*[^,],%31[^,],%d,%lf", name,
			   objective, &vehicles, &dist) != 4 ||
		    strcmp(objective, want) != 0)
			continue;
		if (n == BENCH_VRP_MAX_INSTANCES)
			break;
		snprintf(out[n].name, sizeof out[n].name, "%s", name);
		out[n].vehicles = vehicles;
		out[n].dist = dist;
		n++;
	}
	free(buf);
	*n_out = n;
	return 0;
}

static int
bench_vrp_selected(const char *only, const char *name)
{
	size_t len = strlen(name);
	const char *p = only;

	if (only == NULL)
		return 1;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == only || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return 1;
		p += len;
	}
	return 0;
}

static void
bench_vrp_params(const struct bench_vrp_opts *o, struct rt_vrp_params *pr)
{
	rt_vrp_solver_params_init(pr);
	pr->objective = o->objective;
	pr->seed = o->seed;
	pr->seconds = o->seconds;
	pr->clock = bench_vrp_clock;
	/* safety cap only: the work budget ends the search long before */
	pr->wall_cap_s = 3.0 * o->seconds + 1.0;
}

/* Solve and validate one instance; returns 0 if valid. */
static int
bench_vrp_instance(const struct bench_vrp_opts *o, const struct bench_vrp_bks *b, double *gap,
		   int *veh, double *secs)
{
	char path[4096], *buf;
	size_t len;
	struct rt_err err = {0};
	struct rt_vrp_solomon *inst;
	struct rt_vrp_solution *sol = NULL;
	struct rt_vrp_params pr;
	double t0;
	int rc = 1;

	snprintf(path, sizeof path, "%s/%s.txt", o->dir, b->name);
	if ((buf = bench_vrp_read(path, &len)) == NULL) {
		fprintf(stderr, "dispatch-bench: cannot read %s\n", path);
		return 1;
	}
	inst = rt_vrp_solomon_parse(buf, len, &err);
	free(buf);
	if (inst == NULL) {
		fprintf(stderr, "dispatch-bench: %s: %s\n", path, err.msg);
		return 1;
	}
	bench_vrp_params(o, &pr);
	t0 = bench_now_s();
	if (rt_vrp_solver_solve(&inst->problem, &pr, NULL, &sol, &err) != RT_OK) {
		fprintf(stderr, "dispatch-bench: %s: solver: %s\n", b->name, err.msg);
		goto out;
	}
	*secs = bench_now_s() - t0;
	if (rt_vrp_check_solution(&inst->problem, sol, NULL, &err) != RT_OK) {
		fprintf(stderr, "dispatch-bench: %s: INVALID solution: %s\n", b->name, err.msg);
		goto out;
	}
	if (sol->n_unassigned > 0) {
		fprintf(stderr, "dispatch-bench: %s: %zu customers unassigned\n", b->name,
			sol->n_unassigned);
		goto out;
	}
	*veh = (int)sol->n_routes;
	*gap = 100.0 * (sol->dist_m - b->dist) / b->dist;
	printf("# %-6s vehicles=%zu distance=%.2f bks_vehicles=%d bks_distance=%.2f gap_pct=%.2f "
	       "time_s=%.3f iterations=%llu\n",
	       b->name, sol->n_routes, sol->dist_m, b->vehicles, b->dist, *gap, *secs,
	       (unsigned long long)sol->iterations);
	fflush(stdout);
	rc = 0;
out:
	rt_vrp_solution_free(sol);
	rt_vrp_solomon_free(inst);
	return rc;
}

static int
bench_vrp_solomon(const struct bench_vrp_opts *o)
{
	struct bench_vrp_bks bks[BENCH_VRP_MAX_INSTANCES];
	size_t n_bks = 0, n = 0;
	double gap_sum = 0.0, secs_sum = 0.0;
	int veh_sum = 0, bad = 0;

	if (bench_vrp_bks_load(o->dir, o->objective, bks, &n_bks) != 0)
		return 2;
	for (size_t i = 0; i < n_bks; i++) {
		double gap = 0.0, secs = 0.0;
		int veh = 0;
		if (!bench_vrp_selected(o->only, bks[i].name))
			continue;
		if (bench_vrp_instance(o, &bks[i], &gap, &veh, &secs) != 0) {
			bad++;
			continue;
		}
		gap_sum += gap;
		secs_sum += secs;
		veh_sum += veh;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "dispatch-bench: no instance solved\n");
		return 1;
	}
	printf("vrp_instances=%zu\nvrp_vehicles=%d\nvrp_seconds_per_instance=%.3f\n"
	       "vrp_mean_gap_pct=%.3f\n",
	       n, veh_sum, secs_sum / (double)n, gap_sum / (double)n);
	return bad ? 1 : 0;
}

/* ---- station-sized scenario ---------------------------------------------- */

#define BENCH_VRP_ST_STOPS 300
#define BENCH_VRP_ST_COURIERS 15

static uint64_t
bench_vrp_rng(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
bench_vrp_unif(uint64_t *x)
{
	return (double)(bench_vrp_rng(x) >> 11) * 0x1.0p-53;
}

/* A delivery station in Chaoyang, Beijing: 300 stops within ~4 km, 60 % of
 * them in residential compounds, two-hour customer slots between 09:00 and
 * 21:00, 15 e-bike couriers (15 km/h, 1.3 road detour) on 08:00-21:30
 * shifts, parcels by weight and volume, 15 % return pickups, 2 % stops
 * needing an installer (skill bit 0) that 3 couriers have. Times are seconds
 * since midnight. */
static void
bench_vrp_station_build(uint64_t seed, double *lonlat, struct rt_vrp_stop *stops,
			struct rt_vrp_vehicle *veh)
{
	const double lon0 = 116.4600, lat0 = 39.9200, r_m = 4000.0;
	const double m_per_deg_lat = 111320.0, m_per_deg_lon = 111320.0 * cos(lat0 * M_PI / 180);
	double cx[8], cy[8];
	uint64_t x = seed;

	for (int k = 0; k < 8; k++) {
		double a = 2 * M_PI * bench_vrp_unif(&x), r = r_m * sqrt(bench_vrp_unif(&x));
		cx[k] = r * cos(a);
		cy[k] = r * sin(a);
	}
	lonlat[0] = lon0;
	lonlat[1] = lat0;
	for (int i = 0; i < BENCH_VRP_ST_STOPS; i++) {
		struct rt_vrp_stop *s = &stops[i];
		double dx, dy, a = 2 * M_PI * bench_vrp_unif(&x);
		int slot = (int)(bench_vrp_unif(&x) * 6);

		if (bench_vrp_unif(&x) < 0.6) {
			int k = (int)(bench_vrp_unif(&x) * 8);
			double r = 300.0 * sqrt(bench_vrp_unif(&x));
			dx = cx[k] + r * cos(a);
			dy = cy[k] + r * sin(a);
		} else {
			double r = r_m * sqrt(bench_vrp_unif(&x));
			dx = r * cos(a);
			dy = r * sin(a);
		}
		lonlat[2 * (i + 1)] = lon0 + dx / m_per_deg_lon;
		lonlat[2 * (i + 1) + 1] = lat0 + dy / m_per_deg_lat;
		memset(s, 0, sizeof *s);
		s->loc = (uint32_t)(i + 1);
		s->tw_open_s = (9 + 2 * slot) * 3600.0;
		s->tw_close_s = s->tw_open_s + 7200.0;
		s->service_s = 120.0 + 120.0 * bench_vrp_unif(&x);
		if (bench_vrp_unif(&x) < 0.15) {
			s->pickup[0] = 1.0 + 9.0 * bench_vrp_unif(&x);
			s->pickup[1] = 0.01 + 0.09 * bench_vrp_unif(&x);
		} else {
			s->delivery[0] = 0.5 + 7.5 * bench_vrp_unif(&x);
			s->delivery[1] = 0.005 + 0.06 * bench_vrp_unif(&x);
		}
		if (bench_vrp_unif(&x) < 0.02) {
			s->skills = 1;
			s->service_s = 1800.0;
		}
	}
	for (int v = 0; v < BENCH_VRP_ST_COURIERS; v++) {
		memset(&veh[v], 0, sizeof veh[v]);
		veh[v].capacity[0] = 120.0; /* kg */
		veh[v].capacity[1] = 1.2;   /* m3 */
		veh[v].shift_start_s = 8 * 3600.0;
		veh[v].shift_end_s = 21.5 * 3600.0;
		veh[v].skills = v < 3 ? 1 : 0;
	}
}

static int
bench_vrp_station(const struct bench_vrp_opts *o)
{
	enum { NL = BENCH_VRP_ST_STOPS + 1 };
	static double lonlat[2 * NL], dist[NL * NL], tim[NL * NL];
	static struct rt_vrp_stop stops[BENCH_VRP_ST_STOPS];
	static struct rt_vrp_vehicle veh[BENCH_VRP_ST_COURIERS];
	struct rt_vrp_matrix m = {dist, tim};
	struct rt_vrp_problem p = {NL, BENCH_VRP_ST_STOPS, BENCH_VRP_ST_COURIERS, 1, stops, veh,
				   &m};
	struct rt_vrp_solution *sol = NULL;
	struct rt_vrp_params pr;
	struct rt_err err = {0};
	double t0, secs;
	int valid;

	bench_vrp_station_build(o->seed, lonlat, stops, veh);
	t0 = bench_now_s();
	rt_vrp_problem_matrix_haversine(lonlat, NL, 1.3, 15.0 / 3.6, dist, tim);
	bench_vrp_params(o, &pr);
	if (rt_vrp_solver_solve(&p, &pr, NULL, &sol, &err) != RT_OK) {
		fprintf(stderr, "dispatch-bench: station: solver: %s\n", err.msg);
		return 1;
	}
	secs = bench_now_s() - t0;
	valid = rt_vrp_check_solution(&p, sol, NULL, &err) == RT_OK;
	if (!valid)
		fprintf(stderr, "dispatch-bench: station: INVALID solution: %s\n", err.msg);
	printf("vrp_station_stops=%d\nvrp_station_couriers=%d\nvrp_station_routes=%zu\n"
	       "vrp_station_distance_km=%.2f\nvrp_station_iterations=%llu\n",
	       BENCH_VRP_ST_STOPS, BENCH_VRP_ST_COURIERS, sol->n_routes, sol->dist_m / 1000.0,
	       (unsigned long long)sol->iterations);
	printf("vrp_station_unassigned=%zu\nvrp_station_valid=%d\nvrp_station_seconds=%.3f\n",
	       sol->n_unassigned, valid, secs);
	rt_vrp_solution_free(sol);
	return valid ? 0 : 1;
}

static int
bench_vrp_usage(void)
{
	fprintf(stderr, "usage: dispatch-bench vrp --solomon DIR --seconds S [--seed N] "
			"[--objective distance|hierarchical] [--only NAME,...]\n"
			"       dispatch-bench vrp --station [--seconds S] [--seed N]\n");
	return 2;
}

int
bench_vrp_main(int argc, char **argv)
{
	struct bench_vrp_opts o = {.seconds = 1.0, .seed = 1, .objective = RT_VRP_OBJ_DISTANCE};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--station") == 0) {
			o.station = 1;
			continue;
		}
		if (v == NULL)
			return bench_vrp_usage();
		i++;
		if (strcmp(a, "--solomon") == 0)
			o.dir = v;
		else if (strcmp(a, "--seconds") == 0)
			o.seconds = strtod(v, NULL);
		else if (strcmp(a, "--seed") == 0)
			o.seed = strtoull(v, NULL, 10);
		else if (strcmp(a, "--only") == 0)
			o.only = v;
		else if (strcmp(a, "--objective") == 0 && strcmp(v, "distance") == 0)
			o.objective = RT_VRP_OBJ_DISTANCE;
		else if (strcmp(a, "--objective") == 0 && strcmp(v, "hierarchical") == 0)
			o.objective = RT_VRP_OBJ_HIERARCHICAL;
		else
			return bench_vrp_usage();
	}
	if (!(o.seconds > 0.0) || (o.dir == NULL && !o.station))
		return bench_vrp_usage();
	if (o.station)
		return bench_vrp_station(&o);
	return bench_vrp_solomon(&o);
}
