/* TLS as a transport (OpenSSL 3): io_uring does all the socket I/O, OpenSSL only sees
 * memory, through a BIO of ours: it reads the ciphertext of a receive in place, from the
 * provided buffer it arrived in, and writes its records straight into the connection's
 * own ciphertext buffer, which the turn's one send sends. Plaintext goes to the
 * protocol; the protocol's plaintext is encrypted in the same way. No protocol knows. */
#ifndef RINGLOAD_TLS_H
#define RINGLOAD_TLS_H

#include <openssl/ssl.h>

#include "worker.h"

struct rl_tls_conn {
	SSL *ssl;
	uint8_t *out;         /* ciphertext to send: [out_sent, out_len) */
	uint32_t out_len, out_sent, out_cap;
	const uint8_t *in;    /* the receive OpenSSL reads now, in place: [in, in + in_len) */
	uint32_t in_len;
	uint32_t spill_len, spill_cap; /* ciphertext a receive left unread, kept for the next */
	uint8_t *spill;
	bool wrote;           /* OpenSSL wrote records (or a handshake message) since the last look */
	uint64_t start_ns;    /* TCP connected: the handshake's start */
	bool ready;           /* the handshake finished: plaintext flows */
	bool got_plain;       /* plaintext came: a later alert is not the handshake's */
	int alert;            /* the fatal alert the server sent, or -1 */
	bool cert_asked;      /* the server asked for a client certificate and we had none */
	bool first_over;      /* this slot's first handshake ended (the ramp's count) */
};

/* https://: the target's SSL_CTX (verification, ALPN for its protocol, SNI name). */
int rl_tls_target_init(struct rl_target *t, const struct rl_request_spec *spec, char *err, size_t errlen);
void rl_tls_target_free(struct rl_target *t);
/* A worker's TLS memory: a state and a ciphertext buffer per connection, when any
 * target is https:// (0, or a negative errno). */
int rl_tls_worker_setup(struct rl_worker *w);
/* The pre-flight's handshake on a connected blocking socket, within timeout_ns: 0, or
 * -EPROTO with why (the certificate's fault, the ALPN the server chose, its alert). 0
 * with why set is a warning: the server asked for a client certificate, none was given. */
int rl_tls_probe(const struct rl_target *t, int fd, uint64_t timeout_ns, char *why, size_t whylen);
void rl_tls_worker_free(struct rl_worker *w);

#endif
