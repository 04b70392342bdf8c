/* --metrics-listen ADDR:PORT: a thread that answers every HTTP request with the run's
 * metrics in Prometheus text format, so each generator (a pod of a Kubernetes run) can
 * be scraped while it runs. The engine's live views (four a second) are rendered into a
 * buffer under a lock; the thread serves the latest. After the run it serves the
 * results for --metrics-linger, then stops. Off the engine's threads entirely. */
#include "metrics_listen.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ringload/report.h"

#define POLL_MS 50

struct rl_metrics_listen {
	int fd;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t lock;
	char *text;                  /* the latest rendering */
	size_t len;
	const char *names[RL_MAX_TARGETS];
	size_t ntargets;
	struct rl_hist *latency;     /* scratch: per target, failures and successes merged */
};

static double cpu_seconds(bool user)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct timeval tv = user ? ru.ru_utime : ru.ru_stime;
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void publish(struct rl_metrics_listen *m, const struct rl_prom_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return;
	rl_report_prometheus(f, v);
	if (fclose(f)) {
		free(text);
		return;
	}
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
}

void rl_metrics_listen_view(const struct rl_progress_view *v, void *arg)
{
	struct rl_metrics_listen *m = arg;
	size_t n = v->ntargets < m->ntargets ? v->ntargets : m->ntargets;
	for (size_t t = 0; t < n; t++) {
		rl_hist_empty(&m->latency[t]); /* by its span: a view comes every 200 ms */
		rl_hist_merge(&m->latency[t], &v->targets[t].hist);
		rl_hist_merge(&m->latency[t], &v->targets[t].hist_ok);
	}
	struct rl_prom_view pv = { m->names, v->targets, m->latency, n, cpu_seconds(true), cpu_seconds(false),
				   (double)v->elapsed_ns / 1e9, false };
	publish(m, &pv);
}

void rl_metrics_listen_final(struct rl_metrics_listen *m, const struct rl_result *res)
{
	struct rl_live *live = calloc(m->ntargets ? m->ntargets : 1, sizeof(*live));
	if (!live)
		return;
	size_t n = res->ntargets < m->ntargets ? res->ntargets : m->ntargets;
	for (size_t t = 0; t < n; t++) {
		const struct rl_stats *s = &res->targets[t];
		live[t].requests = s->requests;
		live[t].failed = s->failed;
		rl_fail_counts_add(&live[t].fails, s);
		rl_hist_copy(&m->latency[t], &s->latency);
	}
	struct rl_prom_view pv = { m->names, live, m->latency, n, res->cpu_user_s, res->cpu_sys_s, res->duration_s,
				   true };
	publish(m, &pv);
	free(live);
}

/* One request in, the latest rendering out, then close (Prometheus scrapes anew). */
static void answer(struct rl_metrics_listen *m, int c)
{
	char req[2048];
	struct pollfd p = { c, POLLIN, 0 };
	if (poll(&p, 1, 1000) > 0)
		(void)!recv(c, req, sizeof(req), 0);
	pthread_mutex_lock(&m->lock);
	char head[160];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n", m->len);
	(void)!send(c, head, (size_t)hl, MSG_NOSIGNAL);
	for (size_t off = 0; off < m->len;) {
		ssize_t k = send(c, m->text + off, m->len - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	pthread_mutex_unlock(&m->lock);
	close(c);
}

static void *serve(void *arg)
{
	struct rl_metrics_listen *m = arg;
	while (!atomic_load(&m->stop)) {
		struct pollfd p = { m->fd, POLLIN, 0 };
		if (poll(&p, 1, POLL_MS) <= 0)
			continue;
		int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			answer(m, c);
	}
	return NULL;
}

/* ADDR:PORT, [IPv6]:PORT, or :PORT (loopback). */
static int listen_on(const char *spec, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || !colon[1] || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(err, errlen, "--metrics-listen '%s': give ADDR:PORT (127.0.0.1:9464)", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = 0;
		h++;
	}
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM },
			*ai;
	int rc = getaddrinfo(h[0] ? h : "127.0.0.1", colon + 1, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--metrics-listen '%s': %s", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		snprintf(err, errlen, "--metrics-listen '%s': %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct rl_metrics_listen *rl_metrics_listen_start(const char *spec, const struct rl_target *targets, size_t n,
						  char *err, size_t errlen)
{
	struct rl_metrics_listen *m = calloc(1, sizeof(*m));
	if (!m || !(m->latency = calloc(n ? n : 1, sizeof(*m->latency)))) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->ntargets = n < RL_MAX_TARGETS ? n : RL_MAX_TARGETS;
	for (size_t t = 0; t < m->ntargets; t++)
		m->names[t] = targets[t].name;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = listen_on(spec, err, errlen);
	if (m->fd < 0 || pthread_create(&m->thread, NULL, serve, m)) {
		if (m->fd >= 0) {
			snprintf(err, errlen, "--metrics-listen: cannot start its thread");
			close(m->fd);
		}
		free(m->latency);
		free(m);
		return NULL;
	}
	/* an empty run so far: a scrape before the first view still parses */
	struct rl_live *none = calloc(m->ntargets ? m->ntargets : 1, sizeof(*none));
	if (none) {
		struct rl_prom_view pv = { m->names, none, m->latency, m->ntargets, 0, 0, 0, false };
		for (size_t t = 0; t < m->ntargets; t++)
			rl_hist_reset(&m->latency[t]);
		publish(m, &pv);
		free(none);
	}
	return m;
}

void rl_metrics_listen_stop(struct rl_metrics_listen *m, uint64_t linger_ns)
{
	if (!m)
		return;
	if (linger_ns) {
		struct timespec ts = { (time_t)(linger_ns / 1000000000ULL), (long)(linger_ns % 1000000000ULL) };
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	atomic_store(&m->stop, 1);
	pthread_join(m->thread, NULL);
	close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m->latency);
	free(m);
}
