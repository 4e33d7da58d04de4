#!/usr/bin/env bash
# Creates (once) the Python environment that the cross-checks against real PyTorch, TensorBoard and
# safetensors use, from the machine's configured local package index. Idempotent: a venv that already
# imports all three is left as it is.
#
#   scripts/pyenv.sh             # the venv in $GRADGUARD_PYENV, default $HOME/.cache/gradguard/pyenv
#
# Tests find its python at $GRADGUARD_PYTHON, else $HOME/.cache/gradguard/pyenv/bin/python, and skip with
# a message when it is missing. Without a configured local index this script says so in one line and
# exits 0: the build never depends on it.
set -euo pipefail

venv="${GRADGUARD_PYENV:-$HOME/.cache/gradguard/pyenv}"
packages=(torch tensorboard safetensors)
check='import torch, tensorboard, safetensors'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  echo "pyenv: $venv is ready (torch, tensorboard, safetensors)"
  exit 0
fi

python="$(command -v python3 || true)"
if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "pyenv: no python3 with pip on this machine; the PyTorch cross-check tests will be skipped"
  exit 0
fi

# The configured index URLs: index-url first, then extra-index-url (each may list several, space-separated).
# pip reads its user configuration from $HOME; when HOME is not the account's home (an empty home in CI),
# the account's own configuration is the machine's, so it is read from the home the password database names.
config="$("$python" -m pip config list 2>/dev/null || true)"
account_home="$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6 || true)"
if ! printf '%s\n' "$config" | grep -qE 'index-url=' && [ -n "$account_home" ] && [ "$account_home" != "${HOME:-}" ]; then
  config="$(HOME="$account_home" "$python" -m pip config list 2>/dev/null || true)"
fi
urls_of() {  # the values of the keys named $1 in $config, one URL a line
  printf '%s\n' "$config" | grep -E "^[^=]*\.$1=" | sed -E "s/^[^=]*=//; s/^'(.*)'\$/\\1/" | tr ' ' '\n' || true
}
mapfile -t indexes < <({ urls_of index-url; urls_of extra-index-url; } | awk 'NF && !seen[$0]++')
if [ "${#indexes[@]}" -eq 0 ]; then
  echo "pyenv: pip has no local package index configured ('pip config list'); the PyTorch cross-check tests will be skipped"
  exit 0
fi

args=(--index-url "${indexes[0]}")
for url in "${indexes[@]:1}"; do args+=(--extra-index-url "$url"); done

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q "${args[@]}" "${packages[@]}"
"$venv/bin/python" -c "$check"
echo "pyenv: installed torch, tensorboard, safetensors in $venv from ${indexes[*]}"
