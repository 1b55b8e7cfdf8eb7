/* fuzz_sentinel.c: the replies of a sentinel (get-master-addr-by-name) and
 * of a server (ROLE), as bytes off the wire through hiredis's reader. */
#include "fuzz.h"

#include <hiredis/hiredis.h>

#include "sentinel.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *r = redisReaderCreate();
	void *reply = NULL;

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
