# Sourced by bench/console-bench and bench/console-ab (after scripts/lib.sh):
# the console probes' invocations, so both measure exactly the same way.
# shellcheck shell=bash

PROBES=$NVSEC_BUILD/bench
PROBE_PASSWORD_FILE=$NVSEC_ROOT/src/l2/root-password

# probe_client READY-FILE: the console client command from `scripts/stack
# start`'s output (its "ready CONFIG vm0 console=..." line).
probe_client() {
    local client
    client=$(sed -n 's/^ready [^ ]* vm0 console=//p' "$1")
    [ -n "$client" ] || { echo "no vm0 console command in the stack's ready line ($1)" >&2; return 1; }
    echo "$client"
}

# probe_latency LABEL RUN SAMPLES WARMUP CLIENT...: keystroke echo times,
# latency.csv rows on stdout.
probe_latency() {
    local label=$1 run=$2 samples=$3 warmup=$4
    shift 4
    "$PROBES/latency-probe" --config "$label" --run "$run" --samples "$samples" \
        --warmup "$warmup" --password-file "$PROBE_PASSWORD_FILE" -- "$@"
}

# probe_throughput LABEL PATH BYTES RUNS FIRST-RUN TIMEOUT-S IRQ-CSV CLIENT...:
# RUNS transfers of the image's file PATH, checked against its recorded
# SHA-256; throughput.csv rows on stdout, the COM1 interrupt counts appended
# to IRQ-CSV.
probe_throughput() {
    local label=$1 path=$2 bytes=$3 runs=$4 first=$5 timeout_s=$6 irq_csv=$7 sha
    shift 7
    sha=$(image_file_sha256 "$path") || return 1
    "$PROBES/throughput-probe" --config "$label" --file "$path" --bytes "$bytes" \
        --sha256 "$sha" --runs "$runs" --first-run "$first" --timeout-s "$timeout_s" \
        --password-file "$PROBE_PASSWORD_FILE" --irq-csv "$irq_csv" -- "$@"
}
