#!/usr/bin/env bash
# Usage: run.sh WIRE_KERNEL WIRE_USTACK SCRIPT_DIR
# The kernel is the oracle: a script it fails is a wrong script, and fails the
# test before ustack is tried. Without root the kernel cannot be asked, which
# the output says; CI runs as root.
set -uo pipefail
kernel=$1 ustack=$2 dir=$3
scripts=("$dir"/*.wire)
if [ "$(id -u)" -eq 0 ]; then
	python3 "$kernel" -j 4 "${scripts[@]}" || { echo "run.sh: the kernel fails a script: the script is wrong"; exit 1; }
else
	echo "run.sh: not root, the kernel oracle is not run"
fi
exec "$ustack" "${scripts[@]}"
