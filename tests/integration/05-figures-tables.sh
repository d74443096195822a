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
before=$(md5sum <"$tmp/PAPER.md")
make -s -C "$NVSEC_ROOT" paper-tables RESULTS="$tmp/results" PAPER="$tmp/PAPER.md" 2>/dev/null
check_eq "paper-tables is idempotent" "$before" "$(md5sum <"$tmp/PAPER.md")"
check "text outside the markers is kept" grep -q '^## VSBypass: response time and throughput' "$tmp/PAPER.md"
finish
