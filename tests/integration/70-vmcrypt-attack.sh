#!/usr/bin/env bash
# timeout: 1200
# VMCrypt's attack demo (papers/003 sec. 5.4): with VMCrypt off, the L1
# administrator finds the root entry of the user VM's /etc/shadow in a
# suspend image with strings | grep; with mode aes, not. The demo is
# attacks/image-strings/run (make attack-image); this test runs it for the
# two modes that decide, and checks its verdict lines.
. "$(dirname "$0")/lib.sh"

stack_down
out=$("$NVSEC_ROOT/attacks/image-strings/run" off aes 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 20
check_eq "the attack driver ran to its end" 0 "$rc"
check "off: the shadow entry is found in the image (LEAKED)" \
    grep -qE '^image-strings off: found [1-9][0-9]* shadow entries \(LEAKED\)$' <<<"$out"
check "aes: no shadow entry in the image (SAFE)" \
    grep -qE '^image-strings aes: found 0 shadow entries \(SAFE\)$' <<<"$out"
finish
