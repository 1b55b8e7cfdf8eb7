/* status.h: the status codes every module returns.
 *
 * Functions return GK_OK on success and a negative code on failure; callers
 * check and pass the code on until the one place that turns it into an HTTP
 * status (api.c) or an exit status (main.c). */
#ifndef GK_STATUS_H
#define GK_STATUS_H

#define GK_OK 0
#define GK_ERR (-1)	    /* generic failure, the detail says why */
#define GK_UNAVAILABLE (-2) /* a backend (Redis) did not answer in time */
#define GK_NOMEM (-3)	    /* allocation failed; some older callers also use it for a cap */
#define GK_CONFLICT (-4)    /* another client changed the data first: read it again */
#define GK_UNCERTAIN (-5)   /* a write was sent but not confirmed: it may or may not be applied */
#define GK_TOOBIG (-6)	    /* the input passes a cap its owner set (not a malloc failure) */

#endif
