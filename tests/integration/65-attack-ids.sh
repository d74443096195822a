#!/usr/bin/env bash
# timeout: 600
# make attack-ids: L1's administrator kills the IDS that runs inside L1 and
# starts a hidden process in the user VM; the in-L1 IDS misses it, V-Met in
# L0's management domain (out of L1's reach) detects it.
. "$(dirname "$0")/lib.sh"
stack_down
out=$("$NVSEC_ROOT/attacks/ids-disable/run" 2>&1)
echo "$out"
check "the in-L1 IDS worked before the attack" grep -q '^attack-ids: ok: the in-L1 IDS works' <<<"$out"
check "in-l1: hidden process MISSED" grep -qx 'ids-tamper in-l1: hidden process MISSED' <<<"$out"
check "vmet: hidden process DETECTED" grep -qx 'ids-tamper vmet: hidden process DETECTED' <<<"$out"
check_eq "exactly one line per configuration" 2 "$(grep -c '^ids-tamper ' <<<"$out")"
check "no stack left running" test -z "$(our_processes)"
finish
