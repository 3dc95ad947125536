/*
 * test_proxy_guard.c - unit tests of the outbound address guard
 * (ms_addr_is_private in daemons/common/proxy.c), shared by proxy mocks and
 * webhook delivery: every blocked range is refused at its first and last
 * address, the addresses just outside each range are allowed, and IPv4-mapped
 * IPv6 addresses are judged by their IPv4 part. Literal addresses only: no
 * resolver, no network.
 *
 * The connect-time use (a name resolving to loopback, DNS rebinding) is
 * checked end to end in regress/e2e/bounded_io.test.mjs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* The guard's verdict on a literal IPv4 or IPv6 address. */
static bool
blocked(const char *lit)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(lit, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, lit, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, lit, &a->sin_addr), 1);
	}
	return ms_addr_is_private((const struct sockaddr *)&ss);
}

static void
check(const char *const *list, bool want)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		if (blocked(list[i]) != want)
			fail_msg("%s: want %s", list[i], want ? "blocked" : "allowed");
	}
}

static void
test_ipv4(void **state)
{
	static const char *const refused[] = {
	    "0.0.0.0",         "0.255.255.255", "10.0.0.1",        "10.255.255.255",  "100.64.0.0",
	    "100.127.255.255", "127.0.0.1",     "127.255.255.254", "169.254.169.254", "172.16.0.1",
	    "172.31.255.255",  "192.168.0.1",   "198.18.0.0",      "198.19.255.255",  "224.0.0.1",
	    "239.255.255.255", "240.0.0.1",     "255.255.255.254", "255.255.255.255", NULL};
	static const char *const allowed[] = {"1.1.1.1",       "9.255.255.255",
	                                      "11.0.0.0",      "100.63.255.255",
	                                      "100.128.0.0",   "172.15.255.255",
	                                      "172.32.0.0",    "192.167.255.255",
	                                      "192.169.0.0",   "198.17.255.255",
	                                      "198.20.0.0",    "223.255.255.255",
	                                      "93.184.216.34", NULL};

	(void)state;
	check(refused, true);
	check(allowed, false);
}

static void
test_ipv6(void **state)
{
	static const char *const refused[] = {"::",
	                                      "::1",
	                                      "::7f00:1",
	                                      "::ffff:ffff",
	                                      "::a00:1", /* ::/96 */
	                                      "64:ff9b::",
	                                      "64:ff9b::808:808",
	                                      "64:ff9b::ffff:ffff", /* NAT64 */
	                                      "2002::",
	                                      "2002:c000:201::1",
	                                      "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", /* 6to4 */
	                                      "fc00::1",
	                                      "fdff::1",
	                                      "fe80::1",
	                                      "ff02::1",
	                                      "ff0e::1",
	                                      "::ffff:127.0.0.1",
	                                      "::ffff:10.1.2.3",
	                                      "::ffff:198.18.0.1",
	                                      "::ffff:224.0.0.1",
	                                      NULL};
	static const char *const allowed[] = {"2001:4860:4860::8888", "2003::1",         "2001::1",
	                                      "64:ff9b:1::1",         "64:ff9a::1",      "::1:0:0:1",
	                                      "::ffff:8.8.8.8",       "2606:4700::1111", NULL};

	(void)state;
	check(refused, true);
	check(allowed, false);
}

static void
test_unknown_family(void **state)
{
	struct sockaddr sa = {.sa_family = AF_UNIX};

	(void)state;
	assert_true(ms_addr_is_private(&sa));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_unknown_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
