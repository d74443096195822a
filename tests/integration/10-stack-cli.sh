#!/usr/bin/env bash
# timeout: 60
# The launcher's command-line contract, without booting anything.
. "$(dirname "$0")/lib.sh"
stack_down

out=$("$STACK" start nosuchconfig 2>&1); rc=$?
check_eq "unknown config exits 2" 2 "$rc"
check "unknown config prints usage" grep -q 'usage:' <<<"$out"

"$STACK" start nested --vms x >/dev/null 2>&1; rc=$?
check_eq "non-numeric --vms exits 2" 2 "$rc"

"$STACK" bogus >/dev/null 2>&1; rc=$?
check_eq "unknown subcommand exits 2" 2 "$rc"

out=$("$STACK" start nested --no-shadow 2>&1); rc=$?
check_eq "--no-shadow outside usshadow exits 2" 2 "$rc"
check "--no-shadow outside usshadow says so" grep -q 'apply to usshadow only' <<<"$out"

"$STACK" start usshadow --carry bogus >/dev/null 2>&1; rc=$?
check_eq "unknown --carry exits 2" 2 "$rc"

out=$("$STACK" stop 2>&1); rc=$?
check_eq "stop without start exits 0" 0 "$rc"
check "stop without start says so" grep -q 'not running' <<<"$out"

out=$("$STACK" status 2>&1); rc=$?
check_eq "status without start exits 1" 1 "$rc"

out=$("$STACK" console vm0 2>&1); rc=$?
check_eq "console without stack exits 1" 1 "$rc"
check "console without stack says so" grep -q "stack not running" <<<"$out"
finish
