#!/usr/bin/env bash
# Install what is missing, build, and run every test through ctest: first a
# normal (optimised) build, then the same tests under ASan+UBSan.
# Exits non-zero on any failure. Usage: ./deploy/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

./deploy/deps.sh

export TANDEM_CORPORA="${TANDEM_CORPORA:-$root/../shared/corpora}"

run_tree() { # name, extra cmake args...
	local dir="$root/build-test-$1"
	shift
	echo "== configure and build ($dir)"
	mkdir -p "$dir"
	cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" \
		>"$dir/configure.log" 2>&1 || {
		cat "$dir/configure.log"
		return 1
	}
	cmake --build "$dir" -j "$jobs"
	echo "== ctest ($dir)"
	(cd "$dir" && ctest --output-on-failure --timeout 600 -j "$CTEST_JOBS")
}

# The optimised tree runs two tests at a time (each picks its own ports;
# those with fixed ports are RUN_SERIAL), keeping the whole run well
# inside 20 minutes on 2 cores; the sanitizer tree, slower and timing
# sensitive, one at a time.
CTEST_JOBS=2 run_tree release
if [ "${1:-}" != "--no-sanitize" ]; then
	CTEST_JOBS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_tree asan -DTANDEM_SANITIZE=ON
fi
echo "== all tests passed"
