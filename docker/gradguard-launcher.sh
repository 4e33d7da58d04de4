#!/bin/sh
# gradguard inside the images: the jars built with -Pgpu in /opt/gradguard; JVM options in GRADGUARD_JAVA_OPTS.
# shellcheck disable=SC2086
exec java -Dorg.bytedeco.javacpp.cachedir="${JAVACPP_CACHE:-$HOME/.javacpp/cache}" ${GRADGUARD_JAVA_OPTS:-} \
  -jar /opt/gradguard/gradguard.jar "$@"
