#!/usr/bin/env bash
# Build the libFuzzer targets with clang under ASan+UBSan and run each for a
# bounded time, seeded from the shared corpora and tests/data.
# Usage: [JOBS=n] ./deploy/fuzz.sh [seconds-per-target] [target...]
# (JOBS: parallel build jobs, default nproc; use JOBS=1 on a shared machine)
# Crashes are kept in .fuzz/artifacts/<target>/; the script then exits 1.
# Turn each into a regression case in tests/data/ (see the suite of its
# module).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-60}
shift || true
corpora="${TANDEM_CORPORA:-$root/../shared/corpora}"

./deploy/deps.sh
CC=clang cmake -S "$root" -B "$root/build-fuzz" -DTANDEM_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build-fuzz" -j "${JOBS:-$(nproc)}" >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

# The PROTOS c07-sip INVITE cases come as a tarball: unpacked once, here.
protos="$root/.fuzz/seeds/protos"
if [ ! -d "$protos/invite" ] && [ -f "$corpora/protos/c07-sip-cases.tgz" ]; then
	mkdir -p "$protos"
	tar xzf "$corpora/protos/c07-sip-cases.tgz" -C "$protos"
fi

seeds_for() { # target -> seed folders that exist
	case "$1" in
	fuzz_sip) echo "$corpora/rfc4475 $corpora/rfc5118/wire $protos/invite $root/tests/data/fuzz_sip" ;;
	fuzz_sdp) echo "$root/tests/data/sdp" ;;
	*) echo "$root/tests/data/$1" ;;
	esac
}

status=0
for t in "${targets[@]}"; do
	bin="$root/build-fuzz/tests/fuzz/$t"
	[ -x "$bin" ] || { echo "fuzz: no binary $bin" >&2; exit 2; }
	work="$root/.fuzz/corpus/$t"
	art="$root/.fuzz/artifacts/$t/"
	mkdir -p "$work" "$art"
	seeds=()
	for d in $(seeds_for "$t"); do [ -d "$d" ] && seeds+=("$d"); done
	echo "== $t for ${secs}s (seeds: ${seeds[*]:-none})"
	if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=70000 -artifact_prefix="$art" -print_final_stats=1 \
		"$work" "${seeds[@]}" >"$root/.fuzz/$t.log" 2>&1; then
		echo "fuzz: $t FAILED, see .fuzz/$t.log and $art" >&2
		status=1
	fi
	grep -E '^stat::number_of_executed_units|^stat::peak_rss|cov:' \
		"$root/.fuzz/$t.log" | tail -3
done
exit $status
