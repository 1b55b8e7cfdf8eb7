/* test_peer.c: FCGI_WEB_SERVER_ADDRS matching (peer_allowed) for IPv4,
 * IPv6 and IPv4-mapped IPv6 peers, as a dual-stack listener sees them. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "peer.h"

/* A peer address from its text, IPv4 or IPv6. */
static struct sockaddr_storage peer(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	}
	return ss;
}

struct peer_case {
	const char *list;
	const char *peer;
	int allowed;
};

static const struct peer_case cases[] = {
	/* no list: everyone */
	{ NULL, "10.1.2.3", 1 },
	{ "", "2001:db8::1", 1 },
	/* IPv4 */
	{ "127.0.0.1", "127.0.0.1", 1 },
	{ "127.0.0.1", "127.0.0.2", 0 },
	{ "10.0.0.1,127.0.0.1", "127.0.0.1", 1 },
	{ "127.0.0.1", "127.0.0.10", 0 },	      /* no prefix match */
	{ "127.0.0.10", "127.0.0.1", 0 },	      /* nor the other way round */
	{ " 10.0.0.1 , 127.0.0.1 ", "127.0.0.1", 1 }, /* blanks around entries */
	{ "127.0.0.1,,", "127.0.0.1", 1 },
	{ ",", "127.0.0.1", 0 },
	{ "localhost", "127.0.0.1", 0 }, /* names are not resolved */
	{ "127.0.0.1/8", "127.0.0.1", 0 },
	/* IPv6 peers and entries */
	{ "::1", "::1", 1 },
	{ "::1", "::2", 0 },
	{ "127.0.0.1", "::1", 0 },
	{ "::1", "127.0.0.1", 0 },
	{ "0:0:0:0:0:0:0:1", "::1", 1 }, /* any spelling of the address */
	{ "2001:db8::1,::1", "2001:DB8:0::1", 1 },
	{ "2001:db8::1", "2001:db8::2", 0 },
	/* a dual-stack listener: IPv4 peers arrive IPv4-mapped */
	{ "127.0.0.1", "::ffff:127.0.0.1", 1 },
	{ "127.0.0.1", "::ffff:127.0.0.2", 0 },
	{ "::ffff:127.0.0.1", "::ffff:127.0.0.1", 1 },
	{ "::ffff:127.0.0.1", "127.0.0.1", 1 },
	{ "::1", "::ffff:127.0.0.1", 0 },
	{ "::127.0.0.1", "127.0.0.1", 0 }, /* IPv4-compatible is not mapped */
};

static void test_peer_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage ss = peer(cases[i].peer);
		int got = peer_allowed(cases[i].list, (struct sockaddr *)&ss);

		if (got != cases[i].allowed)
			fail_msg("list \"%s\", peer %s: got %d, expected %d",
				 cases[i].list ? cases[i].list : "(unset)", cases[i].peer, got,
				 cases[i].allowed);
	}
}

static void test_peer_unix_is_never_checked(void **state)
{
	struct sockaddr_un un;

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(peer_allowed("127.0.0.1", (struct sockaddr *)&un), 1);
}

static void test_peer_overlong_entry_matches_nothing(void **state)
{
	struct sockaddr_storage ss = peer("::1");
	char list[200];

	(void)state;
	memset(list, '0', 150);
	memcpy(list + 150, "::1,::1", 8); /* "000...000::1" is no address; the next entry is */
	assert_int_equal(peer_allowed(list, (struct sockaddr *)&ss), 1);
	list[153] = '\0';
	assert_int_equal(peer_allowed(list, (struct sockaddr *)&ss), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_cases),
		cmocka_unit_test(test_peer_unix_is_never_checked),
		cmocka_unit_test(test_peer_overlong_entry_matches_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
