#!/usr/bin/env bash
# timeout: 900
# VSBypass: four user VMs whose COM1 is forced through to shadow UARTs in L0,
# each reached over ssh on its own console; L1 never sees a console byte.
. "$(dirname "$0")/lib.sh"
stack_down
NVMS=4
stack_up vsbypass --vms "$NVMS" --irq net
for ((i = 0; i < NVMS; i++)); do
    check "ready line for vm$i" grep -qE "^ready vsbypass vm$i console=ssh .*vm$i@127.0.0.1" <<<"$STACK_OUT"
done

# Login over ssh, and no cross-talk: each console answers with its own name.
for ((i = 0; i < NVMS; i++)); do
    got=$(vm_run "vm$i" hostname)
    check_eq "vm$i: login over ssh, own hostname on own console" "vm$i" "$got"
done

# The console never reaches L1: its QEMUs have no serial port and no console log.
l1=$(l1_run 'cat /run/nvsec/vm0.cmd; ls /run/nvsec/vm0.log 2>&1')
check "L1's QEMU runs vm0 with -serial none" grep -q -- '-serial none' <<<"$l1"
check "L1 has no console log of vm0" grep -q 'No such file' <<<"$l1"

# Interrupts reach the user VM through L1's interrupt server.
irqs=$(vm_run vm0 "awk '\$1 == \"4:\" { print \$2 }' /proc/interrupts")
check "vm0 received COM1 interrupts ($irqs)" test "${irqs:-0}" -gt 0

# 64 KiB printed with cat arrives byte-exact at the ssh client.
check "vm1: cat of 64 KiB arrives byte-exact (sha256)" cat_arrives_exact vsbypass vm1

# A typed line far longer than the UART's FIFO arrives byte-exact: L0 holds
# what the FIFO cannot take and tops it up inside each receive-register read.
# 900 characters: busybox's line editing keeps at most 1024.
line=$(head -c 450 /dev/urandom | od -An -tx1 | tr -d ' \n')
want=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
got=$(vm_run vm3 "printf %s $line | sha256sum")
check "vm3: a ${#line}-byte typed line arrives byte-exact (sha256)" grep -q "$want" <<<"$got"

# Attaching to a VM that does not run names the cause.
out=$(timeout 30 "$STACK" console vm7 </dev/null 2>&1)
check "unknown VM: ssh prints a clear error" grep -q "no user VM named 'vm7' is running" <<<"$out"

# A flood of output with no reader: bounded buffer, oldest bytes dropped and
# counted, the VM keeps running. 80000 bytes overrun the 64 KiB ring; the
# next attach reports what was dropped. The flood's pace is the machine's
# (about 10 KiB/s over --irq net, much less on a loaded one), so the test
# waits for its end marker in L0's own log of the console, never attaching
# before it (an attach would drain the ring).
vm_run vm2 '((head -c 80000 /data/f1m.txt; echo FLOOD""DONE) >/dev/ttyS0 &)' >/dev/null
for ((i = 0; i < 180; i++)); do
    grep -q FLOODDONE "$NVSEC_RUN/logs/vsb/vm2.log" && break
    sleep 1
done
check "vm2: the flood ended while no client read (L0's console log)" \
    grep -q FLOODDONE "$NVSEC_RUN/logs/vsb/vm2.log"
got=$(vm_run vm2 'echo alive')
check_eq "vm2: responsive after a flood with no reader" alive "$(tail -n 1 <<<"$got")"
check "L0 counted the dropped bytes" grep -q 'output bytes were dropped while no client read' "$NVSEC_RUN/logs/l0-l1.log"
finish
