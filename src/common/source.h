/* Binding a socket to a chosen local address before its connect (--source), shared by
 * the engine's connections and the CLI's check that each address is this machine's. */
#ifndef RINGLOAD_COMMON_SOURCE_H
#define RINGLOAD_COMMON_SOURCE_H

#include <sys/socket.h>

/* Binds fd to the address a (IPv4 or IPv6) with no port: the connect picks the port per
 * destination (IP_BIND_ADDRESS_NO_PORT), so each local address has its own 64k ports to
 * every server address and port. 0, or a negative errno. */
int rl_bind_source(int fd, const struct sockaddr_storage *a);

#endif
