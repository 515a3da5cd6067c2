#!/usr/bin/env bash
# Instructions per row under valgrind's callgrind: `bash bench/micro/instructions.sh [subject...]`
# (subjects: codec encode encode-young decode encode-narrow decode-narrow, the same by position: codec-arrays encode-arrays
# encode-arrays-young decode-arrays encode-narrow-arrays decode-narrow-arrays; filter project filter-project, the same in
# plain code: plain-filter plain-project plain-filter-project (rows kept in a ring, as the operators' are) and
# plain-project-dropped plain-filter-project-dropped (the old baseline, rows dropped); stream-join
# stream-join-outer; small frames, counted per frame: encode-frames-1 decode-frames-1 codec-frames-1, the same with 3,
# channel-frames-2 channel-frames-2-arrays (an output channel sending frames of 2 rows); aggregate-named aggregate-arrays
# (an aggregation actor's frame: decode, aggregate, flush); aggregate-out-named aggregate-out-arrays (the same, then a
# filter and a projection after it and the output frame encoded: its output named, or by position); source-b-named
# source-b-arrays (scenario (b)'s source actor's frame: generator, projection with a cast, withWatermark, window, key
# projection, encode); generate-named generate-arrays (a generator actor's frame: decode, explode_outer, encode);
# session-window-named session-window-arrays (a session window actor's frame: decode, assign to sessions, flush);
# FRAMES_PER_CALL=16 makes them quicker under valgrind). Instruction counts do not
# depend on how busy the machine is, unlike times. bench/micro/instructions.ts is bundled to plain JavaScript first
# (esbuild), so that no TypeScript loader runs under valgrind; each subject then runs twice, with FEW and MANY frames
# of 256 rows after the same warm-up, and the figure is (instructions(MANY) - instructions(FEW)) / extra rows, so that
# start-up and compilation cancel out.
set -euo pipefail
cd "$(dirname "$0")/../.."
FEW=${FEW:-100}
MANY=${MANY:-600}
subjects=("$@")
[ ${#subjects[@]} -eq 0 ] && subjects=(codec encode decode encode-narrow decode-narrow codec-arrays encode-arrays decode-arrays encode-narrow-arrays decode-narrow-arrays filter project filter-project)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx esbuild bench/micro/instructions.ts --bundle --platform=node --format=esm --log-level=warning --outfile="$work/instructions.mjs"
# A run that does not exit 0 (under valgrind, V8 sometimes fails to grow its heap and ends with SIGTRAP) is run again:
# its partial count would make the figure wrong.
count() {
  for try in 1 2 3; do
    if valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$work/out" \
      node --single-threaded --hash-seed=1 --random-seed=1 "$work/instructions.mjs" "$1" "$2" >/dev/null 2>"$work/log"; then
      grep -E '^summary:|^totals:' "$work/out" | head -1 | awk '{print $2}'
      return
    fi
    echo "$1 with $2 frames: valgrind run $try failed, again" >&2
  done
  echo "$1 with $2 frames: three valgrind runs failed ($work/log)" >&2
  exit 1
}
for subject in "${subjects[@]}"; do
  few=$(count "$subject" "$FEW")
  many=$(count "$subject" "$MANY")
  # The small-frame subjects (encode-frames-1, ...) run 256 frames a call: their figure is per frame.
  unit=row
  per_call=256
  case "$subject" in *frames-*) unit=frame; per_call=${FRAMES_PER_CALL:-256} ;; esac
  echo "$subject: $(( (many - few) / ((MANY - FEW) * per_call) )) instructions per $unit"
done
