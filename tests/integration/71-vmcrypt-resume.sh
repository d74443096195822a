#!/usr/bin/env bash
# timeout: 1200
# VMCrypt (papers/003), aes mode: the user VM runs normally with protection on
# (boot, login, file I/O), L1 reading the VM's memory while it runs sees
# ciphertext (the dual view), and suspend/resume through L1's stock QEMU
# works twice in a row (a resumed VM suspended again): the shell session and a
# counter survive, the image holds neither the shadow entry nor a marker the
# user wrote, and L0 resumes only after authenticating the sealed metadata.
. "$(dirname "$0")/lib.sh"
. "$NVSEC_ROOT/attacks/image-strings/suspend.sh"

TRACE=$NVSEC_BUILD/test-logs/vmcrypt-resume.trace
L0LOG=$NVSEC_RUN/logs/l0-l1.log
MARKER=vmcrypt-marker-$RANDOM$RANDOM
export NVSEC_VMCRYPT_TRACE=$TRACE

stack_down
stack_up vmcrypt --mode aes
check "L0 armed VMCrypt for the user VM once its kernel ran" grep -q 'nvsec/vmcrypt: user VM [0-9]* armed' "$L0LOG"

# --- the VM under protection: boot, login, file I/O --------------------------
check "L1's QEMU keeps a monitor for vm0, and vm0 runs" vmc_monitor_up 0
want=$(image_file_sha256 /data/f64k.txt)
got=$(vmc_vm 0 'sha256sum /data/f64k.txt' | cut -d' ' -f1)
check_eq "login, and a file read intact (sha256 of /data/f64k.txt)" "$want" "$got"
# shellcheck disable=SC2016 # expanded in the VM
got=$(vmc_vm 0 'dd if=/dev/urandom of=/tmp/r bs=64k count=32 2>/dev/null; a=$(sha256sum </tmp/r); cp /tmp/r /tmp/r2; sync; b=$(sha256sum </tmp/r2); [ "$a" = "$b" ] && echo same')
check_eq "2 MiB written, copied, read back equal" same "$got"
got=$(vmc_vm 0 "cat /etc/shadow >/dev/null; echo $MARKER-x >/tmp/marker; (i=0; while :; do i=\$((i + 1)); echo \$i >/tmp/counter; sleep 1; done) >/dev/null 2>&1 & sleep 2; cat /tmp/marker")
check_eq "the user read /etc/shadow, wrote a marker, started a counter" "$MARKER-x" "$got"

# --- the dual view: L1 reads the VM's RAM through its QEMU process -------------
# The largest private anonymous mapping of L1's QEMU is the VM's RAM.
# shellcheck disable=SC2016 # expanded in L1
ramread='p=$(cat /run/nvsec/vm0.pid); set -- $(awk '"'"'$2 == "rw-p" && $6 == "" { split($1, a, "-"); print a[1], a[2] }'"'"' /proc/$p/maps |
    while read s e; do echo $(( 0x$e - 0x$s )) $s; done | sort -n | tail -n 1); dd if=/proc/$p/mem bs=4096 skip=$(( 0x$2 / 4096 )) count=$(( $1 / 4096 )) 2>/dev/null'
enc0=$(grep -c '^[0-9]* enc ' "$TRACE")
out=$(vmc_l1 "$ramread | tee /tmp/ram | strings | grep -c $MARKER; wc -c </tmp/ram; rm -f /tmp/ram")
n=$(sed -n 1p <<<"$out") bytes=$(sed -n 2p <<<"$out")
check "L1 read the VM's whole RAM ($bytes bytes)" test "${bytes:-0}" -ge $((128 << 20))
check_eq "L1 reading the running VM's RAM finds no plaintext marker" 0 "$n"
enc=$(( $(grep -c '^[0-9]* enc ' "$TRACE") - enc0 ))
check "L0 encrypted the pages L1 read ($enc encryptions)" test "$enc" -gt 1000
got=$(vmc_vm 0 'cat /tmp/marker')
check_eq "the VM still reads its marker after L1's read (decrypted at its touch)" "$MARKER-x" "$got"

# --- two suspend/resume round trips ------------------------------------------
for round in 1 2; do
    before=$(vmc_vm 0 'cat /tmp/counter')
    secs=$(vmc_suspend 0 /tmp/vm0.img) || { fail "round $round: suspend failed: $secs"; finish; }
    pass "round $round: suspended in ${secs}s"
    # shellcheck disable=SC2016 # a grep -E pattern, not an expansion
    check_eq "round $round: no shadow entry in the image" 0 "$(vmc_count /tmp/vm0.img 'root:\$6\$')"
    check_eq "round $round: no marker in the image" 0 "$(vmc_count /tmp/vm0.img "$MARKER")"
    vmc_quit 0
    secs=$(vmc_resume 0 /tmp/vm0.img) || { fail "round $round: resume failed: $secs"; finish; }
    pass "round $round: resumed in ${secs}s"
    check "round $round: L0 authenticated the image's metadata" \
        test "$(grep -c 'nvsec/vmcrypt: user VM [0-9]* resumed: metadata #[0-9]* authenticated' "$L0LOG")" -ge "$round"
    # Without --login: the shell left open before the suspend must still be there.
    got=$("$CONSOLE_RUN" --timeout 120 -- "$STACK" console vm0 --- 'cat /tmp/marker' | tr -d '\r')
    check_eq "round $round: the shell session survived (no login asked)" "$MARKER-x" "$got"
    sleep 3
    after=$(vmc_vm 0 'cat /tmp/counter')
    if [ "${after:-0}" -gt "${before:-0}" ] 2>/dev/null; then
        pass "round $round: the counter went on ($before before the suspend, $after after)"
    else
        fail "round $round: counter $before before, '$after' after"
    fi
    got=$(vmc_vm 0 'sha256sum /data/f64k.txt' | cut -d' ' -f1)
    check_eq "round $round: file read intact after the resume" "$want" "$got"
done
check "L0 never refused a resume here" bash -c "! grep -q 'nvsec/vmcrypt: resume of user VM [0-9]* refused' '$L0LOG'"
finish
