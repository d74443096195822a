# USShadow paper, figs. 9-11: CPU use during a migration, sampled every
# 100 ms, one panel per place. Input: per-(where, config) data blocks made by
# scripts/figures from results/cpu-migration.csv, in the order of 'blocks'
# ("where:config" words). Call with
#   gnuplot -e "data='...'; blocks='...'; out='figures/cpu-migration'" figures/cpu-migration.gp
set datafile separator ','
set grid
set key top right
set xlabel 'seconds since sampling began (about 2 s before "migrate")'
set ylabel 'CPU % (of one CPU)'
set yrange [0:*]
wheres = "l0-process l1-vcpu in-l1"
wtitle(w) = w eq "l0-process" ? "source L0 host process" : w eq "l1-vcpu" ? "L1 as seen from L0 (its vCPU thread)" : "inside L1 (/proc/stat)"
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 1400,440 font ",10"; set output out.".png" }
    else { set terminal svg size 1400,440 font "Sans,10"; set output out.".svg" }
    set multiplot layout 1,3 title "CPU use across one migration (run 0 of each configuration)"
    do for [w in wheres] {
        set title wtitle(w)
        plot for [i = 1:words(blocks)] data index (i - 1) using 1:(strstrt(word(blocks, i), w.":") == 1 ? $2 : NaN) \
             with lines lw 1.5 title (strstrt(word(blocks, i), w.":") == 1 ? word(blocks, i)[strlen(w) + 2:] : "")
    }
    unset multiplot
}
