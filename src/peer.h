/* peer.h: which TCP peers may talk FastCGI to the service.
 *
 * FCGI_WEB_SERVER_ADDRS, libfcgi's convention, is a comma-separated list
 * of addresses; when it is set and not empty, only a peer whose address is
 * in it is served. Entries are IPv4 ("127.0.0.1") or IPv6 ("::1"); a peer
 * on a dual-stack IPv6 listener that is really IPv4 (::ffff:127.0.0.1)
 * matches the IPv4 entry. Unix-socket peers are never checked: the socket
 * file's permissions guard them. Pure: no I/O, no allocation. */
#ifndef GK_PEER_H
#define GK_PEER_H

#include <sys/socket.h>

/* Returns 1 when the peer at sa may be served under list (NULL or empty:
 * every peer), else 0. An entry that is not an address matches nothing. */
int peer_allowed(const char *list, const struct sockaddr *sa);

#endif
