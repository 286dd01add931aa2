#!/usr/bin/env bash
# The repository's docs stand on their own and say what the code needs:
#   1. no source file or doc points at a path outside the repository (/work/..., shared/...);
#   2. README.md's minimum Rust is the workspace's rust-version (Cargo.toml).
set -euo pipefail
status=0
outside=$(grep -rnE '/work/|shared/interface\.md|shared/notes/' \
  --include='*.rs' --include='*.md' --include='*.toml' --include='*.sh' --include=Makefile \
  crates bins scripts README.md ARCHITECTURE.md BENCHMARKS.md Makefile 2>/dev/null |
  grep -vE '^scripts/(docs-check|checks-selftest).sh:' || true)
if [ -n "$outside" ]; then
  echo "docs-check: paths outside the repository (put the contract in the repository's docs):" >&2
  echo "$outside" >&2
  status=1
fi
want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
said=$(grep -oE 'Rust toolchain \(([0-9.]+) or newer\)' README.md | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -1 || true)
if [ "$said" != "$want" ]; then
  echo "docs-check: README.md says Rust ${said:-?} or newer, Cargo.toml's rust-version is $want" >&2
  status=1
fi
[ $status = 0 ] && echo "docs-check: no outside paths; README's Rust $said = rust-version $want"
exit $status
