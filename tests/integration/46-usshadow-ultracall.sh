#!/usr/bin/env bash
# timeout: 600
# USShadow's ultracalls with bad arguments, against a vsbypass stack whose L0
# holds a sealing key: from L1 (nvsec-shadowctl badargs: unmapped, kernel and
# non-canonical addresses, size 0, huge sizes, unknown ops, read-only and
# half-unmapped buffers, tampered, truncated, replayed and other-VM blobs),
# each with its error code and nothing written outside the buffer; from L2
# (every shadow op refused with EPERM). L0 stays up and the VM's console,
# whose state the refused restores targeted, still answers.
. "$(dirname "$0")/lib.sh"
stack_down
key=$(mktemp)
trap 'rm -f "$key"; stack_down' EXIT
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key"
export NVSEC_USSHADOW_KEY=$key
stack_up vsbypass --vms 1 --irq vport
trap 'rm -f "$key"; stack_down' EXIT

got=$(vm_run vm0 hostname)
check_eq "vm0 answers on its shadow console before the ultracalls" vm0 "$got"

out=$(l1_run '/nvsec/bin/nvsec-shadowctl badargs vm0; echo "status=$?"')
echo "$out" | grep -E '^(PASS|FAIL|badargs)' | sed 's/^/  L1: /'
for name in unknown_op_0x77 unknown_op_0 unknown_op_0xffff vmtag_set_from_l1 size_0 \
    size_huge size_all_ones size_below_tag address_null address_kernel \
    address_kernel_direct_map address_noncanonical address_wraps address_unmapped \
    address_half_unmapped_nothing_written save_into_readonly_page save_bad_tag \
    save_unknown_vm release_unknown_vm query_too_small_nothing_written query_lists_vm \
    save_buffer_too_small_nothing_written save_ok_within_buffer \
    restore_tampered_ciphertext restore_tampered_mac restore_edited_sequence \
    restore_truncated restore_header_only restore_other_vm \
    restore_relabelled_to_other_vm restore_replayed restore_garbage; do
    check "from L1: $name" grep -q "^PASS $name:" <<<"$out"
done
check "from L1: the suite ran to its end" grep -q '^badargs: 0 failed' <<<"$out"

# The suite's successful save froze vm0's console (its state could be on its
# way to another host); it comes back once L0 sees vm0 run on here.
for ((i = 0; i < 60; i++)); do
    [ -S "$NVSEC_RUN/vsb/vm0.sock" ] && break
    sleep 0.5
done
check "vm0's console comes back after a save without a migration" test -S "$NVSEC_RUN/vsb/vm0.sock"
check "L0 says why" grep -q 'vm0: the VM runs on here after its state was saved' "$NVSEC_RUN/logs/l0-l1.log"

l2=$(vm_run vm0 '/bin/nvsec-shadowop vm0; echo "status=$?"')
for op in 2 3 4 5; do
    check "from L2: shadow op $op refused with EPERM" grep -q "^op $op: -1\$" <<<"$(tr -d '\r' <<<"$l2")"
done

check "L0 logged the refusals with their cause" \
    grep -q 'ultracall: op 3 from L1 refused: Bad address' "$NVSEC_RUN/logs/l0-l1.log"
check "L0 still runs" kill -0 "$(cat "$NVSEC_RUN/pids/l0-l1.pid")"
got=$(vm_run vm0 'echo console-still-here')
check_eq "vm0's console (the refused restores' target) still answers" console-still-here \
    "$(tail -n 1 <<<"$got")"
finish
