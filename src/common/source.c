/* Binding to a local address before the connect: see source.h. */
#include "source.h"

#include <errno.h>
#include <netinet/in.h>

int rl_bind_source(int fd, const struct sockaddr_storage *a)
{
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	socklen_t len = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	return bind(fd, (const struct sockaddr *)a, len) ? -errno : 0;
}
