# VMCrypt paper, fig. 5: suspend (a) and resume (b) time by the user VM's
# memory size, per VMCrypt mode, plus (c) the resumed VM's first read of its
# memory (where this implementation decrypts, lazily). Input: one file per
# mode and op, "mem_mib,median,p5,p95", made by scripts/figures from
# results/memcrypt-suspend.summary.csv. Call with
#   gnuplot -e "dir='...'; modes='off noop aes'; out='figures/memcrypt-suspend'" figures/memcrypt-suspend.gp
load 'figures/names.gp'
set datafile separator ','
set xlabel "user VM's memory (MiB)"
set ylabel 'seconds'
set yrange [0:*]
set xrange [0:*]
set grid
set key top left
f(m, op) = dir.'/'.m.'-'.op.'.dat'
do for [t in "pngcairo svg"] {
    if (t eq "pngcairo") { set terminal pngcairo size 1500,500 font ",11"; set output out.".png" }
    else { set terminal svg size 1500,500 font "Sans,11"; set output out.".svg" }
    set multiplot layout 1,3 title "Suspend and resume through L1's stock QEMU (median, bars 5th-95th percentile)"
    set title "(a) suspend (save to a file in L1)"
    plot for [m in modes] f(m, 'suspend') using 1:2:3:4 with yerrorlines lw 2 title mname(m)
    set title "(b) resume (restore until the VM runs)"
    plot for [m in modes] f(m, 'resume') using 1:2:3:4 with yerrorlines lw 2 title mname(m)
    set title "(c) the resumed VM's first read of its fill"
    plot for [m in modes] f(m, 'touch') using 1:2:3:4 with yerrorlines lw 2 title mname(m)
    unset multiplot
}
