#!/usr/bin/env bash
# Instructions per one-row frame through a query's actors (bench/micro/frame-path.ts), under valgrind's callgrind:
# `bash bench/micro/frame-path.sh`. Bundled to plain JavaScript first (esbuild, packages left external), run with FEW
# and MANY rows after the same warm-up; the figure is (instructions(MANY) - instructions(FEW)) / (MANY - FEW), so
# start-up and compilation cancel out. Instruction counts do not depend on how busy the machine is, unlike times.
set -euo pipefail
cd "$(dirname "$0")/../.."
FEW=${FEW:-300}
MANY=${MANY:-900}
mkdir -p tmp
work=$(mktemp -d -p "$PWD/tmp")
trap 'rm -rf "$work"' EXIT
npx esbuild bench/micro/frame-path.ts --bundle --platform=node --format=esm --packages=external --log-level=warning --outfile="$work/frame-path.mjs"
count() {
  # V8 sometimes dies under valgrind at about 750M instructions (brk segment overflow, then a fatal GC; not the code
  # measured): such a run is made again, up to three times.
  for attempt in 1 2 3; do
    valgrind --tool=callgrind --callgrind-out-file="$work/out" \
      node --single-threaded --max-semi-space-size=2 --hash-seed=1 --random-seed=1 "$work/frame-path.mjs" "$1" >"$work/stdout" 2>"$work/log" || true
    if grep -q "rows delivered" "$work/stdout"; then
      grep -E '^summary:|^totals:' "$work/out" | head -1 | awk '{print $2}'
      return
    fi
  done
  echo "frame-path: the run of $1 rows failed three times:" >&2
  tail -5 "$work/log" >&2
  exit 1
}
few=$(count "$FEW")
many=$(count "$MANY")
echo "frame-path: $(( (many - few) / (MANY - FEW) )) instructions per one-row frame (source -> aggregate -> sink)"
