/* The pre-flight: before the run, every target is reached and spoken to in its own
 * protocol, so a wrong port or a wrong protocol is said once, before the clock starts. */
#ifndef RINGLOAD_CLI_PREFLIGHT_H
#define RINGLOAD_CLI_PREFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "ringload/options.h"
#include "ringload/target.h"

/* The header that marks a pre-flight request, so a server can leave it out of its
 * counts (`ringload serve` does). */
#define RL_PREFLIGHT_HEADER "x-ringload-preflight"

/* Connects to every target (with its TLS handshake, and the HTTP/2 preface where the
 * protocol is HTTP/2), then, unless --no-preflight-request, makes one real request per
 * target through the engine, marked with RL_PREFLIGHT_HEADER. specs[i] is the request
 * spec targets[i] was made from. Prints what it finds on stderr; returns 0 to go on,
 * or 4 (no target answered, or some did not and --allow-unreachable was not given).
 * *requests_made counts the requests that reached a server; the run's {{seq}} values
 * start at *next_seq, after those the pre-flight used. */
int rl_preflight(const struct rl_options *o, struct rl_target *targets, size_t ntargets,
		 const struct rl_request_spec *const *specs, uint32_t *requests_made, uint64_t *next_seq);

#endif
