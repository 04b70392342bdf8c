#!/usr/bin/env bash
# The soak test, short: 200k requests through bench/soak.sh, whose bounds (RSS growth
# under 1 MiB after warm-up, a constant descriptor count) fail it. At 40k requests/s
# the run lasts 5 s: 16 samples after the warm-up second.
. "$(dirname "$0")/../lib.sh"
out=$(bash "$(dirname "$0")/../../bench/soak.sh" "$RINGLOAD" 200000 60 40000 2>&1)
rc=$?
if [ "$rc" = 0 ]; then
	ok "soak_200k_rss_and_fds_bounded"
	sed 's/^/# /' <<<"$out"
else
	not_ok "soak_200k_rss_and_fds_bounded" "$out"
fi
