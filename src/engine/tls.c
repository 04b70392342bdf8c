/* The TLS transport: see tls.h. A connection's handshake runs from its connect
 * completion; until it finishes the protocol is not opened. Every failure is counted
 * under its own category with OpenSSL's reason: tls_verify (the certificate), tls_alpn
 * (the server chose another protocol), tls_alert:<name> (a fatal alert from the server,
 * during the handshake or later), tls_handshake (a bad or missing handshake message),
 * tls_protocol (a broken record later). A close without close_notify after a whole
 * response is not an error: the response was whole (the TCP close is what ends it). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proto.h"
#include "tls.h"
#include "transport.h"

#define TLS_PLAIN_SIZE  16384          /* one record's plaintext, read at a time */
#define TLS_RECORD_ROOM (16384 + 512)  /* one record's ciphertext, with its overhead */
#define TLS_OUT_EXTRA   (64 * 1024)    /* beyond the plaintext buffer: handshake messages */
#define PROBE_ALERT_WAIT_US 150000     /* pre-flight, TLS 1.3: how long a refusal may take */
#define TLS_KEEP_BUFFERS_MAX 256       /* connections per thread that keep their buffers */
/* What is offered without --ciphers / --ciphersuites: OpenSSL's own set, in the order
 * browsers, Go and h2load offer it, AES-128-GCM first (OpenSSL's own order puts
 * AES-256-GCM first, which costs client and server more per record and, with SHA-384,
 * per handshake). */
#define DEFAULT_CIPHERS "ECDHE+AESGCM+AES128:ECDHE+AESGCM:ECDHE+CHACHA20:ALL:!COMPLEMENTOFDEFAULT:!eNULL"
#define DEFAULT_SUITES  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static bool is_ip_literal(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* A flag's value OpenSSL refused: the message names the flag and OpenSSL's reason. */
static int refused(const char *flag, const char *value, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	snprintf(err, errlen, "%s '%s': %s", flag, value, e ? ERR_reason_error_string(e) : "not accepted by OpenSSL");
	ERR_clear_error();
	return -1;
}

/* A fatal alert the server sent, kept on the connection's state (its app data) so the
 * failure is counted under the alert's own name. */
static void alert_seen(const SSL *ssl, int where, int ret)
{
	struct rl_tls_conn *st = SSL_get_app_data(ssl);
	if ((where & SSL_CB_READ_ALERT) && st && (ret >> 8) == SSL3_AL_FATAL)
		st->alert = ret & 0xff;
}

/* Called only when the server asks for a certificate and none was given (--cert): the
 * handshake goes on without one; the pre-flight says so. */
static int cert_asked(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct rl_tls_conn *st = SSL_get_app_data(ssl);
	if (st)
		st->cert_asked = true;
	return 0;
}

/* "h2,http/1.1" as ALPN's wire format: each name after its length byte. */
static int alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
{
	*len = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (!n || n > 255 || *len + 1 + n > cap)
			return -1;
		out[(*len)++] = (unsigned char)n;
		memcpy(out + *len, p, n);
		*len += n;
		p += n + (p[n] == ',');
	}
	return *len ? 0 : -1;
}

int rl_tls_target_init(struct rl_target *t, const struct rl_request_spec *spec, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "%s: cannot make a TLS context", t->url);
		return -1;
	}
	t->tls_ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, spec->tls_min ? spec->tls_min : TLS1_2_VERSION);
	if (spec->tls_max)
		SSL_CTX_set_max_proto_version(ctx, spec->tls_max);
	if (spec->tls_min && spec->tls_max && spec->tls_min > spec->tls_max) {
		snprintf(err, errlen, "--tls-min is above --tls-max");
		return -1;
	}
	const char *ciphers = spec->ciphers ? spec->ciphers : DEFAULT_CIPHERS;
	const char *suites = spec->ciphersuites ? spec->ciphersuites : DEFAULT_SUITES;
	if (!SSL_CTX_set_cipher_list(ctx, ciphers))
		return refused("--ciphers", ciphers, err, errlen);
	if (!SSL_CTX_set_ciphersuites(ctx, suites))
		return refused("--ciphersuites", suites, err, errlen);
	if (spec->curves && !SSL_CTX_set1_groups_list(ctx, spec->curves))
		return refused("--curves", spec->curves, err, errlen);
	if (!spec->cert != !spec->key) {
		snprintf(err, errlen, "--cert and --key go together");
		return -1;
	}
	if (spec->cert && SSL_CTX_use_certificate_chain_file(ctx, spec->cert) != 1)
		return refused("--cert", spec->cert, err, errlen);
	if (spec->key && (SSL_CTX_use_PrivateKey_file(ctx, spec->key, SSL_FILETYPE_PEM) != 1 ||
			  SSL_CTX_check_private_key(ctx) != 1))
		return refused("--key", spec->key, err, errlen);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_info_callback(ctx, alert_seen);
	SSL_CTX_set_client_cert_cb(ctx, cert_asked);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	snprintf(t->tls_name, sizeof(t->tls_name), "%s", spec->sni ? spec->sni : t->u.host);
	if (!spec->tls_no_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (spec->cacert ? !SSL_CTX_load_verify_locations(ctx, spec->cacert, NULL)
				 : !SSL_CTX_set_default_verify_paths(ctx)) {
			snprintf(err, errlen, "--cacert '%s': cannot load it: %s", spec->cacert ? spec->cacert : "(system)",
				 ERR_reason_error_string(ERR_get_error()));
			ERR_clear_error();
			return -1;
		}
	}
	/* HTTP/2 needs the server to choose h2 (RFC 9113 3.2); HTTP/1.1 offers http/1.1.
	 * --alpn changes what is offered, not what the protocol can speak. */
	bool want_h2 = spec->proto != RL_PROTO_H1;
	t->alpn = want_h2 ? "h2" : "http/1.1";
	unsigned char wire[256];
	size_t wlen;
	if (alpn_wire(spec->alpn ? spec->alpn : t->alpn, wire, sizeof(wire), &wlen)) {
		snprintf(err, errlen, "--alpn '%s': expected names like h2,http/1.1", spec->alpn);
		return -1;
	}
	SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)wlen);
	return 0;
}

void rl_tls_target_free(struct rl_target *t)
{
	SSL_CTX_free(t->tls_ctx);
	t->tls_ctx = NULL;
}

int rl_tls_worker_setup(struct rl_worker *w)
{
	bool any = false;
	for (size_t i = 0; i < w->sh->ntargets; i++)
		any |= w->sh->targets[i].u.tls;
	if (!any)
		return 0;
	w->tls_out_cap = w->out_cap + TLS_OUT_EXTRA;
	w->tls_mem = calloc(w->nconns, sizeof(*w->tls_mem));
	w->tls_out_mem = malloc((size_t)w->nconns * w->tls_out_cap);
	w->tls_plain = malloc(TLS_PLAIN_SIZE);
	w->tls_sessions = calloc(w->sh->ntargets, sizeof(*w->tls_sessions));
	if (!w->tls_mem || !w->tls_out_mem || !w->tls_plain || !w->tls_sessions)
		return -ENOMEM;
	w->tls_ramp_left = w->nconns;
	for (uint32_t i = 0; i < w->nconns; i++) {
		w->conns[i].tls = &w->tls_mem[i];
		w->tls_mem[i].out = &w->tls_out_mem[(size_t)i * w->tls_out_cap];
		w->tls_mem[i].out_cap = w->tls_out_cap;
	}
	return 0;
}

void rl_tls_worker_free(struct rl_worker *w)
{
	for (uint32_t i = 0; w->tls_mem && i < w->nconns; i++) {
		SSL_free(w->tls_mem[i].ssl);
		free(w->tls_mem[i].spill);
	}
	for (size_t t = 0; w->tls_sessions && t < w->sh->ntargets; t++)
		SSL_SESSION_free(w->tls_sessions[t]);
	free(w->tls_sessions);
	free(w->tls_mem);
	free(w->tls_out_mem);
	free(w->tls_plain);
}

/* OpenSSL's reason for the last failure, for --failures. */
static const char *tls_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	snprintf(buf, len, "%s", e ? ERR_reason_error_string(e) : "the server closed or broke the handshake");
	ERR_clear_error();
	return buf;
}

/* A record the TLS record layer could not read (plaintext where a record belongs, a
 * wrong length, a bad MAC): tls_protocol, wherever it comes. */
static bool record_fault(void)
{
	switch (ERR_GET_REASON(ERR_peek_last_error())) {
	case SSL_R_WRONG_VERSION_NUMBER: case SSL_R_PACKET_LENGTH_TOO_LONG: case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST: case SSL_R_RECORD_LENGTH_MISMATCH: case SSL_R_RECORD_TOO_SMALL:
	case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC: case SSL_R_UNEXPECTED_RECORD:
	case SSL_R_ENCRYPTED_LENGTH_TOO_LONG: case SSL_R_BAD_RECORD_TYPE: case SSL_R_DATA_LENGTH_TOO_LONG:
		return true;
	default:
		return false;
	}
}

/* A failure under an alert's name: "alert certificate_required from the server". */
static enum rl_err alert_failure(int alert, char *why, size_t len)
{
	char code[16];
	snprintf(why, len, "alert %s from the server", rl_tls_alert_name((unsigned)alert, code, sizeof(code)));
	ERR_clear_error();
	return RL_ERR_TLS_ALERT;
}

/* Why a handshake failed: the certificate (tls_verify), an alert the server sent, else
 * OpenSSL's reason. */
static enum rl_err handshake_failure(SSL *ssl, char *why, size_t len)
{
	long verify = SSL_get_verify_result(ssl);
	const struct rl_tls_conn *st = SSL_get_app_data(ssl);
	if (verify == X509_V_OK && st && st->alert >= 0)
		return alert_failure(st->alert, why, len);
	if (verify == X509_V_OK) {
		bool record = record_fault();
		tls_reason(why, len);
		return record ? RL_ERR_TLS_PROTOCOL : RL_ERR_TLS_HANDSHAKE;
	}
	snprintf(why, len, "certificate: %s", X509_verify_cert_error_string(verify));
	ERR_clear_error();
	return RL_ERR_TLS_VERIFY;
}

/* The name a session sends (SNI) and checks the certificate against. */
static void name_session(SSL *ssl, const struct rl_target *t)
{
	if (!is_ip_literal(t->tls_name)) /* SNI carries names, never addresses (RFC 6066 3) */
		SSL_set_tlsext_host_name(ssl, t->tls_name);
	if (SSL_CTX_get_verify_mode(t->tls_ctx) & SSL_VERIFY_PEER) {
		if (is_ip_literal(t->tls_name))
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->tls_name);
		else
			SSL_set1_host(ssl, t->tls_name);
	}
}

/* A server that answered a handshake below TLS 1.3 answers the next one the same way: new
 * connections to it offer that version as their highest. Offering TLS 1.3 costs a key
 * share (an X25519 key made for the ClientHello) that such a server ignores, about an
 * eighth of a client's full handshake; without it the handshake and what the server does
 * are the same. A failed handshake forgets the version, so the next one offers OpenSSL's
 * whole range again. The pre-flight and every thread share it (relaxed atomics: a stale
 * read costs one key share, nothing else). */
static void offer_version(SSL *ssl, const struct rl_target *t)
{
	uint16_t v = __atomic_load_n(&t->tls_offer_max, __ATOMIC_RELAXED);
	if (v)
		SSL_set_max_proto_version(ssl, v);
}

static void learn_version(const struct rl_target *t, const SSL *ssl, bool ok)
{
	/* the one field of a shared target a connection writes, and only when it changes:
	 * every thread reads the target's cache line on each request */
	uint16_t *memo = (uint16_t *)&t->tls_offer_max;
	int v = ok ? SSL_version(ssl) : 0;
	uint16_t max = (uint16_t)(v >= TLS1_VERSION && v < TLS1_3_VERSION ? v : 0);
	if (__atomic_load_n(memo, __ATOMIC_RELAXED) != max)
		__atomic_store_n(memo, max, __ATOMIC_RELAXED);
}

/* The ALPN outcome against what the protocol needs: NULL when it can speak, else why. */
static const char *alpn_mismatch(SSL *ssl, const struct rl_target *t, char *why, size_t len)
{
	const unsigned char *alpn;
	unsigned alen;
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	bool h1 = !strcmp(t->alpn, "http/1.1");
	if (!(alen || !h1) || (alen == strlen(t->alpn) && !memcmp(alpn, t->alpn, alen)))
		return NULL;
	snprintf(why, len, "server chose %.*s; %s needs %s", alen ? (int)alen : 4,
		 alen ? (const char *)alpn : "none", h1 ? "HTTP/1.1" : "--h2", t->alpn);
	return why;
}

/* ---- the BIO: OpenSSL reads a receive in place and writes into the send buffer ----
 * A memory BIO pair would copy every byte twice more (the ciphertext into the read BIO,
 * the records out of the write BIO) and costs a BUF_MEM and a dozen BIO_ctrl calls per
 * request: about 2,200 instructions of a keep-alive HTTPS request's 13,000. */

/* The ciphertext OpenSSL asks for: first what an earlier receive left unread, then the
 * receive being read now. None left: "retry", which SSL_read reports as WANT_READ. */
static int bio_read(BIO *b, char *to, size_t len, size_t *got)
{
	struct rl_tls_conn *st = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	size_t n = 0;
	if (st->spill_len) {
		n = len < st->spill_len ? len : st->spill_len;
		memcpy(to, st->spill, n);
		st->spill_len -= (uint32_t)n;
		memmove(st->spill, st->spill + n, st->spill_len);
	} else if (st->in_len) {
		n = len < st->in_len ? len : st->in_len;
		memcpy(to, st->in, n);
		st->in += n;
		st->in_len -= (uint32_t)n;
	}
	*got = n;
	if (!n) {
		BIO_set_retry_read(b);
		return 0;
	}
	return 1;
}

/* Records and handshake messages, appended to the ciphertext the next send carries (a
 * send in flight covers only what was there when it left). Full: "retry". */
static int bio_write(BIO *b, const char *from, size_t len, size_t *put)
{
	struct rl_tls_conn *st = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	size_t room = st->out_cap - st->out_len, n = len < room ? len : room;
	*put = n;
	if (!n) {
		BIO_set_retry_write(b);
		return 0;
	}
	memcpy(st->out + st->out_len, from, n);
	st->out_len += (uint32_t)n;
	st->wrote = true;
	return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	const struct rl_tls_conn *st = BIO_get_data(b);
	switch (cmd) {
	case BIO_CTRL_FLUSH:
	case BIO_CTRL_DUP:
		return 1;
	case BIO_CTRL_PENDING:
		return st ? (long)st->spill_len + st->in_len : 0;
	default: /* no kTLS, no EOF of its own (the TCP close is the engine's), no push */
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *inplace_method;

static void inplace_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringload in place");
	if (m && BIO_meth_set_read_ex(m, bio_read) && BIO_meth_set_write_ex(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
		inplace_method = m;
	else
		BIO_meth_free(m);
}

/* What a receive left unread (OpenSSL stopped before the end of it) waits for the next
 * one: the receive's buffer goes back to the kernel. Rare: every read runs until OpenSSL
 * has taken all of it. */
static bool keep_unread(struct rl_tls_conn *st)
{
	uint32_t need = st->spill_len + st->in_len;
	if (need > st->spill_cap) {
		uint8_t *p = realloc(st->spill, need);
		if (!p)
			return false;
		st->spill = p;
		st->spill_cap = need;
	}
	memcpy(st->spill + st->spill_len, st->in, st->in_len);
	st->spill_len = need;
	st->in_len = 0;
	return true;
}

/* Hands what free() kept back to the kernel. Under ASan the allocator is ASan's, and glibc's
 * arenas are never set up before this call: two workers calling malloc_trim at once raced
 * in glibc's own first-time set-up and one walked its still empty bins (a SEGV in mtrim,
 * about one run in a hundred), and there is nothing of glibc's to trim anyway. */
static void release_freed_memory(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return;
#else
	malloc_trim(0);
#endif
}

/* Every slot's first handshake has ended: the peak of thousands of handshakes at once
 * (OpenSSL's 16 KiB message and record buffers each) is over, and what they freed is
 * handed back to the kernel, once, so an open connection costs what it holds. */
static void first_handshake_over(struct rl_worker *w, struct rl_tls_conn *st)
{
	if (st->first_over)
		return;
	st->first_over = true;
	if (--w->tls_ramp_left == 0)
		release_freed_memory();
}

/* Drives the handshake: 0 done (the protocol is opened), 1 waiting for the server, -1
 * failed (counted, the connection closed). */
static int handshake(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_tls_conn *st = c->tls;
	int rc = SSL_do_handshake(st->ssl);
	if (rc != 1) {
		if (SSL_get_error(st->ssl, rc) == SSL_ERROR_WANT_READ) {
			rl_conn_mark_dirty(w, c); /* the ClientHello, or the Finished, leaves this turn */
			return 1;
		}
		char why[160];
		enum rl_err err = handshake_failure(st->ssl, why, sizeof(why));
		w->tls_alert = (unsigned)st->alert;
		learn_version(rl_conn_target(w, c), st->ssl, false);
		first_handshake_over(w, st);
		rl_conn_setup_failed(w, c, err, why);
		return -1;
	}
	char why[128];
	if (alpn_mismatch(st->ssl, rl_conn_target(w, c), why, sizeof(why))) {
		rl_conn_setup_failed(w, c, RL_ERR_TLS_ALPN, why);
		return -1;
	}
	learn_version(rl_conn_target(w, c), st->ssl, true);
	struct rl_stats *s = rl_conn_stats(w, c);
	rl_hist_record_ns(&s->tls, w->now_ns - st->start_ns);
	if (!s->agreed.version[0]) {
		const unsigned char *alpn;
		unsigned alen;
		SSL_get0_alpn_selected(st->ssl, &alpn, &alen);
		snprintf(s->agreed.version, sizeof(s->agreed.version), "%s", SSL_get_version(st->ssl));
		snprintf(s->agreed.cipher, sizeof(s->agreed.cipher), "%s", SSL_get_cipher_name(st->ssl));
		snprintf(s->agreed.alpn, sizeof(s->agreed.alpn), "%.*s", (int)alen, (const char *)alpn);
	}
	if (SSL_session_reused(st->ssl))
		s->handshakes_resumed++;
	else
		s->handshakes_full++;
	st->ready = true;
	first_handshake_over(w, st);
	rl_conn_ready(w, c);
	return 0;
}

int rl_tls_probe(const struct rl_target *t, int fd, uint64_t timeout_ns, char *why, size_t whylen)
{
	struct timeval tv = { (time_t)(timeout_ns / 1000000000), (suseconds_t)(timeout_ns % 1000000000 / 1000) };
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	SSL *ssl = SSL_new(t->tls_ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		snprintf(why, whylen, "out of memory for a TLS session");
		return -ENOMEM;
	}
	struct rl_tls_conn probe_state = { .alert = -1 };
	SSL_set_app_data(ssl, &probe_state);
	name_session(ssl, t);
	offer_version(ssl, t);
	int rc = 0;
	char reason[160];
	if (SSL_connect(ssl) != 1) {
		enum rl_err err = handshake_failure(ssl, reason, sizeof(reason));
		snprintf(why, whylen, "TLS %s%s", err == RL_ERR_TLS_HANDSHAKE ? "handshake: " : "", reason);
		rc = -EPROTO;
	} else if (alpn_mismatch(ssl, t, why, whylen)) {
		rc = -EPROTO;
	} else if (SSL_version(ssl) == TLS1_3_VERSION) {
		/* TLS 1.3 ends the client's handshake before the server has checked the client:
		 * a server that refuses us (a client certificate required) alerts just after */
		struct timeval brief = { 0, PROBE_ALERT_WAIT_US };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof(brief));
		char byte;
		if (SSL_peek(ssl, &byte, 1) <= 0 && SSL_get_error(ssl, 0) == SSL_ERROR_SSL) {
			handshake_failure(ssl, reason, sizeof(reason));
			snprintf(why, whylen, "TLS handshake: %s", reason);
			rc = -EPROTO;
		}
	}
	learn_version(t, ssl, !rc);
	if (!rc && probe_state.cert_asked)
		snprintf(why, whylen, "the server asked for a client certificate and none was given (--cert, --key): "
			 "a server that requires one refuses every request");
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(ssl);
	ERR_clear_error();
	return rc;
}

static int tls_connected(struct rl_worker *w, struct rl_conn *c)
{
	const struct rl_target *t = rl_conn_target(w, c);
	struct rl_tls_conn *st = c->tls;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, inplace_method_init);
	st->ssl = SSL_new(t->tls_ctx);
	BIO *bio = inplace_method ? BIO_new(inplace_method) : NULL;
	if (!st->ssl || !bio) {
		BIO_free(bio);
		rl_conn_setup_failed(w, c, RL_ERR_TLS_HANDSHAKE, "out of memory for a TLS session");
		return -1;
	}
	BIO_set_data(bio, st);
	SSL_set_bio(st->ssl, bio, bio); /* one BIO both ways: one reference */
	SSL_set_connect_state(st->ssl);
	SSL_set_app_data(st->ssl, st);
	/* with many connections, idle ones hold no record buffers (about 34 KiB each); with
	 * few, keeping them saves a malloc and free of each per record */
	if (w->nconns > TLS_KEEP_BUFFERS_MAX)
		SSL_set_mode(st->ssl, SSL_MODE_RELEASE_BUFFERS);
	st->alert = -1;
	st->cert_asked = false;
	name_session(st->ssl, t);
	offer_version(st->ssl, t);
	/* a new connection offers the session its thread got last, --tls-resume of the
	 * time (an even spread: the fraction accumulates) */
	SSL_SESSION *sess = w->tls_sessions[c->target];
	if (sess) {
		w->tls_resume_acc += w->sh->plan->tls_resume;
		if (w->tls_resume_acc >= 1) {
			w->tls_resume_acc -= 1;
			SSL_set_session(st->ssl, sess);
		}
	}
	st->start_ns = w->now_ns;
	st->ready = false;
	st->got_plain = false;
	st->out_len = st->out_sent = 0;
	st->in_len = st->spill_len = 0;
	st->wrote = false;
	return handshake(w, c); /* 1 while it waits for the server: what on_connected returns */
}

/* The receive's records, read in place: false when the connection ended (counted, and
 * its SSL gone). */
static bool read_records(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_tls_conn *st = c->tls;
	if (!st->ready) {
		int rc = handshake(w, c);
		if (rc)
			return rc > 0;
	}
	for (;;) {
		int n = SSL_read(st->ssl, w->tls_plain, TLS_PLAIN_SIZE);
		if (n > 0) {
			st->got_plain = true;
			if (!c->proto->consume(w, c, w->tls_plain, (size_t)n))
				return false; /* the protocol closed the connection: its SSL is gone */
			/* all read: no record left to open, so no SSL_read to fail with WANT_READ
			 * (OpenSSL's error path costs as much as a small record) */
			if (!st->in_len && !st->spill_len && !SSL_has_pending(st->ssl))
				break;
			continue;
		}
		int e = SSL_get_error(st->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_ZERO_RETURN)
			break; /* more to come; or close_notify, and the TCP close follows */
		/* an alert before any plaintext ends a handshake the server did not accept (TLS
		 * 1.3 checks the client after the client is done: a certificate required) */
		char why[160];
		enum rl_err err = st->got_plain || record_fault() ? RL_ERR_TLS_PROTOCOL : RL_ERR_TLS_HANDSHAKE;
		if (st->alert >= 0)
			err = alert_failure(st->alert, why, sizeof(why));
		else
			tls_reason(why, sizeof(why));
		w->tls_alert = (unsigned)st->alert;
		rl_conn_fail(w, c, err, why);
		return false;
	}
	if (st->wrote)
		rl_conn_mark_dirty(w, c); /* a post-handshake message to answer */
	return true;
}

static bool tls_bytes(struct rl_worker *w, struct rl_conn *c, const uint8_t *data, size_t len)
{
	struct rl_tls_conn *st = c->tls;
	st->in = data;
	st->in_len = (uint32_t)len;
	bool open = read_records(w, c);
	bool kept = !open || !st->in_len || keep_unread(st);
	st->in_len = 0; /* the receive's buffer goes back to the kernel */
	if (!kept) {
		rl_conn_fail(w, c, RL_ERR_IO, "out of memory for unread TLS records");
		return false;
	}
	return open;
}

/* The protocol's plaintext into records, then one send of the ciphertext. */
static void tls_flush(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_tls_conn *st = c->tls;
	if (!st->ssl || c->send_busy)
		return;
	if (st->ready && c->out_len > c->out_sent) {
		uint32_t done = 0, queued = c->out_len - c->out_sent;
		while (done < queued && w->tls_out_cap - st->out_len >= TLS_RECORD_ROOM) {
			int chunk = queued - done > TLS_PLAIN_SIZE ? TLS_PLAIN_SIZE : (int)(queued - done);
			int n = SSL_write(st->ssl, c->out + c->out_sent + done, chunk);
			if (n <= 0)
				break;
			done += (uint32_t)n;
		}
		if (done) {
			/* the requests are handed over with this turn's send of their records */
			if (c->proto->handed)
				c->proto->handed(w, c, w->flush_ns);
			rl_conn_sent_plain(w, c, done);
		}
	}
	st->wrote = false;
	if (st->out_len > st->out_sent)
		rl_io_send(w, c, st->out + st->out_sent, st->out_len - st->out_sent);
}

static void tls_sent(struct rl_worker *w, struct rl_conn *c, uint32_t res)
{
	struct rl_tls_conn *st = c->tls;
	st->out_sent += res;
	if (st->out_sent < st->out_len) {
		memmove(st->out, st->out + st->out_sent, st->out_len - st->out_sent);
		st->out_len -= st->out_sent;
		rl_conn_mark_dirty(w, c);
	} else {
		st->out_len = 0;
	}
	st->out_sent = 0;
	/* plaintext queued while this send was out, or a protocol waiting for the send to
	 * finish (a connection to retire): the next turn looks */
	rl_conn_mark_dirty(w, c);
}

/* The server's TCP close: in the middle of a record, or of the handshake, it is TLS's to
 * count (true); after whole records, the protocol decides whether its response was whole. */
static bool tls_eof(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_tls_conn *st = c->tls;
	if (!st->ssl)
		return false;
	if (SSL_has_pending(st->ssl) || st->spill_len) {
		rl_conn_fail(w, c, RL_ERR_TLS_PROTOCOL, "the server closed in the middle of a TLS record");
		return true;
	}
	if (!st->ready) {
		rl_conn_setup_failed(w, c, RL_ERR_TLS_HANDSHAKE, "the server closed during the TLS handshake");
		return true;
	}
	return false;
}

static void tls_free(struct rl_worker *w, struct rl_conn *c)
{
	struct rl_tls_conn *st = c->tls;
	if (!st || !st->ssl)
		return;
	if (st->ready) {
		/* TLS 1.3 sends its tickets after the handshake: the latest is taken now */
		SSL_SESSION *s = SSL_get1_session(st->ssl);
		SSL_SESSION **kept = &w->tls_sessions[c->target];
		if (s && SSL_SESSION_is_resumable(s)) {
			SSL_SESSION_free(*kept);
			*kept = s;
		} else {
			SSL_SESSION_free(s);
		}
	}
	/* no close_notify is sent (the socket closes under it), but the session was used
	 * properly: without this, SSL_free marks it not resumable */
	SSL_set_shutdown(st->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(st->ssl); /* and its BIOs */
	st->ssl = NULL;
	st->ready = false;
	st->out_len = st->out_sent = 0;
	st->spill_len = 0;
	ERR_clear_error();
}

const struct rl_transport rl_transport_tls = {
	.name = "tls",
	.socket = rl_transport_tcp_socket,
	.on_connected = tls_connected,
	.on_bytes = tls_bytes,
	.flush = tls_flush,
	.on_sent = tls_sent,
	.on_eof = tls_eof,
	.free = tls_free,
};
