/* cmd_user.h: the operator's commands about one user, run from a shell
 * with the service's environment (no web UI, no key material anywhere):
 *
 *   gofannon-keys user USER             the user's keys (masks, when each
 *                                       was updated, last used, expires)
 *                                       and the last CMD_USER_ACTIVITY
 *                                       entries of the user's activity
 *   gofannon-keys revoke USER PROVIDER  deletes the user's key of PROVIDER
 *                                       as an incident response: the entry
 *                                       "revoked" by=operator in the
 *                                       user's activity, and the
 *                                       key_changed log line by=operator
 *
 * Both read the user's own hash and stream by name (no walk over other
 * users), so they cost the same with ten users or a million. user reads
 * and changes nothing: a key past its expiry is shown as expired and is
 * deleted by the user's next request. Exit status: 0 done, 1 Redis or
 * the configuration failed, 2 a usage error (an unknown provider too). */
#ifndef GK_CMD_USER_H
#define GK_CMD_USER_H

#define CMD_USER_ACTIVITY 20 /* activity entries `user` shows */

/* argv[0] is the command's name ("user", "revoke"). */
int cmd_user(int argc, char **argv);
int cmd_revoke(int argc, char **argv);

#endif
