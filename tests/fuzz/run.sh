#!/bin/sh
# run.sh BUILD_DIR [SECONDS]: runs every libFuzzer target built in BUILD_DIR
# for SECONDS each (default 10) and ends with "N passed, N failed".
#
# BUILD_DIR must be configured with
#   CC=clang ../configure --enable-sanitizers --enable-fuzzing && make
# A target passes when it ran for the whole time without a crash, a leak, a
# sanitizer report or a broken contract. Each target starts from its seed
# corpus (tests/fuzz/corpus/<name>) plus what earlier runs found
# (BUILD_DIR/tests/fuzz/work/<name>); crashing inputs and logs are kept in
# BUILD_DIR/tests/fuzz/artifacts/<name>/. FUZZ_JOBS=N runs N targets at once.
set -u

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
seconds=${2:-10}
jobs=${FUZZ_JOBS:-1}
case $seconds in '' | *[!0-9]*) usage ;; esac
case $jobs in '' | *[!0-9]* | 0) echo "FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" 2>/dev/null && pwd) || { echo "no build directory '$1'" >&2; exit 2; }
bindir=$build/tests/fuzz

targets=
for bin in "$bindir"/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && targets="$targets ${bin##*/}"
done
if [ -z "$targets" ]; then
	echo "no fuzz targets in '$bindir': configure with" >&2
	echo "  CC=clang ../configure --enable-sanitizers --enable-fuzzing && make" >&2
	exit 2
fi

# run_one NAME: runs one target, leaves PASS or FAIL in its result file.
run_one() {
	name=$1
	short=${name#fuzz_}
	seeds=$here/corpus/$short
	dict=$here/dict/$short.dict
	work=$bindir/work/$short
	art=$bindir/artifacts/$short
	log=$art/last.log

	mkdir -p "$work" "$art"
	rm -f "$art/result"
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/"
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	set -- "$@" "$work"
	[ -d "$seeds" ] && set -- "$@" "$seeds"
	if "$bindir/$name" "$@" >"$log" 2>&1; then
		result=PASS
	else
		result=FAIL
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	echo "$result $name: ${runs:-0} runs, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) files" \
		>"$art/result"
	if [ $result = FAIL ]; then
		{
			echo "--- $name log (tail) ---"
			grep -E 'ERROR|SUMMARY|contract broken|Test unit written|runtime error' "$log" |
				head -n 20
			tail -n 20 "$log"
		} >>"$art/result"
	fi
}

echo "fuzzing each target for $seconds s:$targets"
running=0
for name in $targets; do
	run_one "$name" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

passed=0
failed=0
for name in $targets; do
	short=${name#fuzz_}
	result_file=$bindir/artifacts/$short/result
	if [ -f "$result_file" ] && head -n 1 "$result_file" | grep -q '^PASS'; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	cat "$result_file" 2>/dev/null || echo "FAIL $name: no result"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
