#!/bin/sh
# gradguard inside the images: the jars built with -Pgpu in /opt/gradguard; JVM options in GRADGUARD_JAVA_OPTS.
# glibc's allocator keeps what a training step frees for the next step (see bin/gradguard). A value set before wins.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-268435456}" \
  MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-268435456}"
# shellcheck disable=SC2086
exec java -Dorg.bytedeco.javacpp.cachedir="${JAVACPP_CACHE:-$HOME/.javacpp/cache}" ${GRADGUARD_JAVA_OPTS:-} \
  -jar /opt/gradguard/gradguard.jar "$@"
