#!/usr/bin/env bash
# A/B benchmark of the ingest path: this tree against a base commit, in one session.
#
# Builds the same bench source (crates/record/benches/ingest_ab.rs, copied into a temporary
# git worktree of the base) for both trees, then runs the two binaries alternately (ABBA
# order, so a drift of the machine's load hits both alike) on the same frames, and prints
# the new/old ratio of each case: of the medians over all runs of criterion's mean
# estimate, and the median of the per-round ratios (robust to a drift between rounds).
#
# Usage: scripts/bench-ab.sh [BASE [ROUNDS]]
#   BASE    commit to compare against (default c68e01f: the parent of issue 9's first
#           commit, 311f0ff "stream: any valid JSON string decodes")
#   ROUNDS  rounds of old+new+new+old runs (default 2)
# Environment: CARGO_TARGET_DIR (default target/ of this tree; release builds of both trees
# share it), AB_WORKTREE (default ../ab-old next to this tree; removed afterwards),
# AB_CRITERION_ARGS (default "--warm-up-time 1 --measurement-time 3"),
# AB_COUNT=1: instead of timing, count the instructions of each case once per tree under
# valgrind's callgrind (only the timed part, the bench's `counted`): a ratio that does not
# move with the machine's load (other builds, a noisy VM); ROUNDS is then ignored.
set -euo pipefail

base=${1:-c68e01f}
rounds=${2:-2}
root=$(git rev-parse --show-toplevel)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
old=${AB_WORKTREE:-$(dirname "$root")/ab-old}
args=${AB_CRITERION_ARGS:---warm-up-time 1 --measurement-time 3}
work=$(mktemp -d)
cleanup() {
    git -C "$root" worktree remove --force "$old" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$old" "$base" >/dev/null
cp "$root/crates/record/benches/ingest_ab.rs" "$old/crates/record/benches/"
# What differs between trees lives in each tree's benches/ab_compat/new.rs; a base older
# than that file gets old.rs (the API of c68e01f .. 4397b92) in its place.
if [ ! -e "$old/crates/record/benches/ab_compat/new.rs" ]; then
    mkdir -p "$old/crates/record/benches/ab_compat"
    cp "$root/crates/record/benches/ab_compat/old.rs" "$old/crates/record/benches/ab_compat/new.rs"
fi
# Before the rename of the venue crate (4397b92) it was `stream`.
if [ ! -d "$old/crates/binance" ]; then
    sed -i 's/\bbinance::/stream::/g' "$old/crates/record/benches/ingest_ab.rs" \
        "$old/crates/record/benches/ab_compat/new.rs"
fi
grep -q 'name = "ingest_ab"' "$old/crates/record/Cargo.toml" ||
    printf '\n[[bench]]\nname = "ingest_ab"\nharness = false\n' >>"$old/crates/record/Cargo.toml"

# The bench executable of the tree in $1.
bench_exe() {
    (cd "$1" && cargo bench -p record --bench ingest_ab --no-run --message-format=json) |
        jq -r 'select(.reason == "compiler-artifact" and .target.name == "ingest_ab"
                      and .executable != null) | .executable' | tail -1
}
new_exe=$(bench_exe "$root")
old_exe=$(bench_exe "$old")
echo "new: $(git -C "$root" rev-parse --short HEAD) ($new_exe)"
echo "old: $(git -C "$root" rev-parse --short "$base") ($old_exe)"

export INGEST_AB_FRAMES=$work/frames.txt CRITERION_HOME=$work/criterion

if [ "${AB_COUNT:-}" = 1 ]; then
    # Instructions (callgrind's Ir) of each case's timed part, old and new.
    ir() { # exe case
        INGEST_AB_COUNT=$2 valgrind --tool=callgrind --toggle-collect='*counted*' \
            --callgrind-out-file="$work/cg.out" "$1" >/dev/null 2>"$work/cg.err" ||
            { cat "$work/cg.err" >&2; exit 1; }
        awk '/^summary:/ {print $2}' "$work/cg.out"
    }
    "$new_exe" --bench --noplot --warm-up-time 0.1 --measurement-time 0.1 decode_only >/dev/null # writes the frames
    echo
    echo "| case | old (instructions) | new (instructions) | new/old |"
    echo "|---|---:|---:|---:|"
    for case in decode_only decode_and_buffer recorder_path_dedup_journal_buffer \
        recorder_path_dedup_journal_buffer_sync_per_pass recorder_path_dedup_buffer_no_journal; do
        o=$(ir "$old_exe" "$case")
        n=$(ir "$new_exe" "$case")
        echo "| ingest_ab/$case | $o | $n | $(python3 -c "print(f'{$n / $o:.4f}')") |"
    done
    exit 0
fi
run() { # side exe
    echo "== $1"
    # shellcheck disable=SC2086 # $args is a list of words
    "$2" --bench --noplot $args 2>&1 | tee -a "$work/$1.log" | grep -E '^ingest_ab/|time:' || true
}
run new "$new_exe" # first: writes the frames file both sides then read
: >"$work/new.log"
for _ in $(seq "$rounds"); do
    run old "$old_exe"
    run new "$new_exe"
    run new "$new_exe"
    run old "$old_exe"
done

python3 - "$work/old.log" "$work/new.log" <<'EOF'
import re, statistics, sys

UNIT = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}

def means(path):
    out, name = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^(ingest_ab/\S+)", line)
        if m:
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            out.setdefault(name, []).append(float(t.group(1)) * UNIT[t.group(2)])
            name = None
    return out

old, new = means(sys.argv[1]), means(sys.argv[2])
# Each round ran old, new, new, old: its ratio compares runs minutes apart, so a drift of
# the machine's speed over the session (seen: +/-10 % between rounds) cancels out of it.
print(f"\n| case | old (ms) | new (ms) | new/old of the medians | new/old per round: median (min-max) | runs |")
print("|---|---:|---:|---:|---:|---:|")
for case in old:
    if case not in new:
        continue
    o, n = statistics.median(old[case]), statistics.median(new[case])
    rounds = [
        (new[case][i] + new[case][i + 1]) / (old[case][i] + old[case][i + 1])
        for i in range(0, min(len(old[case]), len(new[case])) - 1, 2)
    ]
    per_round = (
        f"{statistics.median(rounds):.3f} ({min(rounds):.3f}-{max(rounds):.3f})" if rounds else "-"
    )
    print(f"| {case} | {o:.2f} | {n:.2f} | {n / o:.3f} | {per_round} | {len(old[case])}+{len(new[case])} |")
EOF
