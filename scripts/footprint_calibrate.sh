#!/usr/bin/env bash
# Measures what a training step holds per sequence, the numbers behind dev.gradguard.task.Footprint: for each
# model, the peak resident memory of `gradguard train` (2 steps) at two batch sizes; the growth per sequence,
# divided by the sequence length and the hidden size, is what Footprint's per-step factors estimate.
#
#   scripts/footprint_calibrate.sh            # adding: rnn, gru, lstm, transformer (about 3 minutes, 7 GB)
#
# Needs GNU time (/usr/bin/time). Run it on an otherwise idle machine: the peaks are of the whole process.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peak_kb() { # model batch
    /usr/bin/time -f '%M' "$root/bin/gradguard" train --task adding --model "$1" --steps 2 --batch-size "$2" \
        --eval-samples 10 --threads 2 --quiet --out "$work/run-$1-$2" 2>&1 >/dev/null | tail -1
}
length=30 hidden=32
printf '%-12s %12s %12s %16s %22s\n' model 'small (KB)' 'large (KB)' 'floats/sequence' 'per step / hidden'
# the transformer's last column is per position of its 2 blocks / width 32; halve it for one block
for spec in rnn:50000:100000 gru:50000:100000 lstm:50000:100000 transformer:8000:16000; do
    IFS=: read -r model small large <<<"$spec"
    a=$(peak_kb "$model" "$small")
    b=$(peak_kb "$model" "$large")
    awk -v m="$model" -v a="$a" -v b="$b" -v s="$small" -v l="$large" -v t="$length" -v h="$hidden" 'BEGIN {
        floats = (b - a) * 1024 / (l - s) / 4
        printf "%-12s %12d %12d %16.0f %22.1f\n", m, a, b, floats, floats / t / h }'
done
