#!/bin/sh
# Host keys are made per container (never baked into the image); the login shell gets the image's
# environment (sshd sessions do not inherit the container's ENV).
set -e
ssh-keygen -A >/dev/null
keys=/home/gradguard/.ssh/authorized_keys
if [ ! -s "$keys" ]; then
  echo "ssh-entrypoint: no key at $keys; mount one: -v ~/.ssh/id_ed25519.pub:$keys:ro" >&2
fi
{
  echo "export PATH=\"$PATH\""
  echo "export LD_LIBRARY_PATH=\"${LD_LIBRARY_PATH:-}\""
  echo "export JAVACPP_CACHE=\"${JAVACPP_CACHE:-}\""
  echo "export NVIDIA_VISIBLE_DEVICES=\"${NVIDIA_VISIBLE_DEVICES:-}\""
} > /etc/profile.d/gradguard.sh
exec "$@"
