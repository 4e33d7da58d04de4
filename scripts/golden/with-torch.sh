#!/usr/bin/env bash
# Runs scripts/golden/clip_golden.py with real PyTorch, without pip or a GPU: Debian 13 (trixie) packages
# PyTorch 2.6 as python3-torch, so this builds a trixie root file system with it (about 1 GB, once) and
# runs the script inside it. Needs root, mmdebstrap and deb.debian.org.
#
#   sudo scripts/golden/with-torch.sh            # rewrites gradguard-core/src/test/resources/golden/clip_golden.json
#   mvn -B -q test -Dtest='ClipGradGolden*'       # then check ClipGrad against it
#
# GRADGUARD_TORCH_ROOT picks where the root file system lives (default /var/tmp/gradguard-torch-trixie).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
root="${GRADGUARD_TORCH_ROOT:-/var/tmp/gradguard-torch-trixie}"
if [ ! -x "$root/usr/bin/python3" ]; then
    command -v mmdebstrap >/dev/null || { echo "with-torch.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 2; }
    mmdebstrap --variant=apt --include=python3-torch,python3-numpy trixie "$root" http://deb.debian.org/debian
fi
work="$root/gradguard-golden"
rm -rf "$work"
mkdir -p "$work/scripts/golden" "$work/src/test/resources/golden"
cp "$repo/scripts/golden/clip_golden.py" "$work/scripts/golden/"
chroot "$root" sh -c 'cd /gradguard-golden && python3 scripts/golden/clip_golden.py' 2>&1 | grep -v 'UCX  ERROR\|cpuinfo' || true
out="$work/src/test/resources/golden/clip_golden.json"
[ -s "$out" ] || { echo "with-torch.sh: the script wrote no golden file" >&2; exit 1; }
grep -q '"reference": "torch ' "$out" || { echo "with-torch.sh: the golden file did not come from torch" >&2; exit 1; }
cp "$out" "$repo/gradguard-core/src/test/resources/golden/clip_golden.json"
echo "golden file updated from $(grep -o '"reference": "[^"]*"' "$out")"
