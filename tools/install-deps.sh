#!/bin/sh
# Installs the Debian packages ringload's build, tests and benchmarks need.
# Idempotent: quiet and quick when everything is present. Needs root (or sudo) only
# when something is missing.
set -eu

BUILD_PKGS="build-essential pkg-config liburing-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev libprotobuf-dev libssl-dev"
TEST_PKGS="libcmocka-dev wrk openssl nginx-light h2o curl python3 python3-grpcio python3-protobuf protobuf-compiler nghttp2-client nghttp2-server chromium clang libclang-rt-14-dev valgrind iproute2 kubernetes-client python3-yaml"
BENCH_PKGS="wrk nghttp2-client util-linux time"

case "${1:-all}" in
	build) WANT="$BUILD_PKGS" ;;
	test)  WANT="$BUILD_PKGS $TEST_PKGS" ;;
	all)   WANT="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS" ;;
	*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $WANT; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
# a kubectl from elsewhere (Google's kubectl package) renders deploy/k8s as well as
# Debian's kubernetes-client, which would conflict with it on /usr/bin/kubectl
if command -v kubectl >/dev/null 2>&1; then
	missing=$(printf '%s' "$missing" | sed 's/ kubernetes-client//')
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing Debian packages:$missing; run this script as root (or install sudo)" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# nginx-light's postinst tries to start the service; with no init system that fails
# harmlessly, but policy-rc.d keeps it from trying at all.
if [ -z "$SUDO" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
