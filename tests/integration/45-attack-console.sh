#!/usr/bin/env bash
# timeout: 600
# make attack-console: the L1 administrator's snooper captures the typed root
# password in the conventional nested cloud and nothing of it with VSBypass.
. "$(dirname "$0")/lib.sh"
stack_down
out=$(ATTACK_SNOOP_SECONDS=30 "$NVSEC_ROOT/attacks/console-snoop/run" 2>&1)
echo "$out"
n=$(sed -n 's/^console-snoop nested: captured \([0-9]*\) secret bytes (LEAKED)$/\1/p' <<<"$out")
check "nested: the snooper in L1 captured the password (LEAKED)" test "${n:-0}" -eq "${#ROOT_PASSWORD}"
check "vsbypass: nothing of it (SAFE)" grep -qx 'console-snoop vsbypass: captured 0 secret bytes (SAFE)' <<<"$out"
check_eq "exactly one line per configuration" 2 "$(grep -c '^console-snoop ' <<<"$out")"
finish
