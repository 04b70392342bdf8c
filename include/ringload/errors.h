/* Failure categories of a request, with their JSON names: the one table every module
 * uses. HTTP statuses >= 400 are not here: they are counted per status code and shown
 * as http_<code>. */
#ifndef RINGLOAD_ERRORS_H
#define RINGLOAD_ERRORS_H

enum rl_err {
	RL_ERR_CONNECT_REFUSED,     /* ECONNREFUSED */
	RL_ERR_CONNECT_TIMEOUT,     /* --connect-timeout passed */
	RL_ERR_CONNECT_UNREACHABLE, /* ENETUNREACH, EHOSTUNREACH */
	RL_ERR_CONNECT_ADDRNOTAVAIL,/* EADDRNOTAVAIL: ephemeral ports exhausted */
	RL_ERR_CONNECT_OTHER,       /* any other connect errno */
	RL_ERR_TIMEOUT,             /* --timeout passed with the response unfinished */
	RL_ERR_RESET,               /* ECONNRESET / EPIPE */
	RL_ERR_EOF,                 /* server closed before the response was complete */
	RL_ERR_PROTOCOL,            /* the response broke RFC 9112 */
	RL_ERR_IO,                  /* any other socket error */
	RL_ERR_STREAM_REFUSED,      /* HTTP/2 RST_STREAM(REFUSED_STREAM), retries used up */
	RL_ERR_H2_MALFORMED,        /* HTTP/2 response nghttp2 rejected and reset itself */
	RL_ERR_TLS_HANDSHAKE,       /* the TLS handshake failed (an alert, a bad message) */
	RL_ERR_TLS_VERIFY,          /* the server's certificate did not verify */
	RL_ERR_TLS_ALPN,            /* the server chose another protocol than the one asked for */
	RL_ERR_TLS_PROTOCOL,        /* a broken TLS record after the handshake */
	RL_ERR_TLS_ALERT,           /* a fatal alert from the server: shown per description,
				     * tls_alert:<RFC 8446 name> (struct rl_stats tls_alert) */
	RL_ERR_CHECK_FAILED,        /* a response --expect-status or --expect-body refused */
	RL_ERR_COUNT
};

#define RL_TLS_ALERTS 128 /* alert descriptions counted one by one (RFC 8446 6: 0..120) */

extern const char *const rl_err_names[RL_ERR_COUNT];
/* What each category means, for --failures when no detail was recorded. */
extern const char *const rl_err_descriptions[RL_ERR_COUNT];

/* Maps a negative errno from a connect completion to its category. */
enum rl_err rl_err_from_connect_errno(int neg_errno);
/* Maps a negative errno from a send or receive completion to its category. */
enum rl_err rl_err_from_io_errno(int neg_errno);
/* An alert description's RFC 8446 name ("certificate_required"), or "alert_<n>". */
const char *rl_tls_alert_name(unsigned code, char *buf, unsigned long len);
/* The code of a name rl_tls_alert_name gives, or -1. */
int rl_tls_alert_parse(const char *name);

#endif
