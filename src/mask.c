#include "mask.h"

#include <string.h>

void mask_key(const char *key, size_t len, char out[MASK_MAX + 1])
{
	if (len < MASK_MIN_KEY_LEN) {
		memcpy(out, "****", 5);
		return;
	}
	memcpy(out, key, 3);
	memcpy(out + 3, "...", 3);
	memcpy(out + 6, key + len - 4, 4);
	out[10] = '\0';
}
