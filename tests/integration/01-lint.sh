#!/usr/bin/env bash
# timeout: 120
# Every tracked shell script is shellcheck-clean (the project's tooling rule).
. "$(dirname "$0")/lib.sh"
cd "$NVSEC_ROOT" || exit 1
mapfile -t scripts < <(git ls-files | xargs grep -l -s -m1 -E '^(#!(/usr/bin/env bash|/bin/sh|/bin/bash)|# shellcheck shell=)')
for f in "${scripts[@]}"; do
    check "shellcheck $f" shellcheck -x "$f"
done
py=$(git ls-files | xargs grep -l -s -m1 -E '^#!.*python' || true)
check_eq "no Python tooling" "" "$py"
finish
