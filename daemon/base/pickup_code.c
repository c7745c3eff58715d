/* Pickup codes (see pickup_code.h): two sub-keys of the token key, one
 * hashing codes for lookup, one sealing them for the tracking view. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/pickup_code.h"

#define DM_PICKUP_CODE_KDF_CONTEXT "dmpickup" /* crypto_kdf_CONTEXTBYTES = 8 */
#define DM_PICKUP_CODE_KDF_HASH 1
#define DM_PICKUP_CODE_KDF_BOX 2

_Static_assert(DM_TOKEN_KEY_BYTES == crypto_kdf_KEYBYTES, "the token key is a kdf key");
_Static_assert(DM_PICKUP_CODE_BOX_BYTES ==
		       crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 8,
	       "a box is nonce, MAC and code");

static void
dm_pickup_code_subkey(const unsigned char key[DM_TOKEN_KEY_BYTES], uint64_t id,
		      unsigned char sub[crypto_secretbox_KEYBYTES])
{
	/* Cannot fail with these sizes (32-byte master and sub-key). */
	(void)crypto_kdf_derive_from_key(sub, crypto_secretbox_KEYBYTES, id,
					 DM_PICKUP_CODE_KDF_CONTEXT, key);
}

bool
dm_pickup_code_valid(const char *code)
{
	return code != NULL && strlen(code) == DM_PICKUP_CODE_DIGITS &&
	       strspn(code, "0123456789") == DM_PICKUP_CODE_DIGITS;
}

void
dm_pickup_code_hash(const unsigned char key[DM_TOKEN_KEY_BYTES], const char *code,
		    unsigned char hash[DM_PICKUP_CODE_HASH_BYTES])
{
	unsigned char sub[crypto_secretbox_KEYBYTES];
	dm_pickup_code_subkey(key, DM_PICKUP_CODE_KDF_HASH, sub);
	(void)crypto_generichash(hash, DM_PICKUP_CODE_HASH_BYTES, (const unsigned char *)code,
				 strlen(code), sub, sizeof sub);
	sodium_memzero(sub, sizeof sub);
}

void
dm_pickup_code_key_id(const unsigned char key[DM_TOKEN_KEY_BYTES],
		      unsigned char id[DM_PICKUP_CODE_KEY_ID_BYTES])
{
	static const char what[] = "dispatchd pickup code key id";
	unsigned char sub[crypto_secretbox_KEYBYTES], out[crypto_generichash_BYTES_MIN];
	_Static_assert(DM_PICKUP_CODE_KEY_ID_BYTES <= crypto_generichash_BYTES_MIN, "a prefix");
	dm_pickup_code_subkey(key, DM_PICKUP_CODE_KDF_HASH, sub);
	(void)crypto_generichash(out, sizeof out, (const unsigned char *)what, sizeof what - 1,
				 sub, sizeof sub);
	memcpy(id, out, DM_PICKUP_CODE_KEY_ID_BYTES);
	sodium_memzero(sub, sizeof sub);
}

void
dm_pickup_code_new(const unsigned char key[DM_TOKEN_KEY_BYTES],
		   char code[DM_PICKUP_CODE_DIGITS + 1],
		   unsigned char hash[DM_PICKUP_CODE_HASH_BYTES],
		   unsigned char box[DM_PICKUP_CODE_BOX_BYTES])
{
	_Static_assert(DM_PICKUP_CODE_DIGITS == 8, "the format and the bound below");
	unsigned char sub[crypto_secretbox_KEYBYTES];
	snprintf(code, DM_PICKUP_CODE_DIGITS + 1, "%08u",
		 (unsigned)randombytes_uniform(100000000u));
	dm_pickup_code_hash(key, code, hash);
	dm_pickup_code_subkey(key, DM_PICKUP_CODE_KDF_BOX, sub);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	(void)crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)code,
				    DM_PICKUP_CODE_DIGITS, box, sub);
	sodium_memzero(sub, sizeof sub);
}

int
dm_pickup_code_open(const unsigned char key[DM_TOKEN_KEY_BYTES], const unsigned char *box,
		    size_t len, char code[DM_PICKUP_CODE_DIGITS + 1])
{
	unsigned char sub[crypto_secretbox_KEYBYTES];
	if (box == NULL || len != DM_PICKUP_CODE_BOX_BYTES)
		return -1;
	dm_pickup_code_subkey(key, DM_PICKUP_CODE_KDF_BOX, sub);
	int rc = crypto_secretbox_open_easy((unsigned char *)code,
					    box + crypto_secretbox_NONCEBYTES,
					    len - crypto_secretbox_NONCEBYTES, box, sub);
	sodium_memzero(sub, sizeof sub);
	code[DM_PICKUP_CODE_DIGITS] = '\0';
	if (rc != 0 || !dm_pickup_code_valid(code)) {
		sodium_memzero(code, DM_PICKUP_CODE_DIGITS + 1);
		return -1;
	}
	return 0;
}
