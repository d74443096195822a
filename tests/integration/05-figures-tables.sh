#!/usr/bin/env bash
# timeout: 120
# make figures and make paper-tables work from committed sample CSVs alone (no boot).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$NVSEC_ROOT/tests/data/sample-results" "$tmp/results"
cp "$NVSEC_ROOT/PAPER.md" "$tmp/PAPER.md"

check "make figures from sample CSVs" make -s -C "$NVSEC_ROOT" figures RESULTS="$tmp/results" FIGURES="$tmp/figures"
for f in latency.png latency.svg throughput.png throughput.svg memcrypt-map.png memcrypt-map.svg \
    memcrypt-suspend.png memcrypt-suspend.svg; do
    check "figure $f drawn" test -s "$tmp/figures/$f"
done
check "PNG is a PNG" grep -q PNG <(head -c 8 "$tmp/figures/latency.png")
check "summary kept next to raw CSV" test -s "$tmp/results/latency.summary.csv"

check "make paper-tables from sample CSVs" make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/results" PAPER="$tmp/PAPER.md"
rows=$(sed -n '/BEGIN GENERATED: vsbypass-latency/,/END GENERATED: vsbypass-latency/p' "$tmp/PAPER.md" | grep -c '^| vsbypass-net')
check_eq "latency table has the vsbypass-net rows" 4 "$rows"
med=$(awk -F, '$1 == "nested" { print $3 }' "$tmp/results/latency.summary.csv")
want=$(awk -F, 'NR > 1 && $1 == "nested" { print $4 }' "$tmp/results/latency.csv" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
check_eq "summary median equals the median of the raw samples" "$want" "$med"
check "throughput table has the 64 KiB target rows" grep -q '^| vsbypass-net / nested | 64 KiB | 2.7 |' "$tmp/PAPER.md"
# nested: mean 64 KiB run (155 interrupts, 75 s) less the 4 KiB run (10, 9.5 s).
check "interrupt table: 64 KiB less 4 KiB, means over runs" grep -q '^| nested | 64 KiB − 4 KiB | 2 + 1 | 2.42 | 451.72 | +448.56 |' "$tmp/PAPER.md"
check "vmcrypt table has the map targets" grep -q '^| aes | +295 % (+45 us) | .* | ≤ +50 % | met |' "$tmp/PAPER.md"
check "vmcrypt table has the 1024 MiB targets" grep -q '^| resume aes / off | .* | ≤ 1.15 | met |' "$tmp/PAPER.md"
check "vmcrypt table judges linearity" grep -q '^| resume linear in memory (aes): .* | ≤ 1.25 | met |' "$tmp/PAPER.md"
# The comparison targets' 95 % intervals: the sample is tightly spread (met);
# usshadow's downtimes spread over 100 ms hold the limit (not resolved); all
# 60 ms later lie past it (missed). The runs table has the sample's run.
check "usshadow downtime interval met on a tight sample" grep -q '^| downtime usshadow − vsbypass, 95 % interval .* | ≤ +10 ms | met |$' "$tmp/PAPER.md"
check "usshadow time interval met on a tight sample" grep -q '^| migration time usshadow / vsbypass, 95 % interval .* | ≤ 1.05 | met |$' "$tmp/PAPER.md"
check "runs table has the sample's run" grep -q '^| 6 each (no .meta, this one; all three configurations) | 0.38 ms | +2.00 ms (' "$tmp/PAPER.md"
cp -r "$tmp/results" "$tmp/wide" && cp "$tmp/PAPER.md" "$tmp/wide.md"
awk -F, 'BEGIN { OFS = "," } NR > 1 && $1 == "usshadow" { $4 += ($2 % 2) ? 60 : -40 } { print }' \
    "$tmp/results/migration.csv" >"$tmp/wide/migration.csv"
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/wide" PAPER="$tmp/wide.md" 2>/dev/null
check "usshadow downtime interval not resolved on a wide sample" grep -q '^| downtime usshadow − vsbypass, 95 % interval .* | ≤ +10 ms | not resolved: the interval holds the target |$' "$tmp/wide.md"
awk -F, 'BEGIN { OFS = "," } NR > 1 && $1 == "usshadow" { $4 += 60 } { print }' \
    "$tmp/results/migration.csv" >"$tmp/wide/migration.csv"
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/wide" PAPER="$tmp/wide.md" 2>/dev/null
check "usshadow downtime interval missed when all past the limit" grep -q '^| downtime usshadow − vsbypass, 95 % interval .* | ≤ +10 ms | \*\*missed\*\* |$' "$tmp/wide.md"
# With a leg column, the intervals resample stacks (a stack's legs together):
# 4 stacks of 3 legs are too few for one, though 12 migrations each.
awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0 ",leg"; next }
    $2 < 4 { r = $2; for (l = 0; l < 3; l++) { $2 = r * 3 + l; print $0 "," l } }' \
    "$tmp/results/migration.csv" >"$tmp/wide/migration.csv"
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/wide" PAPER="$tmp/wide.md" 2>/dev/null
check "legs: 4 stacks give no interval" test -z "$(grep '^| downtime usshadow − vsbypass, 95 % interval' "$tmp/wide.md")"
check "legs: the runs table counts stacks and legs" grep -q '^| 12 each (4 usshadow stack(s) x 3 legs, no .meta, this one; .* (too few runs for an interval' "$tmp/wide.md"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0 ",leg"; next }
    { r = $2; for (l = 0; l < 2; l++) { $2 = r * 2 + l; print $0 "," l } }' \
    "$tmp/results/migration.csv" >"$tmp/wide/migration.csv"
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/wide" PAPER="$tmp/wide.md" 2>/dev/null
check "legs: 6 stacks of 2 legs give an interval" grep -q '^| downtime usshadow − vsbypass, 95 % interval .* | met |$' "$tmp/wide.md"
# A run kept in further files of the same code is pooled (the entry of
# MIGRATION_RUNS_LIST that names one, ab/migration-cmp-827e220): the sample
# twice is 12 stacks with the sample's medians; a file with other columns, or
# of another L0 or image build (its .meta), is refused with its name.
cp -r "$tmp/results" "$tmp/pool" && cp "$tmp/PAPER.md" "$tmp/pool.md"
pooled=$tmp/pool/ab/migration-cmp-827e220
mkdir -p "$pooled"
cp "$tmp/results/migration.csv" "$pooled/migration.csv"
cp "$tmp/results/migration.csv" "$pooled/migration-2.csv"
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/pool" PAPER="$tmp/pool.md" 2>/dev/null
# shellcheck disable=SC2016 # backquotes of Markdown, not a command
check "pooled: the runs table counts both files' stacks" \
    grep -q '^| 12 each (no .meta, `results/ab/migration-cmp-827e220/`; .* | +2.00 ms (' "$tmp/pool.md"
awk '{ print $0 (NR == 1 ? ",extra" : ",0") }' "$tmp/results/migration.csv" >"$pooled/migration-2.csv"
out=$(make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/pool" PAPER="$tmp/pool.md" 2>&1) && out="exit 0: $out"
check "pooled: a file with other columns is refused" grep -q 'migration-2.csv: columns differ' <<<"$out"
cp "$tmp/results/migration.csv" "$pooled/migration-2.csv"
printf 'l0=/c/l0/aaaa/build/qemu-system-x86_64\nimages=/c/images/bbbb\n' >"$pooled/migration.csv.meta"
printf 'l0=/c/l0/cccc/build/qemu-system-x86_64\nimages=/c/images/bbbb\n' >"$pooled/migration-2.csv.meta"
out=$(make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/pool" PAPER="$tmp/pool.md" 2>&1) && out="exit 0: $out"
check "pooled: a file of another L0 build is refused" grep -q 'migration-2.csv.meta: another L0 or image build' <<<"$out"
before=$(md5sum <"$tmp/PAPER.md")
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/results" PAPER="$tmp/PAPER.md" 2>/dev/null
check_eq "paper-tables is idempotent" "$before" "$(md5sum <"$tmp/PAPER.md")"
check "text outside the markers is kept" grep -q '^## VSBypass: response time and throughput' "$tmp/PAPER.md"
finish
