# V-Met paper: time to list the user VM's processes (89 extra, as the paper).
# Input: results/vmet.summary.csv (scripts/summarize). Call with
#   gnuplot -e "data='...'; out='figures/vmet'" figures/vmet.gp
load 'figures/names.gp'
set datafile separator ','
set style fill solid 0.5 border -1
set ylabel 'full process listing (ms, log scale)'
set logscale y
set xlabel 'configuration'
set yrange [*:*]
set offsets 0.5, 0.5, 0, 0
set grid ytics
set key off
set title "IDS process listing: median, bars 5th-95th percentile"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 900,540 font ",11"; set output out.".png" }
    else { set terminal svg size 900,540 font "Sans,11"; set output out.".svg" }
    plot data every ::1 using 0:3:4:5:(0.3):xticlabels(vname(strcol(1))) \
         with boxerrorbars lc rgb "#4477aa"
}
