/*
 * util.c - the base layer's helpers shared by every folder of mock-resolver:
 * the monotonic and wall clocks, the process start time, and the
 * libmicrohttpd start-up both ports use (serving/http.c on HTTP_PORT,
 * dashboard/dashboard.c on DASHBOARD_PORT).
 */
#include "resolver.h"

#include "log.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

time_t rs_started_at;

int64_t
rs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rs_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Starts an MHD daemon on bind:port with the resolver's handler conventions
 * (shared by both ports through the handler passed). threads <= 1 means
 * one internal polling thread.
 */
struct MHD_Daemon *
rs_mhd_start(const char *bind, int port, int threads, MHD_AccessHandlerCallback handler,
             MHD_RequestCompletedCallback completed,
             void *(*urilog)(void *, const char *, struct MHD_Connection *))
{
	struct addrinfo hints = {0}, *ai = NULL;
	char portstr[16];
	unsigned int flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	int rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(bind, portstr, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		log_error("HTTP_BIND_ADDR %s: %s", bind, gai_strerror(rc));
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		struct MHD_OptionItem opts[] = {
		    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, NULL},
		    {MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr},
		    {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)urilog, NULL},
		    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL},
		    {MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL},
		    {MHD_OPTION_CONNECTION_LIMIT, 4096, NULL},
		    {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
		    /* cleared before every request of a keep-alive connection: HTTP_CONNECTION_MEMORY_KB */
		    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)(rs_cfg.http_conn_memory ? rs_cfg.http_conn_memory : 24576), NULL},
		    /* last, so that one thread means "no pool" rather than a warning */
		    {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
		    {MHD_OPTION_END, 0, NULL},
		};

		d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, NULL, MHD_OPTION_ARRAY, opts,
		                     MHD_OPTION_END);
	}
	freeaddrinfo(ai);
	if (d == NULL)
		log_error("cannot listen on %s:%d", bind, port);
	return d;
}
