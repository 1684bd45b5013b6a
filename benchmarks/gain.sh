#!/bin/sh
# Issue 24 item 6: `selftaught compare --improvers seed,repair,beam_search --repetitions 4`, one
# run directory per task under ROOT (default runs/gain/), then `benchmarks/gain.py ROOT`. Resumable:
# a task whose JSON is written is skipped, and compare reads a task's finished rows back from
# its run directory, so a killed run continues where it stopped and pays for nothing twice.
#     SELFTAUGHT_LLAMA_THREADS=1 nice -n 5 sh benchmarks/gain.sh [ROOT]
ROOT=${1:-runs/gain}  # under runs/, which git ignores: run directories are not committed
mkdir -p "$ROOT"
for task in maxcut mqap string_grid parity lpn examples/tasks/k_module_problem \
    examples/tasks/evaluator_form three_sat; do
  name=$(basename "$task")
  [ -s "$ROOT/$name.json" ] && continue
  date -u +"%F %T start $name" >> "$ROOT/status"
  selftaught compare --improvers seed,repair,beam_search --tasks "$task" --repetitions 4 \
    --run-dir "$ROOT/$name" --json > "$ROOT/$name.out" 2> "$ROOT/$name.err" \
    && tail -1 "$ROOT/$name.out" > "$ROOT/$name.json"
  date -u +"%F %T end $name rc=$?" >> "$ROOT/status"
done
python benchmarks/gain.py "$ROOT" --markdown --write benchmarks/gain.json
