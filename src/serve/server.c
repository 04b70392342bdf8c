/* `ringload serve`: one io_uring event loop per thread, each with its own SO_REUSEPORT
 * listener and multishot accept. HTTP/1.1 and h2c share the port; a connection that
 * opens with the HTTP/2 preface is handed to nghttp2. The server allocates per
 * connection (slots are reused), never per HTTP/1.1 request. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ringload/serve.h"
#include "ringload/units.h"
#include "common/uring_compat.h"
#include "server.h"

#define RING_ENTRIES 1024
#define MAX_SLOTS    (1u << 20)

struct io_uring_sqe *srv_sqe(struct srv_thread *t)
{
	return rl_get_sqe(&t->ring, NULL);
}

int srv_buf_grow(uint8_t **buf, size_t *cap, size_t need, size_t min)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : min;
	while (n < need)
		n *= 2;
	uint8_t *p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

int srv_out_reserve(struct srv_conn *c, size_t n)
{
	if (c->out_len + n <= c->out_cap)
		return 0;
	if (c->send_busy && c->out_sent < c->out_len && !c->ssl)
		return -1; /* the kernel may be reading out: no realloc under it (TLS sends tls_out) */
	return srv_buf_grow(&c->out, &c->out_cap, c->out_len + n, SRV_OUT_MIN);
}

void srv_out_put(struct srv_conn *c, const void *p, size_t n)
{
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

void srv_send(struct srv_conn *c)
{
	if (!c->open || c->send_busy)
		return;
	const uint8_t *p = c->out + c->out_sent;
	size_t n = c->out_len - c->out_sent;
	if (c->ssl) {
		if (srv_tls_seal(c)) {
			c->tls_failed = true; /* closed when the front end is back in dispatch */
			return;
		}
		p = c->tls_out + c->tls_out_sent;
		n = c->tls_out_len - c->tls_out_sent;
	}
	if (!n)
		return;
	struct io_uring_sqe *sqe = srv_sqe(c->t);
	io_uring_prep_send(sqe, c->fd, p, n, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, RL_UD(S_SEND, c->slot, c->gen));
	c->send_busy = true;
}

void srv_arm_timer(struct srv_conn *c, uint64_t ns)
{
	c->ts.tv_sec = (long long)(ns / 1000000000);
	c->ts.tv_nsec = (long long)(ns % 1000000000);
	struct io_uring_sqe *sqe = srv_sqe(c->t);
	io_uring_prep_timeout(sqe, &c->ts, 0, 0);
	io_uring_sqe_set_data64(sqe, RL_UD(S_TIMER, c->slot, c->gen));
	c->timer_armed = true;
}

static void arm_recv(struct srv_conn *c)
{
	if (!c->open || c->recv_armed || c->peer_eof)
		return;
	struct io_uring_sqe *sqe;
	if (c->ssl) {
		if (!srv_tls_may_recv(c))
			return; /* the front end has not taken what came: it calls again */
		sqe = srv_sqe(c->t);
		io_uring_prep_recv(sqe, c->fd, c->tls_in, SRV_TLS_IN_CAP, 0);
	} else {
		if (c->in_len == SRV_IN_CAP)
			return;
		sqe = srv_sqe(c->t);
		io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, SRV_IN_CAP - c->in_len, 0);
	}
	io_uring_sqe_set_data64(sqe, RL_UD(S_RECV, c->slot, c->gen));
	c->recv_armed = true;
}

void srv_close(struct srv_conn *c)
{
	if (!c->open)
		return;
	struct srv_thread *t = c->t;
	uint32_t old = c->gen++;
	struct io_uring_sqe *sqe;
	if (c->recv_armed || c->send_busy) {
		sqe = srv_sqe(t);
		io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, RL_UD(S_CANCEL, c->slot, c->gen));
	}
	if (c->timer_armed) {
		sqe = srv_sqe(t);
		io_uring_prep_timeout_remove(sqe, RL_UD(S_TIMER, c->slot, old), 0);
		io_uring_sqe_set_data64(sqe, RL_UD(S_CANCEL, c->slot, c->gen));
	}
	if (c->h1 != H1_IDLE && c->h1 != H1_READ_BODY && !c->plan.uncounted)
		rl_serve_count_end(t->ctr, RL_SERVE_H1, srv_now_ns() - c->started_ns);
	srv_h2_free(c);
	srv_tls_free(c);
	sqe = srv_sqe(t);
	io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, RL_UD(S_CLOSE, c->slot, c->gen));
	c->open = false;
}

static void on_data(struct srv_conn *c)
{
	if (!c->h2 && c->h1 == H1_IDLE && c->in_len) {
		bool need_more;
		if (srv_h2_preface(c->in, c->in_len, &need_more)) {
			if (srv_h2_start(c)) {
				srv_close(c);
				return;
			}
		} else if (need_more) {
			return;
		}
	}
	if (c->h2)
		srv_h2_on_data(c);
	else
		srv_h1_on_data(c);
}

/* The client is done sending (FIN, or close_notify): answer what was asked (h1_conn.c
 * closes when done). */
static void on_peer_eof(struct srv_conn *c)
{
	c->peer_eof = true;
	if (c->h2 || (c->h1 == H1_IDLE && !c->send_busy))
		srv_close(c);
}

/* --tls: plaintext out of the session into in, for the front end, while it takes it;
 * then the handshake's or the front end's records go out. */
static void tls_read(struct srv_conn *c)
{
	bool got;
	while (c->open && !c->peer_eof) {
		if (srv_tls_unseal(c, &got)) {
			srv_close(c);
			return;
		}
		if (c->peer_eof) {
			if (got)
				on_data(c);
			if (c->open)
				on_peer_eof(c);
			return;
		}
		if (!got)
			break;
		on_data(c);
	}
	srv_send(c);
}

static struct srv_conn *conn_new(struct srv_thread *t, int fd)
{
	struct srv_conn *c = t->free;
	if (c) {
		t->free = c->next_free;
	} else {
		if (t->nslots == MAX_SLOTS)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->slot = t->nslots;
		c->t = t;
		struct srv_conn **slots = realloc(t->slots, (t->nslots + 1) * sizeof(*slots));
		if (!slots) {
			free(c);
			return NULL;
		}
		t->slots = slots;
		t->slots[t->nslots++] = c;
	}
	c->fd = fd;
	c->open = true;
	c->h2 = c->recv_armed = c->send_busy = c->timer_armed = c->peer_eof = c->close_after = false;
	c->in_len = c->out_len = c->out_sent = 0;
	c->h1 = H1_IDLE;
	c->session = NULL;
	c->streams = NULL;
	c->tls_plain_out = c->tls_failed = false;
	if (srv_tls_enabled() && srv_tls_start(c)) {
		c->open = false;
		c->gen++;
		c->next_free = t->free;
		t->free = c;
		return NULL;
	}
	return c;
}

static void arm_accept(struct srv_thread *t)
{
	struct io_uring_sqe *sqe = srv_sqe(t);
	io_uring_prep_multishot_accept(sqe, t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, RL_UD(S_ACCEPT, 0, 0));
}

static void on_accept(struct srv_thread *t, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE) && !atomic_load(t->stop))
		arm_accept(t);
	if (cqe->res < 0)
		return; /* EMFILE and friends: the client sees a refused or reset connect */
	int one = 1;
	setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct srv_conn *c = conn_new(t, cqe->res);
	if (!c) {
		close(cqe->res);
		return;
	}
	arm_recv(c);
}

static void dispatch(struct srv_thread *t, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	if (ud == LIBURING_UDATA_TIMEOUT)
		return;
	if (!RL_UD_OP(ud)) {
		srv_h2_on_stream_timer((struct srv_stream *)(uintptr_t)ud);
		return;
	}
	unsigned op = RL_UD_OP(ud);
	if (op == S_ACCEPT) {
		on_accept(t, cqe);
		return;
	}
	uint32_t slot = RL_UD_SLOT(ud);
	if (slot >= t->nslots)
		return;
	struct srv_conn *c = t->slots[slot];
	if (RL_UD_GEN(ud) != c->gen)
		return; /* an operation of a connection already closed */
	switch (op) {
	case S_RECV:
		c->recv_armed = false;
		if (cqe->res > 0 && c->ssl) {
			if (srv_tls_take(c, (size_t)cqe->res))
				srv_close(c);
			else
				tls_read(c);
			arm_recv(c);
		} else if (cqe->res > 0) {
			c->in_len += (size_t)cqe->res;
			on_data(c);
			arm_recv(c);
		} else if (cqe->res == 0) {
			on_peer_eof(c);
		} else {
			srv_close(c);
		}
		break;
	case S_SEND:
		c->send_busy = false;
		if (cqe->res < 0) {
			srv_close(c);
			return;
		}
		if (c->ssl) {
			c->tls_out_sent += (size_t)cqe->res;
			bool plain = false;
			if (c->tls_out_sent == c->tls_out_len) {
				c->tls_out_len = c->tls_out_sent = 0;
				plain = c->tls_plain_out;
				c->tls_plain_out = false;
			}
			srv_send(c); /* the rest, and what was queued meanwhile */
			if (c->send_busy || !plain)
				break;
		} else {
			c->out_sent += (size_t)cqe->res;
			if (c->out_sent < c->out_len) {
				srv_send(c);
				return;
			}
		}
		c->out_len = c->out_sent = 0;
		if (c->h2)
			srv_h2_on_sent(c);
		else
			srv_h1_on_sent(c);
		if (c->ssl)
			tls_read(c); /* requests that waited behind this response */
		arm_recv(c);
		break;
	case S_TIMER:
		c->timer_armed = false;
		srv_h1_on_timer(c);
		break;
	case S_CLOSE:
		c->gen++;
		c->next_free = t->free;
		t->free = c;
		break;
	default:
		break;
	}
	if (c->open && c->tls_failed)
		srv_close(c);
}

/* A Unix stream socket at path; a stale socket file left there is replaced. Every loop
 * accepts on it (SO_REUSEPORT does not apply to Unix sockets): the first call makes it,
 * the others get a duplicate. */
static int listen_unix(const char *path)
{
	static int shared = -1;
	if (shared >= 0) {
		int dup = fcntl(shared, F_DUPFD_CLOEXEC, 0);
		return dup < 0 ? -errno : dup;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 4096)) {
		int e = -errno;
		close(fd);
		return e;
	}
	shared = fd;
	return fd;
}

static int listen_on(const struct srv_options *o, unsigned port, unsigned *bound_port)
{
	if (o->unix_path)
		return listen_unix(o->unix_path);
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->bind, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, o->bind, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096)) {
		int e = -errno;
		close(fd);
		return e;
	}
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
	return fd;
}

static void *thread_main(void *arg)
{
	struct srv_thread *t = arg;
	int rc;
	if (t->ring_disabled && (rc = rl_ring_enable(&t->ring))) {
		fprintf(stderr, "ringload serve: io_uring: %s\n", strerror(-rc));
		kill(getpid(), SIGTERM); /* main stops every loop */
		return NULL;
	}
	arm_accept(t);
	while (!atomic_load(t->stop)) {
		struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 50000000 };
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&t->ring, &cqe, 1, &ts, NULL);
		unsigned head, n = 0;
		io_uring_for_each_cqe(&t->ring, head, cqe) {
			dispatch(t, cqe);
			n++;
		}
		io_uring_cq_advance(&t->ring, n);
	}
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct srv_conn *c = t->slots[i];
		if (c->open) {
			srv_h2_free(c);
			srv_tls_free(c);
			close(c->fd);
		}
		free(c->tls_in);
		free(c->tls_out);
		free(c->out);
		free(c);
	}
	free(t->slots);
	io_uring_queue_exit(&t->ring);
	close(t->listen_fd);
	return NULL;
}

static const struct option serve_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "bind", required_argument, NULL, 'B' },
	{ "unix", required_argument, NULL, 'U' },
	{ "threads", required_argument, NULL, 't' },
	{ "tls", no_argument, NULL, 'T' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void serve_usage(FILE *f)
{
	fputs("usage: ringload serve [--port N] [--bind ADDR] [--unix PATH] [--threads N]\n"
	      "                      [--tls [--cert FILE --key FILE]] [-v]\n"
	      "\n"
	      "The built-in target server: HTTP/1.1, h2c (prior knowledge) and gRPC on one port.\n"
	      "  -p, --port N      port (default 8080; 0 picks a free one and prints it)\n"
	      "  -B, --bind ADDR   address (default 127.0.0.1)\n"
	      "  -U, --unix PATH   listen on a Unix stream socket at PATH instead of TCP\n"
	      "  -t, --threads N   event loops, one io_uring each (default 1)\n"
	      "      --tls         HTTPS instead: h2 or HTTP/1.1 by ALPN, gRPC over it; without\n"
	      "                    --cert/--key, a fresh self-signed ECDSA P-256 certificate for\n"
	      "                    localhost, 127.0.0.1 and ::1 (its SHA-256 fingerprint printed)\n"
	      "      --cert FILE   certificate chain (PEM) for --tls; --key FILE its private key\n"
	      "  -v, --verbose     log every request\n"
	      "Paths: /  /api/users/{id}  /health  /stats\n"
	      "Knobs (query, or x-<knob> gRPC metadata): size=BYTES status=CODE ttfb=DUR\n"
	      "  body_delay=DUR chunked=1 close=1\n", f);
}

int rl_serve_parse(int argc, char **argv, struct srv_options *o, char *err, size_t errlen)
{
	*o = (struct srv_options){ .bind = "127.0.0.1", .port = 8080, .threads = 1 };
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":p:B:U:t:vh", serve_opts, NULL)) != -1) {
		uint64_t v;
		switch (ch) {
		case 'p':
			if (strcmp(optarg, "0") && (rl_parse_count(optarg, 65535, &v) || !v)) {
				snprintf(err, errlen, "--port: invalid port '%s'", optarg);
				return -1;
			}
			o->port = strcmp(optarg, "0") ? (unsigned)v : 0;
			break;
		case 'B': o->bind = optarg; break;
		case 'U':
			if (!*optarg || strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				snprintf(err, errlen, "--unix: path of %zu bytes; 1 to 107 fit in sun_path",
					 strlen(optarg));
				return -1;
			}
			o->unix_path = optarg;
			break;
		case 't':
			if (rl_parse_count(optarg, 256, &v) || !v) {
				snprintf(err, errlen, "--threads: invalid value '%s' (1..256)", optarg);
				return -1;
			}
			o->threads = (unsigned)v;
			break;
		case 'v': o->verbose++; break;
		case 'T': o->tls = true; break;
		case 'C': o->cert_path = optarg; break;
		case 'K': o->key_path = optarg; break;
		case 'h': return 1;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->cert_path != !o->key_path) {
		snprintf(err, errlen, "--%s: needs --%s too", o->cert_path ? "cert" : "key", o->cert_path ? "key" : "cert");
		return -1;
	}
	if (o->cert_path && !o->tls) {
		snprintf(err, errlen, "--cert/--key: only with --tls");
		return -1;
	}
	return 0;
}

int rl_serve_main(int argc, char **argv)
{
	struct srv_options o;
	char err[256];
	int rc = rl_serve_parse(argc, argv, &o, err, sizeof(err));
	if (rc == 1) {
		serve_usage(stdout);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "ringload serve: %s\n", err);
		return 2;
	}
	char fingerprint[3 * 64];
	if (o.tls && srv_tls_init(&o, fingerprint, sizeof(fingerprint), err, sizeof(err))) {
		fprintf(stderr, "ringload serve: %s\n", err);
		return 2;
	}
	rl_serve_pattern_init();
	static struct rl_serve_counters ctr;
	static _Atomic int stop;
	struct srv_thread *threads = calloc(o.threads, sizeof(*threads));
	pthread_t *tids = calloc(o.threads, sizeof(*tids));
	if (!threads || !tids) {
		fprintf(stderr, "ringload serve: out of memory\n");
		return 1;
	}
	unsigned port = o.port;
	int code = 0;
	unsigned ready = 0;
	for (; ready < o.threads; ready++) {
		struct srv_thread *t = &threads[ready];
		t->id = ready;
		t->opt = &o;
		t->ctr = &ctr;
		t->stop = &stop;
		t->listen_fd = listen_on(&o, port, &port);
		if (t->listen_fd < 0) {
			if (o.unix_path)
				fprintf(stderr, "ringload serve: cannot listen on %s: %s\n", o.unix_path,
					strerror(-t->listen_fd));
			else
				fprintf(stderr, "ringload serve: cannot listen on %s port %u: %s\n", o.bind, port,
					t->listen_fd == -EINVAL ? "not an IP address" : strerror(-t->listen_fd));
			code = t->listen_fd == -EINVAL ? 2 : 1;
			break;
		}
		/* made here, so a failure is reported before serving; enabled by the loop's own
		 * thread, which DEFER_TASKRUN needs as the ring's single issuer */
		t->ring_disabled = true;
		rc = rl_ring_init(&t->ring, RING_ENTRIES, 0, IORING_SETUP_R_DISABLED,
				  !rl_compat_off("nodefer"), &t->defer_taskrun);
		if (rc) { /* a kernel before 5.10, without R_DISABLED */
			t->ring_disabled = false;
			rc = io_uring_queue_init(RING_ENTRIES, &t->ring, 0);
		}
		if (rc) {
			fprintf(stderr, "ringload serve: io_uring: %s\n", strerror(-rc));
			close(t->listen_fd);
			code = 1;
			break;
		}
	}
	if (code) {
		for (unsigned i = 0; i < ready; i++) {
			io_uring_queue_exit(&threads[i].ring);
			close(threads[i].listen_fd);
		}
		free(threads);
		free(tids);
		srv_tls_exit();
		return code;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	bool v6 = strchr(o.bind, ':') != NULL;
	const char *scheme = o.tls ? "https" : "http";
	const char *protos = o.tls ? "HTTP/1.1 and h2 by ALPN, gRPC" : "HTTP/1.1, h2c, gRPC";
	if (o.unix_path)
		printf("ringload serve: listening on %s://unix:%s:/ (%s), %u thread%s\n", scheme, o.unix_path,
		       protos, o.threads, o.threads == 1 ? "" : "s");
	else
		printf("ringload serve: listening on %s://%s%s%s:%u/ (%s), %u thread%s\n", scheme, v6 ? "[" : "",
		       o.bind, v6 ? "]" : "", port, protos, o.threads, o.threads == 1 ? "" : "s");
	if (o.tls)
		printf("ringload serve: certificate %s, SHA-256 fingerprint %s\n",
		       o.cert_path ? o.cert_path : "self-signed (in memory)", fingerprint);
	if (o.verbose)
		printf("ringload serve: io_uring completions: %s\n",
		       threads[0].defer_taskrun ? "DEFER_TASKRUN (in the loop's thread, when it waits)"
						: "COOP_TASKRUN or plain task work (DEFER_TASKRUN unavailable)");
	fflush(stdout);
	for (unsigned i = 0; i < o.threads; i++)
		pthread_create(&tids[i], NULL, thread_main, &threads[i]);
	int sig;
	sigwait(&sigs, &sig);
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < o.threads; i++)
		pthread_join(tids[i], NULL);
	if (o.verbose)
		fprintf(stderr, "ringload serve: stopped by signal %d\n", sig);
	if (o.unix_path)
		unlink(o.unix_path);
	free(threads);
	free(tids);
	srv_tls_exit();
	return 0;
}
