/* Private to `ringload serve`: threads, connections and the front ends that turn
 * bytes into plans (routes.h) and plans into bytes. server.c owns the event loop,
 * h1_conn.c speaks HTTP/1.1, h2_conn.c speaks h2c and gRPC through nghttp2. */
#ifndef RINGLOAD_SERVE_SERVER_H
#define RINGLOAD_SERVE_SERVER_H

#include <liburing.h>

#include "common/userdata.h"
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "routes.h"

#define SRV_IN_CAP  32768  /* request header block + what pipelines behind it */
#define SRV_OUT_MIN 65536
#define SRV_TLS_IN_CAP 16709 /* one TLS record, header and expansion included */

/* user_data of connection operations: op (8 bits) | slot (24) | generation (32).
 * h2 stream timers carry the stream's address instead: its top byte is 0. */
enum srv_op { S_ACCEPT = 1, S_RECV, S_SEND, S_TIMER, S_CLOSE, S_CANCEL };

enum h1_state { H1_IDLE, H1_READ_BODY, H1_WAIT_TTFB, H1_SEND_HEAD, H1_WAIT_BODY, H1_SEND_BODY };

struct srv_thread;
struct srv_stream;

struct srv_conn {
	uint32_t slot, gen;
	int fd;
	struct srv_thread *t;
	bool open, h2, recv_armed, send_busy, timer_armed, peer_eof, close_after;
	uint8_t in[SRV_IN_CAP];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_sent, out_cap;
	struct __kernel_timespec ts;
	/* HTTP/1.1: one response at a time, in request order */
	enum h1_state h1;
	struct rl_serve_plan plan;
	uint64_t body_left, body_off, req_body_left, started_ns;
	bool head_only, keep_alive;
	/* h2c */
	nghttp2_session *session;
	struct srv_stream *streams;
	struct srv_conn *next_free;
	/* --tls: the session; ciphertext in (one receive) and out (one send) */
	struct ssl_st *ssl;
	uint8_t *tls_in, *tls_out;
	size_t tls_out_len, tls_out_sent, tls_out_cap;
	bool tls_plain_out; /* the send in flight carries plaintext (the front end waits) */
	bool tls_failed;    /* a record could not be made: closed once the front end returns */
};

struct srv_options {
	const char *bind;
	const char *unix_path;  /* --unix PATH: listen there instead of on TCP */
	unsigned port, threads;
	int verbose;
	bool tls;                         /* --tls: HTTPS, h2 or http/1.1 by ALPN */
	const char *cert_path, *key_path; /* --cert/--key; without, a fresh self-signed one */
};

struct srv_thread {
	unsigned id;
	struct io_uring ring;
	bool ring_disabled; /* made R_DISABLED by main: the loop enables it, as its issuer */
	bool defer_taskrun;
	int listen_fd;
	const struct srv_options *opt;
	struct rl_serve_counters *ctr;
	struct srv_conn **slots;
	uint32_t nslots;
	struct srv_conn *free;
	_Atomic int *stop;
};

static inline uint64_t srv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* server.c: I/O for the front ends */
int srv_buf_grow(uint8_t **buf, size_t *cap, size_t need, size_t min); /* doubling from min */
struct io_uring_sqe *srv_sqe(struct srv_thread *t);
void srv_send(struct srv_conn *c);                 /* sends out[out_sent..] if idle */
int srv_out_reserve(struct srv_conn *c, size_t n); /* room for n more bytes in out */
void srv_out_put(struct srv_conn *c, const void *p, size_t n);
void srv_arm_timer(struct srv_conn *c, uint64_t ns);
void srv_close(struct srv_conn *c);

/* tls_conn.c: the ciphertext side of a --tls connection */
int srv_tls_init(const struct srv_options *o, char *fingerprint, size_t fplen, char *err, size_t errlen);
void srv_tls_exit(void);
bool srv_tls_enabled(void);
int srv_tls_start(struct srv_conn *c);             /* at accept */
void srv_tls_free(struct srv_conn *c);
bool srv_tls_may_recv(const struct srv_conn *c);   /* under the ciphertext backlog */
int srv_tls_take(struct srv_conn *c, size_t n);    /* n received bytes of tls_in */
int srv_tls_unseal(struct srv_conn *c, bool *got); /* plaintext into in, while it fits */
int srv_tls_seal(struct srv_conn *c);              /* out into records in tls_out */

/* h1_conn.c */
void srv_h1_on_data(struct srv_conn *c);
void srv_h1_on_sent(struct srv_conn *c);
void srv_h1_on_timer(struct srv_conn *c);

/* h2_conn.c */
bool srv_h2_preface(const uint8_t *in, size_t len, bool *need_more);
int srv_h2_start(struct srv_conn *c);
void srv_h2_on_data(struct srv_conn *c);
void srv_h2_on_sent(struct srv_conn *c);
void srv_h2_on_stream_timer(struct srv_stream *st);
void srv_h2_free(struct srv_conn *c);

#endif
