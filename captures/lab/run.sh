#!/usr/bin/env bash
# Runs voipwatch lab scenarios: builds the namespaces (lab.sh), runs the scenario (lab.py), which writes
# captures/<name>.pcap[ng] and captures/<name>.truth.json, and tears everything down on exit.
# Usage (as root): [LAB_NS_PREFIX=xx] captures/lab/run.sh <scenario>... | all | list
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# One lab per LAB_NS_PREFIX at a time on this machine: concurrent runs with one prefix (two
# checkouts, two shells) would tear each other's topology down. Wait for the other run instead.
exec 9>"$LAB_LOCK"
flock 9
trap lab_down EXIT INT TERM

if [ "$#" -eq 0 ]; then echo "usage: $0 <scenario>...|all|list" >&2; exit 2; fi
scenarios=$(python3 -c "import sys; sys.path.insert(0, '$here'); import lab; print(' '.join(lab.SCENARIOS))")
if [ "$1" = list ]; then echo "$scenarios" | tr ' ' '\n'; exit 0; fi
if [ "$1" = all ]; then set -- $scenarios; fi
for s in "$@"; do
    echo "== $s"
    lab_up
    python3 "$here/lab.py" "$s"
    lab_down
done
