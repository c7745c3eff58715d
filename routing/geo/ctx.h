/* The geometry context: one GEOS reentrant handle plus the buffer its error
 * handler writes into. Create one per thread that runs rt_geo_* functions; a
 * context and every object built with it (area sets, indexes, generators)
 * belong to that thread until freed. */
#ifndef RT_GEO_CTX_H
#define RT_GEO_CTX_H

#include "routing/common/err.h"

/* Opaque: wraps a GEOSContextHandle_t (GEOS_init_r) with its message handler installed. */
struct rt_geo_ctx;

/* New context for the calling thread; NULL with `err` filled on failure. Free with rt_geo_ctx_free.
 */
struct rt_geo_ctx *rt_geo_ctx_new(struct rt_err *err);

/* Free a context (NULL is a no-op). Objects built with it must have been freed first. */
void rt_geo_ctx_free(struct rt_geo_ctx *ctx);

#endif
