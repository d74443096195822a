# shellcheck shell=bash
# Boot CONFIG with one VM, log in on its console, run commands, check their
# output, exercise start-twice/stop-twice, and check nothing is left running.
# Sourced by the per-configuration tests with CONFIG and READY_LIMIT set.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

boot_test() {
    local config=$1 ready_limit=$2 out want got
    stack_down
    stack_up "$config"
    check "start $config prints a ready line" grep -qE "^ready $config vm0 console=.+" <<<"$STACK_OUT"
    if [ "$STACK_READY_S" -le "$ready_limit" ]; then
        pass "$config ready in ${STACK_READY_S}s (limit ${ready_limit}s)"
    else
        fail "$config ready in ${STACK_READY_S}s, over the ${ready_limit}s limit"
    fi

    got=$(vm_run vm0 hostname)
    check_eq "$config: login and hostname on the console" vm0 "$got"

    want=$(image_file_sha256 /data/f64k.txt)
    got=$(vm_run vm0 sha256sum /data/f64k.txt | cut -d' ' -f1)
    check_eq "$config: command output (sha256 of the 64 KiB file)" "$want" "$got"

    # The 64 KiB file printed with cat crosses the whole console path (L0 or
    # L1 serial, sshd, the ssh client) byte-exact.
    check "$config: cat of 64 KiB arrives byte-exact at the ssh client (sha256)" \
        cat_arrives_exact "$config" vm0

    out=$("$STACK" start "$config" 2>&1); rc=$?
    check_eq "$config: second start refused" 1 "$rc"
    check "$config: second start says why" grep -q 'already running' <<<"$out"
    check "$config: status while running" "$STACK" status

    out=$("$STACK" stop 2>&1)
    check "$config: stop reports the config" grep -q "stopped $config" <<<"$out"
    out=$("$STACK" stop 2>&1); rc=$?
    check_eq "$config: second stop exits 0" 0 "$rc"
    check "$config: second stop says not running" grep -q 'not running' <<<"$out"
    sleep 1
    left=$(our_processes | tr '\n' ' ')
    check_eq "$config: stop leaves no process of ours" "" "$left"
    check "$config: stop removes sockets" test ! -e "$NVSEC_RUN/sock"
    finish
}
