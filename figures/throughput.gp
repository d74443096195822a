# VSBypass paper, fig. 11: console output throughput (cat FILE).
# Input: a plot file made by scripts/figures from results/throughput.summary.csv:
# one block per configuration (two blank lines apart), rows "x,median,p5,p95",
# in the order of the configuration names in confs.
#   gnuplot -e "data='...'; out='figures/throughput'; confs='nonnested nested'" figures/throughput.gp
load 'figures/names.gp'
nconf = words(confs)
set datafile separator ','
set style fill solid 0.6 border -1
set logscale y
set ylabel 'throughput (KiB/s, log scale)'
set xlabel 'file size'
set xtics ("4 KiB" 0, "64 KiB" 1, "1 MiB" 2)
set xrange [-0.6:2.6]
set grid ytics
set key top left
set title "Console throughput: median, bars 5th-95th percentile"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 900,540 font ",11"; set output out.".png" }
    else { set terminal svg size 900,540 font "Sans,11"; set output out.".svg" }
    plot for [i=0:nconf-1] data index i using 1:2:3:4:(0.4 / nconf) with boxerrorbars \
         title name(word(confs, i + 1))
}
