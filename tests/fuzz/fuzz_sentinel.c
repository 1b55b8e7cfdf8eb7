/* fuzz_sentinel.c: the replies of a sentinel (get-master-addr-by-name) and
 * of a server (ROLE), as bytes off the wire through hiredis's reader. */
#include "fuzz.h"

#include <hiredis/hiredis.h>

#include "sentinel.h"
#include "status.h"

/* hiredis 0.14's reader allocates an array's declared size up front and has
 * no maxelements setting, so "*344444444" is a 2.7 GB malloc in hiredis
 * itself, not in the code under test. Such headers are skipped. */
static int declares_huge_array(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		size_t digits = 0;

		if (data[i] != '*')
			continue;
		while (i + 1 + digits < size && data[i + 1 + digits] >= '0' && data[i + 1 + digits] <= '9')
			digits++;
		if (digits > 4)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *r;
	void *reply = NULL;

	if (declares_huge_array(data, size))
		return 0;
	r = redisReaderCreate();
	FUZZ_CHECK(r != NULL);
	if (redisReaderFeed(r, (const char *)data, size) == REDIS_OK &&
	    redisReaderGetReply(r, &reply) == REDIS_OK && reply) {
		struct redis_address a;
		int master = sentinel_reply_is_master(reply);

		memset(&a, 'X', sizeof(a));
		if (sentinel_reply_address(reply, &a) == GK_OK) {
			size_t len = strnlen(a.host, sizeof(a.host));

			FUZZ_CHECK(len > 0 && len < sizeof(a.host));
			FUZZ_CHECK(a.port >= 1 && a.port <= 65535);
			/* an address reply is a two-element array of strings, never a role */
			FUZZ_CHECK(!master || len == 6);
		}
		FUZZ_CHECK(master == 0 || master == 1);
		freeReplyObject(reply);
	}
	redisReaderFree(r);
	return 0;
}
