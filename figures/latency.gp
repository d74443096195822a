# VSBypass paper, fig. 10: response time of out-of-band remote management.
# Input: results/latency.summary.csv (scripts/summarize). Call with
#   gnuplot -e "data='...'; out='figures/latency'" figures/latency.gp
load 'figures/names.gp'
set datafile separator ','
set style fill solid 0.5 border -1
set ylabel 'response time per keystroke (ms)'
set xlabel 'configuration'
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
set grid ytics
set key off
set title "Console response time: median, bars 5th-95th percentile"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 900,540 font ",11"; set output out.".png" }
    else { set terminal svg size 900,540 font "Sans,11"; set output out.".svg" }
    plot data every ::1 using 0:($3/1000):($4/1000):($5/1000):(0.3):xticlabels(name(strcol(1))) \
         with boxerrorbars lc rgb "#4477aa"
}
