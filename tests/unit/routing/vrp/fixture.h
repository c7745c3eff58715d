/* Helpers shared by the routing/vrp unit tests (a header, so it is not a test of
 * its own): random problems with mixed pickups and deliveries, and file
 * reading for the vendored Solomon instances. */
#ifndef TESTS_VRP_FIXTURE_H
#define TESTS_VRP_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/problem.h"
#include "routing/vrp/solomon.h"

/* A random problem and the storage it points into. */
struct vrp_fixture {
	struct rt_vrp_problem p;
	struct rt_vrp_matrix m;
	double *xy, *dist, *time;
	struct rt_vrp_stop *stops;
	struct rt_vrp_vehicle *veh;
};

static inline uint64_t
vrp_fixture_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline double
vrp_fixture_unif(uint64_t *x)
{
	return (double)(vrp_fixture_rand(x) >> 11) * 0x1.0p-53;
}

/* n stops on a 100 x 100 square around a central depot, nv vehicles with two
 * capacity dimensions, windows of width 60..300 over a 1000 horizon, about a
 * third of the stops pickups, some both. */
static inline void
vrp_fixture_random(struct vrp_fixture *f, size_t n, size_t nv, uint64_t seed)
{
	uint64_t x = seed;
	size_t nl = n + 1;

	memset(f, 0, sizeof *f);
	f->xy = malloc(2 * nl * sizeof *f->xy);
	f->dist = malloc(nl * nl * sizeof *f->dist);
	f->time = malloc(nl * nl * sizeof *f->time);
	f->stops = calloc(n, sizeof *f->stops);
	f->veh = calloc(nv, sizeof *f->veh);
	f->xy[0] = 50;
	f->xy[1] = 50;
	for (size_t i = 1; i < nl; i++) {
		f->xy[2 * i] = 100 * vrp_fixture_unif(&x);
		f->xy[2 * i + 1] = 100 * vrp_fixture_unif(&x);
	}
	rt_vrp_problem_matrix_euclidean(f->xy, nl, 1.0, f->dist, f->time);
	for (size_t i = 0; i < n; i++) {
		struct rt_vrp_stop *s = &f->stops[i];
		double kind = vrp_fixture_unif(&x), w = 60 + 240 * vrp_fixture_unif(&x);
		s->loc = (uint32_t)(i + 1);
		if (kind < 0.6 || kind > 0.9) {
			s->delivery[0] = 1 + (double)(vrp_fixture_rand(&x) % 20);
			s->delivery[1] = 1 + (double)(vrp_fixture_rand(&x) % 5);
		}
		if (kind >= 0.6) {
			s->pickup[0] = 1 + (double)(vrp_fixture_rand(&x) % 20);
			s->pickup[1] = 1 + (double)(vrp_fixture_rand(&x) % 5);
		}
		s->tw_open_s = 80 + (900 - 80 - w) * vrp_fixture_unif(&x);
		s->tw_close_s = s->tw_open_s + w;
		s->service_s = 10;
	}
	for (size_t v = 0; v < nv; v++) {
		f->veh[v].capacity[0] = 100;
		f->veh[v].capacity[1] = 25;
		f->veh[v].shift_end_s = 1000;
	}
	f->m.dist_m = f->dist;
	f->m.time_s = f->time;
	f->p.n_locs = nl;
	f->p.n_stops = n;
	f->p.n_vehicles = nv;
	f->p.n_profiles = 1;
	f->p.stops = f->stops;
	f->p.vehicles = f->veh;
	f->p.matrices = &f->m;
}

static inline void
vrp_fixture_free(struct vrp_fixture *f)
{
	free(f->xy);
	free(f->dist);
	free(f->time);
	free(f->stops);
	free(f->veh);
}

/* Parse DISPATCH_SOURCE_DIR/data/solomon/<name>.txt, or NULL. */
static inline struct rt_vrp_solomon *
vrp_fixture_solomon(const char *name)
{
	char path[1024];
	struct rt_err err;
	struct rt_vrp_solomon *inst = NULL;
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/data/solomon/%s.txt", DISPATCH_SOURCE_DIR, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n)
			inst = rt_vrp_solomon_parse(buf, (size_t)n, &err);
		free(buf);
	}
	fclose(f);
	return inst;
}

/* One row of data/solomon/bks.csv: an instance's sizes and its best-known
 * solution under one objective ("hierarchical" or "distance_only"). */
struct vrp_fixture_bks {
	char name[16];
	char objective[16];
	int customers, fleet, vehicles;
	double capacity, dist;
};

/* Read up to cap rows of DISPATCH_SOURCE_DIR/data/solomon/bks.csv into out;
 * returns the number read, or -1 when the file is missing or a row does not
 * have the expected columns. */
static inline int
vrp_fixture_bks_load(struct vrp_fixture_bks *out, size_t cap)
{
	char path[1024], line[512];
	FILE *f;
	int n = 0, ok = 1;

	snprintf(path, sizeof path, "%s/data/solomon/bks.csv", DISPATCH_SOURCE_DIR);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof line, f) == NULL) /* the header */
		ok = 0;
	while (ok && fgets(line, sizeof line, f) != NULL && (size_t)n < cap) {
		struct vrp_fixture_bks *b = &out[n];
		/* instance,group,customers,fleet_size,capacity,objective,bks_vehicles,bks_distance,... */
		if (sscanf(line, "%15[^,],%*[^,],%d,%d,%lf,%15[^,],%d,%lf", b->name, &b->customers,
			   &b->fleet, &b->capacity, b->objective, &b->vehicles, &b->dist) != 7)
			ok = 0;
		else
			n++;
	}
	fclose(f);
	return ok ? n : -1;
}

#endif
