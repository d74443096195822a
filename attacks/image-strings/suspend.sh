# shellcheck shell=bash
# The L1 administrator's suspend and resume of a user VM, done the way that
# administrator does it: commands typed into L1's root shell (the stack's
# l1-console), driving L1's stock QEMU through its human monitor (HMP) with
# busybox nc, the image written to a file in L1 with QEMU's own migration
# ("migrate exec:cat > FILE", restored with "-incoming exec:cat FILE").
# Sourced by attacks/image-strings/run, tests/integration/7*-vmcrypt-*.sh and
# bench/memcrypt; needs scripts/lib.sh sourced and a running stack (with
# NVSEC_RUN and friends as the stack was started).
#
# The stack's vmcrypt configuration starts each user VM's QEMU in L1 with a
# human monitor on L1's 127.0.0.1:(VMC_MON_BASE + index) (scripts/stack,
# nvsec.l2monitor), as a management stack runs it (libvirt always keeps a
# monitor); vmc_boot_with_monitor restarts a VM, e.g. with another memory size.

VMC_STACK=$NVSEC_ROOT/scripts/stack
VMC_CONSOLE_RUN=$NVSEC_ROOT/scripts/console-run
VMC_PW=$(cat "$NVSEC_ROOT/src/l2/root-password")
# vmI's monitor listens on 127.0.0.1:(VMC_MON_BASE + I) inside L1.
VMC_MON_BASE=4440
# In L1: hmp PORT CMD [TENTHS]: send one monitor command and print its answer
# without the prompt and line-editing noise. It waits for the monitor's next
# prompt (the answer is complete; a synchronous "migrate" has ended), for the
# connection to end (quit, nothing listening), or TENTHS of a second (600).
# A fixed wait is not enough: under load L1's QEMU answers late, and closing
# the connection before it has read the command loses the command.
# shellcheck disable=SC2016 # expanded in L1
VMC_L1_FUNCS='hmp() { f=/tmp/hmp.$$; : >"$f"; rm -f "$f.end"; (echo "$2"; t=0; while [ ! -e "$f.end" ] && [ "$(grep -c "(qemu)" "$f")" -lt 2 ] && [ $t -lt "${3:-600}" ]; do sleep 0.1; t=$((t + 1)); done) | { nc 127.0.0.1 "$1" >"$f" 2>/dev/null; : >"$f.end"; }; tr -d "\r" <"$f" | grep -a -v "(qemu)\|\[K\|^QEMU .* monitor"; rm -f "$f" "$f.end"; }; up() { cut -d" " -f1 /proc/uptime; }'

# vmc_l1 CMD: run CMD in L1's root shell, print its output; status is CMD's.
# CMD runs in a subshell, so an "exit" in it never ends the admin's shell.
vmc_l1() {
    "$VMC_CONSOLE_RUN" --timeout "${VMC_L1_TIMEOUT:-600}" -- "$VMC_STACK" l1-console --- \
        "($VMC_L1_FUNCS; $*)" | tr -d '\r'
}

# vmc_vm I CMD: log in on vmI's console (or use its open shell) and run CMD.
vmc_vm() {
    local i=$1; shift
    "$VMC_CONSOLE_RUN" --login root "$VMC_PW" --timeout 180 -- "$VMC_STACK" console "vm$i" --- "$@" |
        tr -d '\r'
}

# vmc_boot_with_monitor I [MEM_MIB] [TIMEOUT]: restart vmI with a monitor
# (and MEM_MIB of memory), wait for its login prompt.
vmc_boot_with_monitor() {
    local i=$1 mem=${2:-${NVSEC_L2_MEM:-128}} limit=${3:-600}
    # shellcheck disable=SC2016 # expanded in L1
    # The old QEMU must be gone (its ports free) before the new one starts.
    vmc_l1 "p=\$(cat /run/nvsec/vm$i.pid); kill \$p 2>/dev/null; while kill -0 \$p 2>/dev/null; do sleep 0.2; done;" \
        "NVSEC_L2_MEM=$mem NVSEC_L2_MONITOR=$VMC_MON_BASE start-l2 vm$i $i >/dev/null;" \
        "t=0; while ! grep -q login: /run/nvsec/vm$i.log 2>/dev/null; do" \
        "  [ \$t -lt $limit ] || { echo 'no login prompt'; exit 1; }; sleep 1; t=\$((t + 1)); done"
}

# vmc_monitor_up I: vmI's monitor answers and says the VM runs.
vmc_monitor_up() {
    vmc_l1 "hmp $((VMC_MON_BASE + $1)) 'info status'" | grep -q 'status: running'
}

# vmc_suspend I IMG: stop vmI, save it to IMG in L1; prints the save's
# seconds (QEMU's "total time"). Fails if the migration does not complete.
# The bandwidth limit is lifted first, as libvirt does when it saves a VM to
# a file (QEMU's default limit is for live migration over a network). HMP's
# "migrate" holds the monitor until the migration ends (up to 10 min here).
vmc_suspend() {
    local port=$((VMC_MON_BASE + $1))
    vmc_l1 "rm -f $2; hmp $port stop >/dev/null;" \
        "hmp $port 'migrate_set_parameter max-bandwidth 100G' >/dev/null;" \
        "hmp $port 'migrate \"exec:cat > $2\"' 6000 >/dev/null;" \
        "t=0; until m=\$(hmp $port 'info migrate'); echo \"\$m\" | grep -q 'Migration status: completed'; do" \
        "  [ \$t -lt 600 ] || { echo 'migration did not complete'; echo \"\$m\"; exit 1; };" \
        "  sleep 0.1; t=\$((t + 1)); done;" \
        "echo \"\$m\" | sed -n 's/^total time: \\([0-9]*\\) ms.*/\\1/p' | awk '{ printf \"%.3f\\n\", \$1 / 1000 }'"
}

# vmc_quit I: end vmI's QEMU (after a suspend) and wait until it is gone.
vmc_quit() {
    # shellcheck disable=SC2016 # expanded in L1
    vmc_l1 "p=\$(cat /run/nvsec/vm$1.pid); hmp $((VMC_MON_BASE + $1)) quit 50 >/dev/null 2>&1;" \
        "t=0; while kill -0 \$p 2>/dev/null && [ \$t -lt 100 ]; do sleep 0.1; t=\$((t + 1)); done; true" >/dev/null
}

# vmc_resume I IMG [MEM_MIB]: start vmI from IMG and let it run; prints the
# seconds from QEMU's start until the restored VM runs again (image loaded,
# "cont" given, status running; measured in L1, polled every ~0.1 s). Fails
# (printing QEMU's last words) if it does not come to run.
vmc_resume() {
    local i=$1 img=$2 mem=${3:-${NVSEC_L2_MEM:-128}} port=$((VMC_MON_BASE + $1))
    # shellcheck disable=SC2016 # expanded in L1
    vmc_l1 "t0=\$(up); NVSEC_L2_MEM=$mem NVSEC_L2_MONITOR=$VMC_MON_BASE start-l2 vm$i $i" \
        "-incoming 'exec:cat $img' >/dev/null;" \
        "t=0; until s=\$(hmp $port 'info status'); echo \"\$s\" | grep -q 'status: paused\$\|status: paused (postmigrate)\|status: running'; do" \
        "  if [ \$t -ge 6000 ] || ! kill -0 \$(cat /run/nvsec/vm$i.pid) 2>/dev/null; then" \
        "    echo \"resume failed: \$s\"; tail -n 5 /run/nvsec/vm$i.qemu.log; exit 1; fi;" \
        "  sleep 0.1; t=\$((t + 1)); done;" \
        "hmp $port cont >/dev/null;" \
        "t=0; until s=\$(hmp $port 'info status'); echo \"\$s\" | grep -q 'status: running'; do" \
        "  [ \$t -lt 100 ] || { echo \"resume failed: \$s\"; tail -n 5 /run/nvsec/vm$i.qemu.log; exit 1; };" \
        "  sleep 0.1; t=\$((t + 1)); done; t1=\$(up); sleep 2;" \
        "s=\$(hmp $port 'info status'); echo \"\$s\" | grep -q 'status: running' ||" \
        "  { echo \"resume failed: \$s\"; tail -n 5 /run/nvsec/vm$i.qemu.log; exit 1; };" \
        "awk -v a=\$t0 -v b=\$t1 'BEGIN { printf \"%.3f\\n\", b - a }'"
}

# vmc_count IMG PATTERN: how many strings in IMG (in L1) match PATTERN (grep -E).
vmc_count() {
    vmc_l1 "strings $1 | grep -c -E '$2'; true" | tail -n 1
}
