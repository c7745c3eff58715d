/* FNV-1a string hashing (see hash.h). Owns nothing. */
#include "daemon/base/hash.h"

uint64_t
dm_hash_str(const char *s, uint64_t salt)
{
	uint64_t h = 1469598103934665603ULL ^ salt;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}
