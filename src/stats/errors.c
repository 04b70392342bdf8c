/* The error category table and errno classification. */
#include "ringload/errors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	[RL_ERR_TLS_ALERT] = "tls_alert",
	[RL_ERR_CHECK_FAILED] = "check_failed",
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
	[RL_ERR_TLS_ALERT] = "a fatal TLS alert from the server",
	[RL_ERR_CHECK_FAILED] = "a response --expect-status or --expect-body refused",
};

/* RFC 8446 6 and RFC 5246 7.2 (the ones a TLS 1.2 server still sends). */
static const char *const alert_names[RL_TLS_ALERTS] = {
	[0] = "close_notify", [10] = "unexpected_message", [20] = "bad_record_mac",
	[21] = "decryption_failed", [22] = "record_overflow", [30] = "decompression_failure",
	[40] = "handshake_failure", [41] = "no_certificate", [42] = "bad_certificate",
	[43] = "unsupported_certificate", [44] = "certificate_revoked", [45] = "certificate_expired",
	[46] = "certificate_unknown", [47] = "illegal_parameter", [48] = "unknown_ca",
	[49] = "access_denied", [50] = "decode_error", [51] = "decrypt_error",
	[60] = "export_restriction", [70] = "protocol_version", [71] = "insufficient_security",
	[80] = "internal_error", [86] = "inappropriate_fallback", [90] = "user_canceled",
	[100] = "no_renegotiation", [109] = "missing_extension", [110] = "unsupported_extension",
	[111] = "certificate_unobtainable", [112] = "unrecognized_name",
	[113] = "bad_certificate_status_response", [114] = "bad_certificate_hash_value",
	[115] = "unknown_psk_identity", [116] = "certificate_required", [120] = "no_application_protocol",
};

const char *rl_tls_alert_name(unsigned code, char *buf, unsigned long len)
{
	if (code < RL_TLS_ALERTS && alert_names[code])
		return alert_names[code];
	snprintf(buf, len, "alert_%u", code);
	return buf;
}

int rl_tls_alert_parse(const char *name)
{
	for (int i = 0; i < RL_TLS_ALERTS; i++)
		if (alert_names[i] && !strcmp(name, alert_names[i]))
			return i;
	unsigned n;
	char end;
	if (sscanf(name, "alert_%u%c", &n, &end) == 1 && n < RL_TLS_ALERTS)
		return (int)n;
	return -1;
}

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
