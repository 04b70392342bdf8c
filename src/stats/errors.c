/* The error category table and errno classification. */
#include "ringload/errors.h"

#include <errno.h>

const char *const rl_err_names[RL_ERR_COUNT] = {
	[RL_ERR_CONNECT_REFUSED] = "connect_refused",
	[RL_ERR_CONNECT_TIMEOUT] = "connect_timeout",
	[RL_ERR_CONNECT_UNREACHABLE] = "connect_unreachable",
	[RL_ERR_CONNECT_ADDRNOTAVAIL] = "connect_addrnotavail",
	[RL_ERR_CONNECT_OTHER] = "connect_error",
	[RL_ERR_TIMEOUT] = "timeout",
	[RL_ERR_RESET] = "reset",
	[RL_ERR_EOF] = "eof",
	[RL_ERR_PROTOCOL] = "protocol",
	[RL_ERR_IO] = "io_error",
	[RL_ERR_STREAM_REFUSED] = "stream_refused",
	[RL_ERR_H2_MALFORMED] = "h2_malformed",
	[RL_ERR_TLS_HANDSHAKE] = "tls_handshake",
	[RL_ERR_TLS_VERIFY] = "tls_verify",
	[RL_ERR_TLS_ALPN] = "tls_alpn",
	[RL_ERR_TLS_PROTOCOL] = "tls_protocol",
};

const char *const rl_err_descriptions[RL_ERR_COUNT] = {
	[RL_ERR_CONNECT_REFUSED] = "connection refused",
	[RL_ERR_CONNECT_TIMEOUT] = "no connection within --connect-timeout",
	[RL_ERR_CONNECT_UNREACHABLE] = "network or host unreachable",
	[RL_ERR_CONNECT_ADDRNOTAVAIL] = "no local address or port available",
	[RL_ERR_CONNECT_OTHER] = "connect failed",
	[RL_ERR_TIMEOUT] = "no complete response within --timeout",
	[RL_ERR_RESET] = "connection reset by the server",
	[RL_ERR_EOF] = "server closed the connection before the response was complete",
	[RL_ERR_PROTOCOL] = "malformed response",
	[RL_ERR_IO] = "socket error",
	[RL_ERR_STREAM_REFUSED] = "the server refused the stream (REFUSED_STREAM) on every try",
	[RL_ERR_H2_MALFORMED] = "malformed HTTP/2 response, reset by the client",
	[RL_ERR_TLS_HANDSHAKE] = "the TLS handshake failed",
	[RL_ERR_TLS_VERIFY] = "the server's certificate did not verify",
	[RL_ERR_TLS_ALPN] = "the server chose another protocol (ALPN)",
	[RL_ERR_TLS_PROTOCOL] = "a broken TLS record",
};

enum rl_err rl_err_from_connect_errno(int neg_errno)
{
	switch (-neg_errno) {
	case ECONNREFUSED: return RL_ERR_CONNECT_REFUSED;
	/* a linked timeout cancels the connect: -ECANCELED is the connect timeout */
	case ECANCELED:
	case ETIMEDOUT: return RL_ERR_CONNECT_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH: return RL_ERR_CONNECT_UNREACHABLE;
	case EADDRNOTAVAIL: return RL_ERR_CONNECT_ADDRNOTAVAIL;
	default: return RL_ERR_CONNECT_OTHER;
	}
}

enum rl_err rl_err_from_io_errno(int neg_errno)
{
	switch (-neg_errno) {
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED: return RL_ERR_RESET;
	case ETIMEDOUT: return RL_ERR_TIMEOUT;
	default: return RL_ERR_IO;
	}
}
