#!/bin/bash
# The demo's first-run time: clone this repository to /tmp/democlone, run `./run demo` there
# until its server answers, print the seconds (and each step's time from its log), stop it.
# Usage: bash benchmarks/demo_first_run.sh [REPO]   (default: this checkout)
set -u
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
DIR=/tmp/democlone
rm -rf $DIR && git clone -q $SRC $DIR && cd $DIR
start=$(date +%s)
( PORT=8765 ./run demo 2>&1 | while IFS= read -r line; do printf "%s %s\n" "$(( $(date +%s) - start ))" "$line"; done > /tmp/demo.log ) &
pid=$!
while sleep 2; do
  if curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8765/ 2>/dev/null | grep -qE '^(200|302|301|404)$'; then
    end=$(date +%s); echo "served after $((end-start)) s"; break
  fi
  if ! kill -0 $pid 2>/dev/null; then echo "demo exited"; tail -20 /tmp/demo.log; break; fi
  if [ $(( $(date +%s) - start )) -gt 1500 ]; then echo timeout; break; fi
done
pkill -f "manage.py runserver --noreload 127.0.0.1:8765"; pkill -f run_huey; sleep 1
grep -aE "==>|dataset|zoo|clips:|items" /tmp/demo.log | tr '\r' '\n' | grep -v "^$" | tail -25
