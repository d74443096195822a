# USShadow paper, sec. 5.2: time of the save and restore ultracalls (the
# paper: 4.4 ms and 4.3 ms). Input: results/ultracall.summary.csv. Call with
#   gnuplot -e "data='...'; out='figures/ultracall'" figures/ultracall.gp
set datafile separator ','
set style fill solid 0.5 border -1
set offsets 0.5, 0.5, 0, 0
set grid ytics
set key off
set yrange [0:*]
set ylabel 'microseconds (timed in L1 around VMMCALL)'
set title "Ultracall save / restore of the sealed shadow state: median, bars 5th-95th percentile"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 700,480 font ",11"; set output out.".png" }
    else { set terminal svg size 700,480 font "Sans,11"; set output out.".svg" }
    plot data every ::1 using 0:3:4:5:(0.3):xticlabels(1) with boxerrorbars lc rgb "#228833"
}
