#!/usr/bin/env bash
# timeout: 1200
# VMCrypt (papers/003), aes mode: the metadata sealed into the image (paper
# sec. 4.4: "the privileged VM cannot alter the bitmap") is authenticated at
# resume. The L1 administrator suspends vm0 twice (letting it run on after
# the first save, which must not count as a resume), then resumes
#   - the second image with one byte of its metadata flipped: refused
#     (authentication), the VM never runs and L0 decrypts none of its pages;
#   - the second image with the first image's (authentic) metadata spliced
#     in: refused (it belongs to another save);
#   - the second image as saved: resumes, and the counter goes on.
. "$(dirname "$0")/lib.sh"
. "$NVSEC_ROOT/attacks/image-strings/suspend.sh"

TRACE=$NVSEC_BUILD/test-logs/vmcrypt-tamper.trace
L0LOG=$NVSEC_RUN/logs/l0-l1.log
export NVSEC_VMCRYPT_TRACE=$TRACE

# refused_check WHAT REASON: the last resume attempt failed in L1 and L0 says
# why; the refused instance got no decryption at all.
refused_check() {
    local what=$1 reason=$2 line id n
    line=$(grep -a 'nvsec/vmcrypt: resume of user VM [0-9]* refused' "$L0LOG" | tail -n 1)
    check "$what: L0 refused it: $reason" grep -q "$reason" <<<"$line"
    id=$(sed -n 's/.*resume of user VM \([0-9]*\) refused.*/\1/p' <<<"$line")
    check_eq "$what: none of its pages was decrypted (user VM ${id:-?})" 0 \
        "$(grep -c "^[0-9]* dec inst=${id:-none} " "$TRACE")"
    n=$(vmc_l1 'grep -c "entry failed" /run/nvsec/vm0.qemu.log; true' | tail -n 1)
    check "$what: L1's QEMU saw its VM entry fail" test "${n:-0}" -ge 1
    # shellcheck disable=SC2016 # expanded in L1
    vmc_l1 'kill $(cat /run/nvsec/vm0.pid) 2>/dev/null; sleep 1; true' >/dev/null
}

stack_down
stack_up vmcrypt --mode aes
check "L1's QEMU keeps a monitor for vm0, and vm0 runs" vmc_monitor_up 0
# shellcheck disable=SC2016 # expanded in the VM
got=$(vmc_vm 0 '(i=0; while :; do i=$((i + 1)); echo $i >/tmp/counter; sleep 1; done) >/dev/null 2>&1 & sleep 2; cat /tmp/counter')
check "a counter runs in the VM" test "${got:-0}" -ge 1

# First save, then the VM goes on running on the same memory.
check "suspend to a.img" vmc_suspend 0 /tmp/a.img
resumes0=$(grep -c 'resumed: metadata' "$L0LOG")
vmc_l1 "hmp $VMC_MON_BASE cont >/dev/null" >/dev/null
sleep 4
c1=$(vmc_vm 0 'cat /tmp/counter')
sleep 2
c2=$(vmc_vm 0 'cat /tmp/counter')
check "the VM runs on after the save ($c1 then $c2)" test "${c2:-0}" -gt "${c1:-0}"
check_eq "continuing after a save is no resume" "$resumes0" "$(grep -c 'resumed: metadata' "$L0LOG")"
check "suspend to b.img" vmc_suspend 0 /tmp/b.img
vmc_quit 0

# Where the sealed metadata lies in each image: the offset of its magic.
# shellcheck disable=SC2016 # expanded in L1
magic_at='| awk '"'"'{ off = $1; sub(/^ *[0-9]+ /, ""); i = index($0, "NVSVMC"); if (i) { print off + i - 1; exit } }'"'"
off_a=$(vmc_l1 "strings -t d -n 6 /tmp/a.img $magic_at" | tail -n 1)
off_b=$(vmc_l1 "strings -t d -n 6 /tmp/b.img $magic_at" | tail -n 1)
check "both images carry VMCrypt's metadata (at $off_a, $off_b)" test -n "$off_a" -a -n "$off_b"
# shellcheck disable=SC2016 # a grep -E pattern, not an expansion
check "the images carry no plaintext of the shadow file" test "$(vmc_count /tmp/b.img 'root:\$6\$')" = 0

# 1. One byte of the metadata's body flipped.
vmc_l1 "cp /tmp/b.img /tmp/t.img; printf '\\377' | dd of=/tmp/t.img bs=1 seek=$((off_b + 100)) conv=notrunc 2>/dev/null" >/dev/null
out=$(vmc_resume 0 /tmp/t.img)
check "tampered metadata: the resume fails in L1" grep -q 'resume failed' <<<"$out"
refused_check "tampered metadata" "fails authentication"

# 2. Authentic metadata from the other save.
vmc_l1 "cp /tmp/b.img /tmp/r.img; dd if=/tmp/a.img bs=1 skip=$off_a count=4096 2>/dev/null |" \
    "dd of=/tmp/r.img bs=1 seek=$off_b conv=notrunc 2>/dev/null" >/dev/null
out=$(vmc_resume 0 /tmp/r.img)
check "replayed metadata: the resume fails in L1" grep -q 'resume failed' <<<"$out"
refused_check "replayed metadata" "another save"

# 3. The image as saved.
out=$(vmc_resume 0 /tmp/b.img)
check "the untouched image resumes ($out s)" bash -c "! grep -q 'resume failed' <<<'$out'"
sleep 3
c3=$(vmc_vm 0 'cat /tmp/counter')
check "the counter goes on after the resume ($c2 then $c3)" test "${c3:-0}" -gt "${c2:-0}"
finish
