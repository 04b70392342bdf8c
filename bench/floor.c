/* The floor under any HTTP/1.1 client's cost: an io_uring loop that sends a fixed GET on
 * each connection and counts response bytes, parsing nothing (every response has the
 * same known size). Its instructions per request are what the kernel interface costs
 * before a client does any work of its own; `make bench` counts them with callgrind.
 *   floor PORT CONNECTIONS REQUESTS RESPONSE_BYTES   (127.0.0.1) */
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define BUF_SIZE  4096

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

struct conn {
	int fd;
	int busy;   /* a request is out */
	size_t got;
	char buf[BUF_SIZE];
};

static void queue_send(struct io_uring *ring, struct conn *c, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, c->fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
	c->busy = 1;
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 1);
}

static void queue_recv(struct io_uring *ring, struct conn *c, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv(sqe, c->fd, c->buf, BUF_SIZE, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 1 | 1);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: floor PORT CONNECTIONS REQUESTS RESPONSE_BYTES\n");
		return 2;
	}
	unsigned port = (unsigned)atoi(argv[1]), n = (unsigned)atoi(argv[2]);
	unsigned long want = strtoul(argv[3], NULL, 10), size = strtoul(argv[4], NULL, 10);
	if (!port || !n || n > MAX_CONNS || !want || !size) {
		fprintf(stderr, "floor: bad arguments\n");
		return 2;
	}
	struct conn *conns = calloc(n, sizeof(*conns));
	struct io_uring ring;
	if (!conns || io_uring_queue_init(2 * n, &ring, 0)) {
		fprintf(stderr, "floor: cannot set up\n");
		return 1;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	unsigned long sent = 0, done = 0;
	for (unsigned i = 0; i < n; i++) {
		conns[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (conns[i].fd < 0 || connect(conns[i].fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("floor: connect");
			return 1;
		}
		if (sent < want) {
			queue_send(&ring, &conns[i], i);
			queue_recv(&ring, &conns[i], i);
			sent++;
		}
	}
	while (done < want) {
		struct io_uring_cqe *cqe;
		if (io_uring_submit_and_wait(&ring, 1) < 0)
			return 1;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct conn *c = &conns[ud >> 1];
			if (cqe->res <= 0 && (ud & 1)) {
				fprintf(stderr, "floor: the server closed\n");
				return 1;
			}
			if (!(ud & 1))
				continue; /* a send */
			c->got += (size_t)cqe->res;
			if (c->got >= size) {
				c->got -= size;
				c->busy = 0;
				done++;
				if (sent < want) {
					queue_send(&ring, c, (unsigned)(ud >> 1));
					sent++;
				}
			}
			if (c->busy)
				queue_recv(&ring, c, (unsigned)(ud >> 1));
		}
		io_uring_cq_advance(&ring, seen);
	}
	printf("%lu\n", done);
	return 0;
}
