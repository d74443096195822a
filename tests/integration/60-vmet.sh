#!/usr/bin/env bash
# timeout: 700
# V-Met (papers/001): with the user VM nested in L1, the IDS outside L1
# (src/ids) reads it through L0 only. Checks: vmet-ps lists exactly the
# processes ps inside the VM lists (by PID and name); ps through VM Shadow
# (vmet-shell) shows the same set; hostile clients of L0's socket do not stop
# it; a profile that does not match the running kernel is refused, never
# used; L0's RAM file and socket are root-only and the RAM file is gone after
# stop.
. "$(dirname "$0")/lib.sh"

IDS=$NVSEC_BUILD/ids
SOCK=$NVSEC_RUN/sock/vmet.sock
RAM=$(vmet_ram l1)
export VMET_SHADOW_LOG=$NVSEC_BUILD/test-logs/vmet-shadow.log

# pid_names: "PID NAME" lines, sorted, from ps-like output (PID in column 1, name last).
pid_names() { awk '$1 ~ /^[0-9]+$/ { print $1, $NF }' | sort -n; }
# The VM's procfs shows a workqueue worker as "kworker/0:1-events": task->comm
# plus the description of the work it ran last (wq_worker_comm(), changing at
# every work item, from structs private to kernel/). V-Met reports task->comm.
kworker_comm() { sed -E 's#^([0-9]+ kworker/[^-+]*)[-+].*#\1#'; }

check "build the IDS (make -C src/ids)" make -s -C "$NVSEC_ROOT/src/ids"
check "kernel profile (scripts/build-vmet-profile)" "$NVSEC_ROOT/scripts/build-vmet-profile"
stack_down
stack_up vmet

check "L0's RAM file is root-only" test "$(stat -c %a "$RAM")" = 600
check "L0's vmet socket is root-only" test "$(stat -c %a "$SOCK")" = 600
check "L0 captured the user VM at VMRUN" grep -q 'nvsec/vmet: new user VM at ncr3' "$NVSEC_RUN/logs/l0-l1.log"

# The VM's own view, with a process it started for the purpose. The VM keeps
# running between the two snapshots (a kworker may come or go): compare up
# to 3 times, each time reading inside first.
check "a sleeper started in the VM" test "$(vm_run vm0 spawn-idle 1)" = 1
for try in 1 2 3; do
    inside=$(vm_run vm0 'ps -o pid,comm' | grep -v ' ps$' | pid_names | kworker_comm)
    outside=$("$IDS/vmet-ps" -s "$SOCK" vm0 | pid_names)
    [ "$inside" = "$outside" ] && break
    sleep 2
done
check_eq "vmet-ps from L0 = ps inside the VM (PID and name; try $try)" "$inside" "$outside"
echo "$outside" | tr '\n' ' ' | head -c 600; echo
check "the VM's sleep is seen from outside" grep -q ' sleep$' <<<"$outside"
check "the VM's kernel threads are seen" grep -q '^2 kthreadd$' <<<"$outside"

shadow=$("$IDS/vmet-shell" -s "$SOCK" vm0 ps -eo pid,comm 2>&1 | pid_names)
check_eq "ps -eo pid,comm through VM Shadow = vmet-ps" "$outside" "$shadow"
aux=$("$IDS/vmet-shell" -s "$SOCK" vm0 ps aux 2>&1)
check "ps aux through VM Shadow has its header" grep -q '^USER *PID %CPU %MEM' <<<"$aux"
check_eq "ps aux through VM Shadow lists the same PIDs" \
    "$(cut -d' ' -f1 <<<"$outside")" "$(awk 'NR > 1 { print $2 }' <<<"$aux" | sort -n)"
check "ps aux shows the sleeper's command line" grep -q 'sleep 100000$' <<<"$aux"

# Hostile clients of L0's socket: garbage, half a request, more idle
# connections than L0 serves at once. L0 must keep running and serving.
head -c 4096 /dev/urandom | timeout 5 socat -u - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
printf 'VMRQ\001\000' | timeout 5 socat -u - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
idle=()
for _ in $(seq 1 20); do
    socat -u "UNIX-CONNECT:$SOCK" - >/dev/null 2>&1 &
    idle+=($!)
done
sleep 1
check "L0 serves the IDS after garbage, a half request and 20 idle clients" \
    "$IDS/vmet-ps" -s "$SOCK" vm0
kill "${idle[@]}" 2>/dev/null
wait "${idle[@]}" 2>/dev/null
check "L0 still runs" kill -0 "$(cat "$NVSEC_RUN/pids/l0-l1.pid")"
check "L0 logged the bad request" grep -q 'nvsec/vmet: bad request' "$NVSEC_RUN/logs/l0-l1.log"

# A profile whose banner is another kernel's: refused at the kernel stage.
bad=$(mktemp)
sed 's/^kernel banner Linux version /kernel banner Linux version 9.9.9-other /' \
    "$NVSEC_BUILD/vmet/profile" >"$bad"
out=$("$IDS/vmet-ps" -s "$SOCK" -p "$bad" vm0 2>&1); rc=$?
rm -f "$bad"
check_eq "mismatching profile: vmet-ps fails" 1 "$rc"
check "mismatching profile: reported at the kernel stage" \
    grep -q 'kernel stage: running kernel does not match the profile' <<<"$out"
check "mismatching profile: no process listed" test -z "$(pid_names <<<"$out")"

stack_down
check "L0's RAM file removed after stop" test ! -e "$RAM"

# The one-stage baseline: the same IDS against a user VM that runs directly
# on L0 (scripts/stack start nonnested --vmet), compared the same way.
stack_up nonnested --vmet
NNSOCK=$NVSEC_RUN/sock/vmet-vm0.sock
NNRAM=$(vmet_ram vm0)
check "nonnested: L0's RAM file is root-only" test "$(stat -c %a "$NNRAM")" = 600
check "nonnested: a sleeper started in the VM" test "$(vm_run vm0 spawn-idle 1)" = 1
for try in 1 2 3; do
    inside=$(vm_run vm0 'ps -o pid,comm' | grep -v ' ps$' | pid_names | kworker_comm)
    outside=$("$IDS/vmet-ps" -n -s "$NNSOCK" vm0 | pid_names)
    [ "$inside" = "$outside" ] && break
    sleep 2
done
check_eq "nonnested: vmet-ps = ps inside the VM (PID and name; try $try)" "$inside" "$outside"
check "nonnested: the VM's sleep is seen from outside" grep -q ' sleep$' <<<"$outside"
shadow=$("$IDS/vmet-shell" -n -s "$NNSOCK" vm0 ps -eo pid,comm 2>&1 | pid_names)
check_eq "nonnested: ps -eo pid,comm through VM Shadow = vmet-ps" "$outside" "$shadow"
stack_down
check "nonnested: L0's RAM file removed after stop" test ! -e "$NNRAM"
finish
