# shellcheck shell=bash
# Helpers for integration tests: start a stack with guaranteed cleanup, run
# commands on a user VM's console, and report checks as PASS/FAIL lines.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

STACK=$NVSEC_ROOT/scripts/stack
CONSOLE_RUN=$NVSEC_ROOT/scripts/console-run
NVSEC_RUN=${NVSEC_RUN:-/run/nvsec}
ROOT_PASSWORD=$(cat "$NVSEC_ROOT/src/l2/root-password" 2>/dev/null)
FAILS=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# check NAME CMD...: PASS if CMD succeeds, else FAIL with its output's tail.
check() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then
        pass "$name"
    else
        fail "$name: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
    fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# stack_up CONFIG [ARGS...]: start the stack (in this shell, not in $(...)),
# keep its stdout in $STACK_OUT and its time to ready in $STACK_READY_S, and
# stop it whatever way the test ends.
stack_up() {
    trap stack_down EXIT
    STACK_T0=$(date +%s)
    local err
    err=$(mktemp)
    # stderr is shown as it comes and kept, so the FAIL line can name the cause.
    STACK_OUT=$("$STACK" start "$@" 2> >(tee "$err" >&2)) ||
        { sleep 0.2; fail "start $*: stack did not come up: $(grep -v "^\[" "$err" | tail -n 2 | tr "\n" " ")"; rm -f "$err"; exit 1; }
    rm -f "$err"
    STACK_READY_S=$(( $(date +%s) - STACK_T0 ))
    export STACK_OUT STACK_READY_S
    echo "$STACK_OUT"
}

stack_down() {
    "$STACK" stop >/dev/null 2>&1 || true
}

# vm_run VM COMMAND...: log in on VM's console as root, run COMMAND, print its output.
vm_run() {
    local vm=$1; shift
    "$CONSOLE_RUN" --login root "$ROOT_PASSWORD" --timeout 120 -- "$STACK" console "$vm" --- "$@"
}

# l1_run COMMAND...: run COMMAND in L1's admin shell.
l1_run() {
    "$CONSOLE_RUN" --timeout 120 -- "$STACK" l1-console --- "$@"
}

# cat_arrives_exact CONFIG VM: `cat` of the VM's 64 KiB file arrives at the
# ssh client byte-exact (length and sha256), through the console command of
# VM's ready line in $STACK_OUT. For use with check.
cat_arrives_exact() {
    local config=$1 vm=$2 client sha
    make -s -C "$NVSEC_ROOT/bench" >/dev/null || return 1
    client=$(sed -n "s/^ready [^ ]* $vm console=//p" <<<"$STACK_OUT")
    sha=$(image_file_sha256 /data/f64k.txt) || return 1
    # shellcheck disable=SC2086 # the client command is a word list
    "$NVSEC_BUILD/bench/throughput-probe" --config "$config" --file /data/f64k.txt --bytes 65536 \
        --sha256 "$sha" --runs 1 --timeout-s 300 --password-file "$NVSEC_ROOT/src/l2/root-password" -- $client
}

# our_processes: pids of every process this stack could have left behind:
# everything it starts (L0s, sshd, console brokers) names its run directory on
# its command line, and other stacks (another NVSEC_RUN) are not ours.
our_processes() {
    local p
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" != "$$" ] || continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$NVSEC_RUN/" && echo "${p#/proc/}"
    done
    return 0
}

finish() {
    [ "$FAILS" -eq 0 ]
    exit $?
}

# USShadow's migration tests (47, 48): COUNTER, typed in a VM's login shell,
# prints that shell's pid and then "CNT i" every 0.2 s in the background.
# shellcheck disable=SC2016,SC2034 # expanded by the VM's shell; used by 47 and 48
COUNTER='echo SHELL=$$; (i=0; while [ $i -lt 100000 ]; do echo "CNT $i"; i=$((i+1)); sleep 0.2; done) & true'

# counter_check FILE...: "first last n" of the CNT lines in the files, in
# order, or "gap A->B" at the first gap or duplicate. A last line that has not
# ended is left out: a client that stops reading while the VM writes "CNT 120"
# may hold only "CNT 12", which is no gap. (The files are joined first: a line
# that a move cut ends on the other host.)
counter_check() {
    { cat "$@"; echo; } | tr -d '\r' | sed '$d' | grep -ao 'CNT [0-9]*' | awk '
        { v = $2 }
        NR > 1 && v != p + 1 { print "gap " p "->" v; bad = 1; exit }
        NR == 1 { f = v }
        { p = v }
        END { if (!bad) print f, p, NR }'
}
