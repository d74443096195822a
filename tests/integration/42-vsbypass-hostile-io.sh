#!/usr/bin/env bash
# timeout: 420
# VSBypass under bad input from a user VM: a hostile L2 kernel
# (src/l2/hostile-io) drives COM1 with 16- and 32-bit and string I/O,
# straddles both ends of the port range and reads write-only registers. L0
# must answer every access and stay up (so must L1's own UART when L1's root
# does the same), the device must still carry input and
# output byte-exact, and another user VM's console must not notice.
. "$(dirname "$0")/lib.sh"
stack_down
stack_up vsbypass --vms 1 --irq vport

work=$(mktemp -d)
socat_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_hio() {
    [ -z "$socat_pid" ] || kill "$socat_pid" 2>/dev/null
    exec 3>&- 2>/dev/null
    rm -rf "$work"
    stack_down
}
trap cleanup_hio EXIT

# wait_for FILE PATTERN SECONDS: poll until FILE has a line matching PATTERN.
# shellcheck disable=SC2317 # called through check
wait_for() {
    local i
    for ((i = 0; i < $3 * 2; i++)); do
        grep -qa -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.5
    done
    return 1
}

# The hostile VM never tags itself, so L0 names its console by nested CR3.
before=("$NVSEC_RUN"/vsb/ncr3.*.sock)
l1_run 'NVSEC_L2_SERIAL=none NVSEC_L2_KERNEL=/nvsec/l2/hostile-io.elf /nvsec/bin/start-l2 hostile 1' >"$work/start"
check "L1 started the hostile user VM" grep -q 'start-l2: hostile pid' "$work/start"
sock=
for ((i = 0; i < 120; i++)); do
    for s in "$NVSEC_RUN"/vsb/ncr3.*.sock; do
        [ -S "$s" ] || continue
        case " ${before[*]} " in *" $s "*) ;; *) sock=$s ;; esac
    done
    [ -z "$sock" ] || break
    sleep 0.5
done
check "L0 bound a shadow UART to the untagged VM" test -S "${sock:-/nonexistent}"

mkfifo "$work/in"
socat -t 5 - "UNIX-CONNECT:${sock:-/nonexistent}" <"$work/in" >"$work/out" 2>"$work/socat.err" &
socat_pid=$!
exec 3>"$work/in"
check "the hostile kernel finished its I/O checks" wait_for "$work/out" 'HIO-CHECKS-DONE' 120

for name in outw_base_sets_thr_and_ier outl_straddling_top_sets_scr inl_straddling_top \
    inw_straddling_bottom_low_byte_floats inl_straddling_bottom inl_mcr_lsr_msr_scr \
    read_of_fcr_gives_iir fcr_write_seen_through_iir dlab_divisor_by_word rep_insb_reads_lsr \
    rep_outsl_leaves_lcr loopback_byte_returns; do
    line=$(tr -d '\r' <"$work/out" | grep -a "^HIO [a-z]* $name " | head -n 1)
    check_eq "shadow UART: $name" ok "$(cut -d' ' -f2 <<<"$line")"
done
check "no check reported bad" grep -qa 'HIO-CHECKS-DONE bad=0' "$work/out"

# After all that, the device still moves bytes both ways, none lost or added.
seq 1 1000 >"$work/sent"
check "the hostile kernel echoes input" wait_for "$work/out" 'HIO-ECHO-BEGIN' 30
cat "$work/sent" >&3
printf '~' >&3
check "echo finished" wait_for "$work/out" 'HIO-ECHO-END' 180
tr -d '\r' <"$work/out" | sed -n '/^HIO-ECHO-BEGIN$/,/^HIO-ECHO-END/p' | sed '1d;$d' >"$work/echoed"
check "input echoed byte-exact ($(wc -c <"$work/sent") bytes)" cmp "$work/sent" "$work/echoed"
check "the VM counted every input byte" grep -qa "HIO-ECHO-END n=$(wc -c <"$work/sent")" "$work/out"

# The untrusted L1's root does the same to the UART L0 emulates for L1 itself:
# stock QEMU 7.2 aborts on a 32-bit OUT to 0x3fe.
out=$(l1_run '/nvsec/bin/nvsec-wide-io')
check "L1 root's wide I/O past its own COM1 returns" grep -q 'wide-io: done' <<<"$out"
check "L0 still runs" "$STACK" status
got=$(vm_run vm0 hostname)
check_eq "the other user VM's console is unaffected" vm0 "$got"
# shellcheck disable=SC2016 # $(...) is for L1's shell
l1_run 'kill $(cat /run/nvsec/hostile.pid)' >/dev/null
finish
