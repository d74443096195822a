# shellcheck shell=bash
# Shared helpers for the project's scripts: logging with elapsed time, errors,
# the cache outside the clone, input hashing and cross-process locks.
# Sourced, never executed.

NVSEC_ROOT=${NVSEC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Heavy outputs (L0 build, images) live outside the clone, keyed by input
# hashes, so a fresh clone (CI) reuses them and a change of input rebuilds.
NVSEC_CACHE=${NVSEC_CACHE:-/var/cache/nvsec}
NVSEC_BUILD=${NVSEC_BUILD:-$NVSEC_ROOT/build}
NVSEC_T0=${NVSEC_T0:-$(date +%s)}
export NVSEC_ROOT NVSEC_CACHE NVSEC_BUILD NVSEC_T0

nvsec_elapsed() { echo $(( $(date +%s) - NVSEC_T0 )); }

# log MSG...: one progress line on stderr with seconds since the top-level start.
log() { printf '[%4ss] %s\n' "$(nvsec_elapsed)" "$*" >&2; }

# die MSG...: the cause on stderr, exit 1.
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (installs Debian packages, uses $NVSEC_CACHE)"
}

# hash_files FILE...: one sha256 over the names and contents of the files.
hash_files() {
    local f
    for f in "$@"; do
        printf '%s\n' "${f#"$NVSEC_ROOT"/}"
        sha256sum <"$f"
    done | sha256sum | cut -c1-16
}

# with_lock NAME CMD...: run CMD holding an exclusive lock in the cache, so two
# builds from two clones never write the same cache entry at once.
with_lock() {
    local name=$1; shift
    mkdir -p "$NVSEC_CACHE/locks"
    (
        flock 9 || die "cannot lock $NVSEC_CACHE/locks/$name"
        "$@"
    ) 9>"$NVSEC_CACHE/locks/$name"
}

# run_logged LOGFILE CMD...: run CMD with its output in LOGFILE; on failure show
# the log's tail so the cause is visible without digging.
run_logged() {
    local logf=$1; shift
    if ! "$@" >"$logf" 2>&1; then
        printf '%s: command failed: %s\n--- last lines of %s ---\n' "${0##*/}" "$*" "$logf" >&2
        tail -n 30 "$logf" >&2
        return 1
    fi
}

# V-Met: the RAM file L0 process NAME (l1, or vmN for a non-nested VM) shares
# with the IDS. The run directory is in the name so two stacks never share
# one; vmet_ram_prefix is what all of one stack's files start with.
vmet_ram_prefix() { local run=${NVSEC_RUN:-/run/nvsec}; echo "/dev/shm/nvsec${run//\//-}."; }
vmet_ram() { echo "$(vmet_ram_prefix)$1.ram"; }

# bench_meta_common: the first lines of every benchmark's .meta file: the
# commit (-dirty when code differs from it; results, figures and PAPER.md are
# what benchmarks write, so they do not count), date, machine and the builds.
bench_meta_common() {
    local dirty=""
    git -C "$NVSEC_ROOT" diff --quiet -- . ":!results" ":!figures" ":!PAPER.md" 2>/dev/null || dirty=-dirty
    echo "commit=$(git -C "$NVSEC_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)$dirty"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine=$(uname -n) $(nproc) cores $(free -g | awk '/^Mem:/{print $2}') GiB, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "l0=$(readlink -f "$NVSEC_BUILD/qemu-l0")"
    echo "images=$(readlink -f "$NVSEC_BUILD/images/l1.cpio" | xargs dirname)"
}

# This machine's CPU time taken by its own host while a measurement ran (the
# steal column of /proc/stat): a run made while the host was oversubscribed
# is slower for that reason alone, and benchmarks record it beside their rows.
cpu_ticks() { # -> "TOTAL STEAL" (all CPUs, in clock ticks)
    awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9; exit }' /proc/stat
}
steal_pct() { # "TOTAL STEAL" before, "TOTAL STEAL" after -> percent stolen between
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " "); d = y[1] - x[1]
        printf "%.1f\n", (d > 0 ? 100 * (y[2] - x[2]) / d : 0) }'
}

# image_file_sha256 PATH: the SHA-256 that scripts/build-images recorded for
# L2's file PATH (as L2 sees it), or an error line naming what is missing.
image_file_sha256() {
    local sha
    sha=$(awk -v p="$1" '$2 == p { print $1; exit }' "$NVSEC_BUILD/images/files.sha256" 2>/dev/null)
    [ -n "$sha" ] || { echo "no SHA-256 for $1 in $NVSEC_BUILD/images/files.sha256" >&2; return 1; }
    echo "$sha"
}
