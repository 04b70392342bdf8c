/* `ringload serve --tls`: TLS between the socket and the front ends. io_uring moves the
 * ciphertext; OpenSSL only sees memory (a BIO pair per connection); h1_conn.c and
 * h2_conn.c keep reading c->in and writing c->out as plaintext and never know. ALPN picks
 * h2 or http/1.1 on one port. Without --cert/--key the server makes a fresh self-signed
 * ECDSA P-256 certificate in memory at start. Allocates per connection (its SSL and a
 * ciphertext buffer), never per request. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define TLS_RBIO_MAX (64 * 1024) /* ciphertext taken in ahead of the front end */

static SSL_CTX *srv_ctx;

/* h2 when the client offers it, else http/1.1; a client that offers neither gets no
 * ALPN answer and is read as the preface decides (RFC 7301 3.2 allows either) */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A self-signed certificate for localhost, 127.0.0.1 and ::1, valid for 30 days. */
static int make_certificate(EVP_PKEY **pkey_out, X509 **x509_out)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *san = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int rc = -1;
	if (!pkey || !x || !name || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial number (RFC 5280 4.1.2.2) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
		goto out;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (!san || !X509_add_ext(x, san, -1) || !X509_sign(x, pkey, EVP_sha256()))
		goto out;
	*pkey_out = pkey;
	*x509_out = x;
	pkey = NULL;
	x = NULL;
	rc = 0;
out:
	X509_EXTENSION_free(san);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	return e ? ERR_reason_error_string(e) : "unknown error";
}

int srv_tls_init(const struct srv_options *o, char *fingerprint, size_t fplen, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL;
	if (!ctx) {
		snprintf(err, errlen, "--tls: %s", ssl_reason());
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	if (o->cert_path) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_path) != 1) {
			snprintf(err, errlen, "--cert %s: %s", o->cert_path, ssl_reason());
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, o->key_path, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(err, errlen, "--key %s: %s", o->key_path, ssl_reason());
			goto fail;
		}
		x = SSL_CTX_get0_certificate(ctx);
		X509_up_ref(x);
	} else {
		if (make_certificate(&pkey, &x) || SSL_CTX_use_certificate(ctx, x) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
			snprintf(err, errlen, "--tls: cannot make a certificate: %s", ssl_reason());
			goto fail;
		}
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	for (unsigned i = 0; i < mdlen && 3 * i + 3 <= fplen; i++)
		snprintf(fingerprint + 3 * i, fplen - 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	X509_free(x);
	EVP_PKEY_free(pkey);
	srv_ctx = ctx;
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(pkey);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return -1;
}

void srv_tls_exit(void)
{
	SSL_CTX_free(srv_ctx);
	srv_ctx = NULL;
}

bool srv_tls_enabled(void)
{
	return srv_ctx != NULL;
}

int srv_tls_start(struct srv_conn *c)
{
	c->ssl = SSL_new(srv_ctx);
	BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
	if (!c->tls_in)
		c->tls_in = malloc(SRV_TLS_IN_CAP);
	if (!c->ssl || !rbio || !wbio || !c->tls_in) {
		BIO_free(rbio);
		BIO_free(wbio);
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	SSL_set_bio(c->ssl, rbio, wbio);
	SSL_set_accept_state(c->ssl);
	c->tls_out_len = c->tls_out_sent = 0;
	return 0;
}

void srv_tls_free(struct srv_conn *c)
{
	if (!c->ssl)
		return;
	SSL_free(c->ssl);
	c->ssl = NULL;
	ERR_clear_error();
}

bool srv_tls_may_recv(const struct srv_conn *c)
{
	return BIO_ctrl_pending(SSL_get_rbio(c->ssl)) < TLS_RBIO_MAX;
}

int srv_tls_take(struct srv_conn *c, size_t n)
{
	if (BIO_write(SSL_get_rbio(c->ssl), c->tls_in, (int)n) != (int)n)
		return -1;
	if (!SSL_is_init_finished(c->ssl)) {
		int rc = SSL_do_handshake(c->ssl);
		if (rc != 1 && SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ) {
			if (c->t->opt->verbose)
				fprintf(stderr, "ringload serve: TLS handshake: %s\n", ssl_reason());
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

int srv_tls_unseal(struct srv_conn *c, bool *got)
{
	*got = false;
	while (SSL_is_init_finished(c->ssl) && c->in_len < SRV_IN_CAP) {
		int n = SSL_read(c->ssl, c->in + c->in_len, (int)(SRV_IN_CAP - c->in_len));
		if (n > 0) {
			c->in_len += (size_t)n;
			*got = true;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the client is done sending */
			c->peer_eof = true;
			break;
		}
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* The plaintext queued in out as records, and whatever OpenSSL has to say (handshake
 * messages, tickets) after it, into the ciphertext buffer. */
int srv_tls_seal(struct srv_conn *c)
{
	if (SSL_is_init_finished(c->ssl) && c->out_sent < c->out_len) {
		int n = SSL_write(c->ssl, c->out + c->out_sent, (int)(c->out_len - c->out_sent));
		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		c->out_len = c->out_sent = 0; /* a memory BIO takes it all: out is free again */
		c->tls_plain_out = true;
	}
	BIO *wbio = SSL_get_wbio(c->ssl);
	size_t pending = BIO_ctrl_pending(wbio);
	if (!pending)
		return 0;
	if (srv_buf_grow(&c->tls_out, &c->tls_out_cap, c->tls_out_len + pending, SRV_TLS_IN_CAP))
		return -1;
	int n = BIO_read(wbio, c->tls_out + c->tls_out_len, (int)pending);
	if (n > 0)
		c->tls_out_len += (size_t)n;
	return 0;
}
