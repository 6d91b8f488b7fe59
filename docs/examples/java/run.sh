#!/usr/bin/env bash
# Build (once; Maven fetches from Maven Central into ~/.m2) and run the Java example:
#   docs/examples/java/run.sh --bootstrap 127.0.0.1:9092 \
#       --registry http://127.0.0.1:8081/apis/ccompat/v7 --topics lis.sample.events,...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -f "$here/target/lib/.copied" ] || [ "$here/pom.xml" -nt "$here/target/lib/.copied" ] \
   || [ -n "$(find "$here/src" -newer "$here/target/lib/.copied" -name '*.java' 2>/dev/null)" ]; then
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" compile dependency:copy-dependencies \
    -DoutputDirectory="$here/target/lib" -DincludeScope=runtime >&2
  touch "$here/target/lib/.copied"
fi
exec java -cp "$here/target/classes:$here/target/lib/*" lis.examples.CountDay "$@"
