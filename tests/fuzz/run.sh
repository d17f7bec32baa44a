#!/bin/sh
# run.sh - runs libFuzzer targets over a copy of their committed seed corpus (the corpus in the
# tree is never written) and reports executions, rate and result per target; exits 1 if any
# target crashed, leaked, timed out or ran out of memory. Artifacts and logs go to
# BUILD_DIR/fuzz-artifacts/TARGET/ and BUILD_DIR/fuzz-logs/TARGET.log.
#   tests/fuzz/run.sh [-t SECONDS] [-n RUNS] [-k] BUILD_DIR [TARGET...]
# -t: time per target (default 15; 0: no limit), -n: executions per target (default: no limit),
# -k: keep the grown corpus (its folder is printed). TARGET defaults to every tests/fuzz/fuzz_*.c.
# Extra libFuzzer flags may be given in FUZZ_FLAGS.
set -u
SECONDS_EACH=15 RUNS=-1 KEEP=0
while getopts t:n:k opt; do
    case $opt in
    t) SECONDS_EACH=$OPTARG ;;
    n) RUNS=$OPTARG ;;
    k) KEEP=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-t SECONDS] [-n RUNS] [-k] BUILD_DIR [TARGET...]" >&2; exit 2; }
BUILD=$1
shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -eq 0 ]; then
    for f in "$SRC"/tests/fuzz/fuzz_*.c; do set -- "$@" "$(basename "$f" .c)"; done
fi

# The longest input worth trying: past the seeds' sizes, short enough to stay fast.
max_len() {
    case $1 in
    fuzz_cifar) echo 6200 ;; # two CIFAR-100 records
    fuzz_torch_pt) echo 8192 ;; # a tiny CNN's torch.save file
    *) echo 4096 ;;
    esac
}

passed=0 failed=0 summary=""
mkdir -p "$BUILD/fuzz-logs"
for t in "$@"; do
    bin=$BUILD/$t log=$BUILD/fuzz-logs/$t.log art=$BUILD/fuzz-artifacts/$t
    work=$(mktemp -d "${TMPDIR:-/tmp}/fovea_fuzz_run.XXXXXX")
    # the targets' scratch files (checkpoint, CIFAR), in memory where possible, removed after
    FV_FUZZ_TMPDIR=$(mktemp -d /dev/shm/fovea_fuzz_run.XXXXXX 2>/dev/null ||
        mktemp -d "$work/tmp.XXXXXX")
    export FV_FUZZ_TMPDIR
    mkdir -p "$art" "$work/corpus"
    cp "$SRC/tests/fuzz/corpus/$t"/* "$work/corpus/" 2>/dev/null
    # no input of a few kB may ask for 1 GB at once (finding 6's memory bombs)
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$SECONDS_EACH" -runs="$RUNS" -max_len="$(max_len "$t")" -timeout=30 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$art/" ${FUZZ_FLAGS:-} \
        "$work/corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        result=ok passed=$((passed + 1))
    else
        result="FAILED (exit $rc; $log, $art)" failed=$((failed + 1))
        grep -E "^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error|fuzz)" "$log" | head -5 |
            sed "s|^|$t: |" >&2
    fi
    line=$(printf '%-18s %12s execs %8s/s  %s' "$t" "${execs:-?}" "${rate:-?}" "$result")
    summary="$summary$line
"
    rm -rf "$FV_FUZZ_TMPDIR"
    if [ "$KEEP" -eq 1 ]; then
        echo "$t: grown corpus kept in $work/corpus"
    else
        rm -rf "$work"
    fi
done
printf '%s' "$summary"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
