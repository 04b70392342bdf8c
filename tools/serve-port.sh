# Sourced by tools/demo.sh and bench/bench.sh: serve_port LOG SCHEME prints the port a
# `ringload serve --port 0` wrote in LOG ("listening on SCHEME://127.0.0.1:PORT/"),
# waiting up to 5 s for it; nothing if it never came.
serve_port() {
	local port=""
	for _ in $(seq 100); do
		port=$(grep -o "$2://127.0.0.1:[0-9]*" "$1" | cut -d: -f3 || true)
		[ -n "$port" ] && break
		sleep 0.05
	done
	echo "$port"
}
