#include "peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* The peer as an IPv4 address when it is one, plain or IPv4-mapped. */
static int peer_ipv4(const struct sockaddr *sa, struct in_addr *out)
{
	if (sa->sa_family == AF_INET) {
		*out = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(&out->s_addr, a->s6_addr + 12, 4);
			return 1;
		}
	}
	return 0;
}

/* Does one list entry (len bytes, surrounding blanks allowed) name the peer? */
static int entry_matches(const char *entry, size_t len, const struct sockaddr *sa)
{
	char text[INET6_ADDRSTRLEN];
	struct in_addr v4, peer4;
	struct in6_addr v6;

	while (len > 0 && (*entry == ' ' || *entry == '\t'))
		entry++, len--;
	while (len > 0 && (entry[len - 1] == ' ' || entry[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(text))
		return 0;
	memcpy(text, entry, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &v4) == 1)
		return peer_ipv4(sa, &peer4) && peer4.s_addr == v4.s_addr;
	if (inet_pton(AF_INET6, text, &v6) != 1)
		return 0;
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, &v6, sizeof(v6)) ==
		       0;
	/* "::ffff:127.0.0.1" written in the list, a plain IPv4 peer. */
	return IN6_IS_ADDR_V4MAPPED(&v6) && peer_ipv4(sa, &peer4) &&
	       memcmp(v6.s6_addr + 12, &peer4.s_addr, 4) == 0;
}

int peer_allowed(const char *list, const struct sockaddr *sa)
{
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return 1;
	if (!list || !*list)
		return 1;
	for (const char *p = list; *p; p += *p == ',') {
		size_t len = strcspn(p, ",");

		if (entry_matches(p, len, sa))
			return 1;
		p += len;
	}
	return 0;
}
