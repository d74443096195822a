# VMCrypt paper, fig. 4(a): the time for L1 to map and unmap one page of the
# user VM's memory, per VMCrypt mode. Input: results/memcrypt-map.summary.csv
# (scripts/summarize). Call with
#   gnuplot -e "data='...'; out='figures/memcrypt-map'" figures/memcrypt-map.gp
load 'figures/names.gp'
set datafile separator ','
set style fill solid 0.5 border -1
set ylabel 'map + read + unmap of one page by L1 (us)'
set xlabel 'VMCrypt mode'
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
set grid ytics
set key off
set title "L1 maps one user-VM page: median, bars 5th-95th percentile"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 900,540 font ",11"; set output out.".png" }
    else { set terminal svg size 900,540 font "Sans,11"; set output out.".svg" }
    plot data every ::1 using 0:3:4:5:(0.3):xticlabels(mname(strcol(1))) \
         with boxerrorbars lc rgb "#4477aa"
}
