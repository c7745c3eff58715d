/* The geometry context. Owns one GEOS handle and the message buffer GEOS's
 * error and notice handlers write into, so a failed GEOS call can be reported
 * through the caller's struct rt_err without globals. It does not own the
 * objects built with it: they hold a borrowed pointer and must die first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/geo/ctx.h"
#include "routing/geo/impl.h"

static void
rt_geo_ctx_message(const char *message, void *userdata)
{
	struct rt_geo_ctx *ctx = userdata;

	snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", message);
}

static void
rt_geo_ctx_notice(const char *message, void *userdata)
{
	/* Notices (e.g. "Self-intersection at ...") are informational: keep the
	 * last one only when no error is pending. */
	struct rt_geo_ctx *ctx = userdata;

	if (ctx->geos_msg[0] == '\0')
		snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", message);
}

struct rt_geo_ctx *
rt_geo_ctx_new(struct rt_err *err)
{
	struct rt_geo_ctx *ctx = calloc(1, sizeof *ctx);

	if (ctx == NULL) {
		rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		return NULL;
	}
	ctx->h = GEOS_init_r();
	if (ctx->h == NULL) {
		free(ctx);
		rt_err_set(err, RT_E_GEOS, "geo: GEOS_init_r failed");
		return NULL;
	}
	GEOSContext_setErrorMessageHandler_r(ctx->h, rt_geo_ctx_message, ctx);
	GEOSContext_setNoticeMessageHandler_r(ctx->h, rt_geo_ctx_notice, ctx);
	return ctx;
}

void
rt_geo_ctx_free(struct rt_geo_ctx *ctx)
{
	if (ctx == NULL)
		return;
	GEOS_finish_r(ctx->h);
	free(ctx);
}

void
rt_geo_ctx_clear(struct rt_geo_ctx *ctx)
{
	ctx->geos_msg[0] = '\0';
}

enum rt_status
rt_geo_ctx_fail(struct rt_geo_ctx *ctx, struct rt_err *err, const char *what)
{
	if (ctx->geos_msg[0] != '\0')
		return rt_err_set(err, RT_E_GEOS, "%s: GEOS: %s", what, ctx->geos_msg);
	return rt_err_set(err, RT_E_GEOS, "%s: GEOS call failed (out of memory?)", what);
}
