#include "dumpable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "status.h"

int dumpable_allowed(void)
{
	const char *v = getenv("GOFANNON_ALLOW_CORE_DUMPS");

	if (!v || !*v || strcmp(v, "0") == 0)
		return 0;
	return strcmp(v, "1") == 0 ? 1 : -1;
}

int dumpable_restrict(char *err, size_t errlen)
{
	int allowed = dumpable_allowed();

	if (allowed == 1)
		return GK_OK;
	/* An invalid setting still leaves the process protected. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0) failed: %s", strerror(errno));
		return GK_ERR;
	}
	if (allowed < 0) {
		snprintf(err, errlen, "GOFANNON_ALLOW_CORE_DUMPS must be 0 or 1");
		return GK_ERR;
	}
	/* Read back: a kernel that took the call but kept the flag is a failure. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "the process is still dumpable after PR_SET_DUMPABLE 0");
		return GK_ERR;
	}
	return GK_OK;
}
