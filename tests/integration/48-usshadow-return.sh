#!/usr/bin/env bash
# timeout: 600
# USShadow there and back: vm0 migrates to the destination host and then
# back to the source host on the same stack (scripts/stack migrate twice;
# the second makes the source's L1 await the VM first, await-vm). Log in,
# start a counter, keep a client on the console on each host in turn: after
# the return the same shell answers on the source host, and the counter
# across the three clients has no gap and no duplicate. The source L0, which
# released vm0's device on the way out, restores the destination L0's sealed
# state and binds it to the new nested CR3 by vm0's tag.
. "$(dirname "$0")/lib.sh"
stack_down
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; stack_down' EXIT

# client FILE: read the console broker (wherever vm0 is) until that host's
# L0 closes it; the pid in $client.
client() {
    (socat -u "UNIX-CONNECT:$NVSEC_RUN/ssh/vm0.sock" STDOUT >"$1" 2>&1) &
    client=$!
}

# migrate_leg NAME: migrate with the client running, then wait for it to end.
migrate_leg() {
    "$STACK" migrate >"$tmp/$1.migrate.txt" 2>&1
    migrate_rc=$?
    cat "$tmp/$1.migrate.txt"
    for ((i = 0; i < 50; i++)); do kill -0 "$client" 2>/dev/null || break; sleep 0.2; done
    kill "$client" 2>/dev/null || true
}

stack_up usshadow --carry sealed
trap 'rm -rf "$tmp"; stack_down' EXIT
shell_line=$(vm_run vm0 "$COUNTER" | tr -d '\r' | grep -a '^SHELL=' | head -n 1)
client "$tmp/src.txt"
sleep 4
migrate_leg out
check_eq "there: migrate succeeds" 0 "$migrate_rc"
check "there: the manager restored the sealed state" grep -q '^migmgr: ok .*restore=OK' "$tmp/out.migrate.txt"
check_eq "there: vm0 runs on the destination host" dst "$(sed -n 's/^host=//p' "$NVSEC_RUN/state")"
# The destination's console opens once the VM registered its tag there.
sleep 4
client "$tmp/dst.txt"
sleep 4
check "await: the source host awaits vm0" "$STACK" await
check_eq "await: a second await is a no-op" "awaiting vm0 host=src" "$("$STACK" await 2>&1 | tail -n 1)"
migrate_leg back
check_eq "back: migrate succeeds" 0 "$migrate_rc"
check "back: the manager restored the sealed state" grep -q '^migmgr: ok .*restore=OK' "$tmp/back.migrate.txt"
check_eq "back: vm0 runs on the source host again" src "$(sed -n 's/^host=//p' "$NVSEC_RUN/state")"
check "back: the destination L0 sealed vm0's state" grep -q 'usshadow: saved vm0' "$NVSEC_RUN/logs/l0-l1dst.log"
check "back: the source L0 restored it" grep -q 'usshadow: restored vm0' "$NVSEC_RUN/logs/l0-l1.log"
(sleep 6; printf 'echo SH""ELL=$$\r'; sleep 8) | timeout 20 "$STACK" console vm0 >"$tmp/home.txt" 2>&1
if ! grep -aq '^SHELL=' <(tr -d '\r' <"$tmp/home.txt"); then
    # Seen once in five runs: no shell answer within 14 s. What L0 and the
    # stack say, then one more try (its output joins the first's).
    echo "no answer after the return yet; source L0: $(tail -n 3 "$NVSEC_RUN/logs/l0-l1.log" | tr '\n' ' ')"
    echo "console: $(cat "$NVSEC_RUN/consoles/vm0"); got: $(head -c 200 "$tmp/home.txt" | od -An -c | tr -s ' \n' ' ')"
    (sleep 10; printf 'echo SH""ELL=$$\r'; sleep 8) | timeout 25 "$STACK" console vm0 >>"$tmp/home.txt" 2>&1
fi
for f in src dst home; do echo "$f client saw: $(counter_check "$tmp/$f.txt")"; done
all=$(counter_check "$tmp/src.txt" "$tmp/dst.txt" "$tmp/home.txt")
check "the destination client saw the counter" test -n "$(counter_check "$tmp/dst.txt")"
case $all in
    gap*) fail "counter there and back: $all" ;;
    *) read -r first last n <<<"$all"
       check "counter there and back has no gap and no duplicate ($first..$last, $n lines)" \
           test "$n" -eq $((last - first + 1)) -a "$last" -gt "$(counter_check "$tmp/dst.txt" | cut -d' ' -f2)" ;;
esac
check_eq "the same shell session answers after the return" "$shell_line" \
    "$(tr -d '\r' <"$tmp/home.txt" | grep -a '^SHELL=' | head -n 1)"
# Checked only now: the VM claims its restored device by its tag keeper,
# once it runs again on the source host (every 100 ms, later under load),
# which can be after migrate has returned.
check "back: the source L0 bound it to the new nested CR3 by vm0's tag" \
    grep -q 'usshadow: tag vm0: restored device bound to ncr3' "$NVSEC_RUN/logs/l0-l1.log"
stack_down
finish
