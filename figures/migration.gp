# USShadow paper, figs. 6-8: migration time and downtime per configuration.
# Inputs: results/migration-total.summary.csv and
# results/migration-downtime.summary.csv (scripts/summarize). Call with
#   gnuplot -e "total='...'; down='...'; out='figures/migration'" figures/migration.gp
set datafile separator ','
set style fill solid 0.5 border -1
set offsets 0.5, 0.5, 0, 0
set grid ytics
set key off
set yrange [0:*]
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 1000,480 font ",11"; set output out.".png" }
    else { set terminal svg size 1000,480 font "Sans,11"; set output out.".svg" }
    set multiplot layout 1,2 title "Live migration of one user VM between two hosts: median, bars 5th-95th percentile"
    set title "migration time"
    set ylabel 'seconds'
    plot total every ::1 using 0:3:4:5:(0.3):xticlabels(1) with boxerrorbars lc rgb "#4477aa"
    set title "downtime (QEMU's + state save/send/restore)"
    set ylabel 'ms'
    plot down every ::1 using 0:3:4:5:(0.3):xticlabels(1) with boxerrorbars lc rgb "#cc6677"
    unset multiplot
}
