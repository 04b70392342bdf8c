/* The floor under an open-loop client's own CPU at a low rate: the simplest client
 * there is, with plain blocking syscalls. For each request it sleeps until the request
 * is due (clock_nanosleep, absolute), sends a fixed GET, and waits for the response
 * (blocking recv: a second wake-up). With "lazy" it never waits for a response: it reads
 * what has arrived (MSG_DONTWAIT) when it wakes for the next send, one wake-up per
 * request, which an exact client could do only with the kernel's receive timestamps.
 * With "sleep" it only sleeps until each is due: what one timed wake-up costs. Parses
 * nothing. Prints the requests and the CPU (user + system) per request in µs.
 *   open_floor PORT RATE REQUESTS [wait|lazy|sleep]   (127.0.0.1, one connection) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: open_floor PORT RATE REQUESTS [wait|lazy|sleep]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long rate = atol(argv[2]), n = atol(argv[3]);
	int lazy = argc > 4 && !strcmp(argv[4], "lazy"), sleep_only = argc > 4 && !strcmp(argv[4], "sleep");
	if (port <= 0 || rate <= 0 || n <= 0) {
		fprintf(stderr, "open_floor: PORT, RATE and REQUESTS must be positive\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || (!sleep_only && connect(fd, (struct sockaddr *)&a, sizeof(a)))) {
		perror("open_floor: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char buf[65536];
	long step = 1000000000L / rate;
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	double start = cpu_us();
	for (long i = 0; i < n; i++) {
		due.tv_nsec += step;
		while (due.tv_nsec >= 1000000000L) {
			due.tv_sec++;
			due.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
		if (sleep_only)
			continue;
		if (lazy && i)
			(void)!recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1) {
			perror("open_floor: send");
			return 1;
		}
		if (!lazy && recv(fd, buf, sizeof(buf), 0) <= 0) {
			perror("open_floor: recv");
			return 1;
		}
	}
	printf("%ld %.2f\n", n, (cpu_us() - start) / (double)n);
	close(fd);
	return 0;
}
