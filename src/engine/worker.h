/* Private to the engine: one worker (thread, ring, connections), the connection and
 * request structs every layer shares, and the functions of the layers between them:
 *   worker.c      the ring, the event loop, pacing and stages
 *   conn.c        the connection state machine (connect, open, close, back-off)
 *   transport.c   bytes between the socket and the protocol; every SQE is made there
 *   proto_*.c     the protocols, behind struct rl_proto_ops (proto.h)
 *   accounting.c  how a request starts, ends and is counted, for every protocol */
#ifndef RINGLOAD_WORKER_H
#define RINGLOAD_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <nghttp2/nghttp2.h>

#include "common/uring_compat.h"
#include "common/userdata.h"
#include "ringload/engine.h"
#include "ringload/grpc.h"
#include "ringload/h2_response.h"
#include "ringload/h1.h"
#include "timerwheel.h"

enum rl_op { OP_CONNECT = 1, OP_LINK_TIMEOUT, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL };
#define RL_MAX_CONNS_PER_WORKER RL_UD_MAX_SLOTS

enum rl_conn_state {
	C_IDLE,       /* no socket; not wanted (run over) */
	C_BACKOFF,    /* waiting to reconnect after a failed connect */
	C_CONNECTING,
	C_OPEN,
	C_CLOSING,    /* close submitted; reconnect (or idle) when it completes */
};

/* One request on a connection, from issue to its last response byte. HTTP/1.1 keeps
 * them in a ring (responses come in order); HTTP/2 in slots, one per stream. */
struct rl_req {
	uint64_t start_ns;   /* issued (closed loop), or due (open loop) */
	uint64_t sent_ns;    /* its last byte handed to the kernel; 0 until then */
	uint64_t first_ns;   /* first response byte; 0 until then */
	uint64_t first_kernel_ns; /* ... as the kernel stamped its arrival; 0: no stamp */
	uint8_t body_match;  /* --expect-body: the search's state over the payload so far */
	uint32_t out_end;    /* HTTP/1.1: its last byte's position in the connection's sent
			      * stream (out_base counts), plus one */
	/* HTTP/2 and gRPC */
	int32_t stream_id;
	int8_t grpc_status;  /* -1 none yet, -2 not a status */
	bool active;         /* the slot holds a stream nghttp2 still knows */
	bool done;           /* counted: a late close or frame changes nothing */
	int8_t bad_frame;    /* gRPC framing broken (an rl_grpc_frame_error): a protocol error */
	uint8_t retries;     /* times it was sent again after a refusal (GOAWAY, REFUSED_STREAM) */
	bool local_reset;    /* nghttp2 reset the stream itself: the response broke a rule ... */
	uint8_t reset_code;  /* ... with this error code */
	int16_t lib_error;   /* nghttp2's reason for an invalid frame on this stream, or 0 */
	struct rl_h2_response resp; /* the response as read: its status, and the rules it kept */
	uint64_t body_off, payload;
	const uint8_t *body; /* this stream's request body (rendered, with templates) */
	size_t body_len;
	struct rl_grpc_deframer deframer;
};

/* A request the server refused without processing it, waiting to be sent again on the
 * same connection slot (RFC 9113 8.7), with the start it had the first time. */
struct rl_retry {
	uint64_t start_ns;
	uint8_t retries;
};

/* What rl_acct_take hands a protocol for the request it issues. */
struct rl_take {
	uint64_t start_ns;
	uint8_t retries;
};

struct rl_worker;
struct rl_proto_ops;
struct rl_transport;

/* A fan-out group's virtual user: one connection per member, one request on each per
 * round, the round over when every member's request has ended. */
struct rl_vu {
	uint32_t group, first_conn, nmembers, done, ok;
	bool resting;            /* no round running: --stages has fewer users, or -n is done */
	uint64_t pending;        /* members whose request is due and not yet issued */
	uint64_t start_ns, last_ns;
};

struct rl_conn {
	uint32_t slot, gen;
	uint8_t state;
	bool recv_armed, send_busy, dirty;
	bool close_after;    /* server said Connection: close: finish the head, then close */
	bool reconnect;      /* this slot was open before: its next connect is a reconnect */
	bool parked;         /* --stages took it out: finish what is in flight, then close */
	bool handshaking;    /* connected; the transport's handshake is not done yet */
	bool unready;        /* connecting or handshaking: its next step is a completion */
	bool rx_stamped;     /* the kernel stamps its receives (SO_TIMESTAMPING, recvmsg) */
	uint64_t rx_last_kernel_ns; /* ... the last one's stamp */
	uint32_t source;     /* --source: the local address it binds to (index) */
	struct rl_tls_conn *tls; /* https://: the TLS session and its ciphertext out buffer */
	struct rl_vu *vu;    /* a fan-out group member's connection: its requests are the VU's */
	uint8_t member;
	int fd;              /* fixed-file index (== slot) or plain fd */
	uint32_t target;
	const struct rl_proto_ops *proto;   /* the target's protocol ... */
	const struct rl_transport *transport; /* ... over its transport, chosen at setup */
	struct rl_h1_parser parser;
	struct rl_req *reqs; /* HTTP/1.1: a ring of `pipeline`; HTTP/2: `streams` slots */
	uint32_t head, inflight;
	char *out;           /* pending bytes: [out_sent, out_len) not yet sent */
	uint32_t out_len, out_sent;
	uint32_t out_base;   /* HTTP/1.1: bytes sent before out[0] since the connect (wraps) */
	uint8_t *rbuf;       /* receive buffer when there is no buffer ring */
	struct rl_worker *w;
	nghttp2_session *h2;
	struct rl_req *h2_cached;  /* the request stream_req found last: a response's callbacks
				    * ask for it 4-8 times ... */
	uint8_t h2_slot_of[16];    /* ... and stream id / 2 % 16 -> a request's slot + 1 (0: none) */
	bool goaway;         /* no new streams: finish, then reconnect */
	bool h2_last;        /* --no-keepalive: this connection's one stream is out */
	bool refill;         /* a stream closed: its slot can take the next request */
	uint8_t *scratch;    /* each request slot's scratch (proto->slot_scratch), in turn */
	uint64_t connect_start_ns;
	uint32_t fails;      /* consecutive failed connects: the backoff exponent */
	uint8_t last_err;    /* the category of the last failed connect (or handshake) */
	uint32_t responses;  /* responses on this connection (since its connect) */
	uint32_t goaway_strikes; /* connections in a row ended by GOAWAY before any response */
	uint32_t goaway_code;    /* the GOAWAY received: its error code ... */
	int32_t goaway_last;     /* ... and last stream id */
	struct rl_retry *retry;  /* refused requests to send again: up to one per slot */
	uint32_t nretry;
	struct rl_timer timer;
	struct rl_conn *next_dirty;
	struct rl_conn *next_ready;  /* open loop: connections with room for a request */
	bool in_ready;
};

/* Per target, cumulative over the (measured) run: what history rows are differences of. */
/* Counters a worker publishes for progress views (relaxed atomics, one writer), and a
 * copy of its latency histograms so far, under a sequence counter (odd while the worker
 * writes it): the main thread merges the copies. */
struct rl_progress {
	_Atomic uint64_t requests, failed, open_conns;
	char pad[64 - 3 * sizeof(uint64_t)];
	_Atomic uint64_t hist_seq;
	struct rl_live *pub;       /* one per target: the last published copy */
};

struct rl_shared {           /* what all workers of a run read */
	const struct rl_plan *plan;
	struct rl_stage_plan stages;
	struct rl_target *targets;
	size_t ntargets;
	uint64_t start_ns, deadline_ns; /* deadline 0: none */
	uint64_t measure_ns;            /* results count from here (after --warmup) */
	const uint32_t *conns_of;       /* connections of each worker */
	const uint32_t *vus_of;         /* fan-out users of each worker */
	uint32_t nworkers;
	const struct rl_group_def *groups;
	size_t ngroups;
	_Atomic int stop;
};

/* Open loop (-R): request k is due at start_ns + k * interval_ns; requests start (for
 * latency) at that intended time, not when a connection was free. */
struct rl_pacer {
	bool open_loop;
	uint64_t start_ns, interval_ns;
	uint64_t phase_ns;            /* this worker's first start after the run's (interleaving) */
	uint64_t next_k, due_k, max_backlog;
	struct rl_conn *ready;        /* connections with room for a request */
};

/* Fan-out groups: connections from nregular on belong to virtual users. */
struct rl_fanout {
	uint32_t nregular, nvus;
	uint32_t active;              /* users that start rounds (--stages ramps it) */
	uint32_t *vu_group;           /* group of each VU (set before setup) */
	struct rl_vu *vus;
	struct rl_vu **done;          /* rounds that ended this turn: restarted after it */
	uint32_t ndone;
	struct rl_group_stats *stats;
};

/* Multishot receives pick their buffers from a provided buffer ring. */
struct rl_bufring {
	struct io_uring_buf_ring *br;
	uint8_t *mem;
	uint32_t n, size;
	unsigned to_advance;          /* recycled since the last advance */
};

/* nghttp2's allocations: free lists by power-of-two size class, never returned to libc
 * during the run, so a warm stream costs no malloc. */
#define RL_H2_POOL_CLASSES 16
struct rl_h2_pool {
	nghttp2_mem mem;
	void *free[RL_H2_POOL_CLASSES];
};

/* Room for one SCM_TIMESTAMPING control message at the head of each receive buffer. */
#define RL_RX_CONTROL CMSG_SPACE(3 * sizeof(struct timespec))

struct rl_worker {
	uint32_t id;
	struct rl_shared *sh;
	struct io_uring ring;
	struct rl_engine_features feat;
	struct rl_engine_io io;
	struct rl_conn *conns;
	uint32_t nconns, open_conns;
	uint32_t unready;             /* connections connecting or handshaking */
	uint64_t turn_bytes;          /* received and sent since the last wait began */
	bool lazy_off;                /* large bodies came: every wait ends at a completion */
	struct rl_req *req_mem;
	char *out_mem;
	uint8_t *rbuf_mem;
	uint32_t out_cap;
	struct rl_stats *stats;       /* one per target: the current stage's */
	struct rl_stats *stage_stats; /* every stage's, stage-major (one stage without --stages) */
	size_t nstage_stats, cur_stage;
	uint32_t active;              /* --stages, closed loop: connections 0..active-1 run */
	uint64_t quota;               /* requests left to issue; UINT64_MAX: no limit */
	uint64_t *tquota;             /* per-target counts: each target's part of quota, else NULL */
	uint64_t inflight;            /* issued, not yet ended */
	uint64_t completed, failed;   /* for progress views */
	struct rl_tpl_state tpl;      /* request templates' generators */
	struct rl_pacer pace;
	struct rl_fanout fan;
	struct rl_bufring bufs;
	struct rl_h2_pool h2_pool;
	struct rl_h1_memo h1_memo;    /* the last HTTP/1.1 head read whole, for all connections */
	char *tpl_scratch;            /* a rendered body, before its Content-Length */
	uint8_t *scratch_mem;         /* every connection's slots' scratch */
	struct rl_retry *retry_mem;   /* every connection's retry list */
	uint32_t slots;               /* request slots per connection */
	uint32_t pipeline;            /* HTTP/1.1: the request ring's size, the plan's -p */
	char h2_error[128];           /* the connection error nghttp2 just answered with GOAWAY */
	int h2_lib_error;             /* nghttp2's reason for the last invalid connection-level frame */
	struct rl_tls_conn *tls_mem;  /* https://: one TLS state per connection ... */
	uint8_t *tls_out_mem;         /* ... with its ciphertext out buffer */
	uint32_t tls_out_cap;
	uint8_t *tls_plain;           /* SSL_read's plaintext, handed to the protocol */
	struct ssl_session_st **tls_sessions; /* per target: the last resumable session */
	double tls_resume_acc;        /* --tls-resume: offers so far, as a running fraction */
	unsigned tls_alert;           /* the alert a RL_ERR_TLS_ALERT failure counts under */
	uint32_t tls_ramp_left;       /* slots whose first handshake has not ended yet */
	size_t slot_scratch;          /* bytes per slot: the most any target's protocol needs */
	bool stopping;
	bool measuring;               /* past the warm-up: statistics are the results */
	uint64_t now_ns;              /* the clock read after the last wait */
	uint64_t flush_ns;            /* the clock read before this turn's submit */
	uint64_t rx_kernel_ns;        /* the receive being handled: the kernel's stamp, 0 none */
	int64_t realtime_off_ns;      /* CLOCK_REALTIME - CLOCK_MONOTONIC, read once at setup */
	struct msghdr rx_msg;         /* multishot recvmsg's layout: no name, RL_RX_CONTROL */
	struct __kernel_timespec connect_ts;
	struct rl_timerwheel tw;
	struct rl_conn *dirty;
	uint64_t end_ns;
	int error;                    /* setup failure (negative errno) */
	uint64_t published_tick;      /* last tick published into progress.pub */
	struct rl_live *live;         /* per target: latencies so far (counts come from stats) */
	struct rl_progress progress;
};

/* A connection whose next step is a completion (its connect's, its handshake's) keeps
 * the loop from harvesting lazily. */
static inline void rl_conn_set_unready(struct rl_worker *w, struct rl_conn *c, bool unready)
{
	if (c->unready != unready) {
		c->unready = unready;
		w->unready += unready ? 1 : (uint32_t)-1;
	}
}

/* When the event being handled happened: a receive's kernel stamp where the loop harvests
 * lazily (it woke later than that, for the schedule), else this turn's clock. */
static inline uint64_t rl_event_ns(const struct rl_worker *w)
{
	return w->feat.lazy_harvest && w->rx_kernel_ns ? w->rx_kernel_ns : w->now_ns;
}

/* A response's first byte: when this loop handled it, and when the kernel received it
 * (where it stamps receives). */
static inline void rl_req_first_byte(const struct rl_worker *w, struct rl_req *r)
{
	if (!r->first_ns) {
		r->first_ns = w->now_ns;
		r->first_kernel_ns = w->rx_kernel_ns;
	}
}

static inline uint64_t rl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct rl_stats *rl_conn_stats(struct rl_worker *w, const struct rl_conn *c)
{
	return &w->stats[c->target];
}

static inline const struct rl_target *rl_conn_target(const struct rl_worker *w, const struct rl_conn *c)
{
	return &w->sh->targets[c->target];
}

/* worker.c */
/* An SQE, submitting what is queued first if the ring is full: never NULL. */
struct io_uring_sqe *rl_worker_sqe(struct rl_worker *w);
/* Makes room for n SQEs that must go in one submission (a link chain). */
void rl_worker_reserve(struct rl_worker *w, unsigned n);
void rl_worker_recycle_buf(struct rl_worker *w, unsigned bid);
/* Open loop: when request k of this worker is due (its intended start). */
uint64_t rl_worker_intended_ns(const struct rl_worker *w, uint64_t k);
/* nconns: the regular connections; w->fan.vu_group/nvus add the fan-out groups' */
int rl_worker_setup(struct rl_worker *w, uint32_t nconns, uint32_t first_global_conn);
void rl_worker_run(struct rl_worker *w);
void rl_worker_live_counts(struct rl_worker *w, struct rl_live *live);
/* The target of the run's g-th regular connection (by weight, interleaved). */
uint32_t rl_target_of_conn(const struct rl_shared *sh, uint32_t g);
void rl_worker_free(struct rl_worker *w);

/* conn.c: the connection state machine */
void rl_conn_connect(struct rl_worker *w, struct rl_conn *c);
void rl_conn_on_connect(struct rl_worker *w, struct rl_conn *c, int res);
void rl_conn_on_recv(struct rl_worker *w, struct rl_conn *c, int res, unsigned flags);
void rl_conn_on_send(struct rl_worker *w, struct rl_conn *c, int res);
void rl_conn_on_close(struct rl_worker *w, struct rl_conn *c);
void rl_conn_on_timer(struct rl_timer *t, void *worker);
/* Queues what the protocol has to send, in one send SQE for the turn. */
void rl_conn_flush(struct rl_worker *w, struct rl_conn *c);
/* Lets the protocol issue requests into free slots (or closes a parked connection). */
void rl_conn_fill(struct rl_worker *w, struct rl_conn *c);
void rl_conn_mark_dirty(struct rl_worker *w, struct rl_conn *c);
/* Open loop: the connection has room for a request. */
void rl_conn_make_ready(struct rl_worker *w, struct rl_conn *c);
/* The transport is ready for plaintext: the protocol opens and fills. */
void rl_conn_ready(struct rl_worker *w, struct rl_conn *c);
/* Setting the connection up failed (a TLS handshake): one request counted under err,
 * then the close, and the slot backs off. */
void rl_conn_setup_failed(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail);
/* Ends the connection: its requests drain under err (detail for --failures), then close. */
void rl_conn_fail(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail);
/* The same, but what is already in the send buffer (a GOAWAY saying why) is sent first,
 * linked to the close (RFC 9113 5.4.1). */
void rl_conn_fail_sending(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail);
/* Submits the close of the slot's socket, after cancelling what is still armed on it. */
void rl_conn_close(struct rl_worker *w, struct rl_conn *c);

/* accounting.c: a request's life, the same for every protocol and for fan-out groups.
 * Every request taken ends exactly once: rl_acct_response, rl_acct_fail, rl_acct_reset
 * or rl_acct_grpc_local (counted), or rl_acct_give_back (not sent: back to the quota).
 * So requests == successful + failed, and -n is exact. */
/* Takes the next request for c if one is due: false if none (quota, schedule, round).
 * A refused request waiting on c goes first. t->start_ns is when it counts from: now
 * (closed loop), its intended time (open loop), its round's start (fan-out), or its
 * first start (a retry). */
bool rl_acct_take(struct rl_worker *w, struct rl_conn *c, struct rl_take *t);
/* The server refused the request without processing it: by GOAWAY (above its last
 * stream id; code is the GOAWAY's) or by RST_STREAM(REFUSED_STREAM). It waits on c to
 * be sent again while retries remain, else it fails as goaway:<code> or stream_refused. */
void rl_acct_refused(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, bool by_goaway,
		     uint32_t code);
/* A request never handed to the kernel: due again, on any connection (or the member's). */
void rl_acct_give_back(struct rl_worker *w, struct rl_conn *c);
/* A response came whole: an HTTP status (ok: counted successful) or, with grpc_status
 * >= 0, a gRPC call's status (HTTP 200). Its times are recorded. */
void rl_acct_response(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		      unsigned status, int grpc_status, bool ok, uint64_t payload);
/* A request failed under an error category; detail (may be NULL) is --failures' text. */
void rl_acct_fail(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		  enum rl_err err, const char *detail);
/* The server reset the stream (RST_STREAM code). */
void rl_acct_reset(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, uint32_t code);
/* A gRPC status decided by the client (its own deadline: DEADLINE_EXCEEDED). */
void rl_acct_grpc_local(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r, int grpc_status);
/* A request still on a closing connection: failed under err if it was handed to the
 * kernel, else given back. */
void rl_acct_drain(struct rl_worker *w, struct rl_conn *c, const struct rl_req *r,
		   enum rl_err err, const char *detail);
/* At the end of a run: a stats' latency becomes every request's, failures and successes
 * (the loop records them apart, once each), and the kernel-stamp figures (tallied) get
 * their extremes. */
void rl_acct_fold_latency(struct rl_stats *st);
/* Starts a fan-out round: every member's request is due. */
void rl_vu_start(struct rl_worker *w, struct rl_vu *vu);
/* A round of vu's requests, starting at start_ns (-R: its intended time). */
void rl_vu_round(struct rl_worker *w, struct rl_vu *vu, uint64_t start_ns);
/* -n with groups alone: one round off the quota; false when none is left. */
bool rl_vu_take_round(struct rl_worker *w);
/* A failed connect costs the request due on it, if any, failed under the connect error. */
void rl_acct_connect_failed(struct rl_worker *w, struct rl_conn *c, int res);
/* The same for a connection that could not be set up (err, detail). */
void rl_acct_conn_failed(struct rl_worker *w, struct rl_conn *c, enum rl_err err, const char *detail);

/* n copies, src to dst (each dst a valid rl_live already): the histograms by their spans,
 * so a snapshot costs a few KB, not 370 KB, per target */
void rl_live_copy(struct rl_live *dst, const struct rl_live *src, size_t n);

#endif
