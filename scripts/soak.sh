#!/usr/bin/env bash
# Soak benchmark: runs a long training job and samples the JVM's resident memory (RSS) while it trains,
# to show that native memory is released every step (it is a benchmark, not a test).
#   scripts/soak.sh [STEPS] [extra train flags...]      default 5000 steps of the default job
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-5000}"
shift || true
out="$(mktemp -d)/soak"
"$root/bin/gradguard" --version >/dev/null   # build first, so the sampled process is the training JVM
"$root/bin/gradguard" train --steps "$steps" --eval-samples 1000 --quiet --out "$out" "$@" >/dev/null &
pid=$!
printf '%8s %8s %10s\n' "seconds" "step" "rss_MiB"
t0=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  rss_mib=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || true)
  step=0; [ -f "$out/metrics.jsonl" ] && step=$(wc -l < "$out/metrics.jsonl")
  [ -n "$rss_mib" ] && printf '%8d %8d %10s\n' "$(( $(date +%s) - t0 ))" "$step" "$rss_mib"
  sleep 5
done
wait "$pid"
echo "summary: $out/summary.json"
