# bench/plot.gp — the chart of bench/run: IOPS and p99 latency per workload, blkgate next to
# its reference. gnuplot -e "dat='RESULT_DIR/plot-vm.dat'; out='latest.png'; title='...'" bench/plot.gp
if (!exists("dat")) dat = 'plot-vm.dat'
if (!exists("out")) out = 'latest.png'
if (!exists("title")) title = 'blkgate vs kernel devices (qemu TCG VM)'
set terminal pngcairo size 1400,1000 font 'sans,10'
set output out
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -25 scale 0
set grid ytics
set key top right horizontal
set multiplot layout 2,1 title title font 'sans,13'
set ylabel 'IOPS (median)'
set logscale y
set format y '%.0s%c'
plot dat using 2:xtic(1) title 'blkgate file' lc rgb '#1f77b4', \
     '' using 3 title 'loop (dio)' lc rgb '#aec7e8', \
     '' using 4 title 'blkgate null' lc rgb '#d62728', \
     '' using 5 title 'null\_blk' lc rgb '#ff9896'
set ylabel 'p99 completion latency, us (median)'
set format y '%g'
plot dat using 6:xtic(1) title 'blkgate file' lc rgb '#1f77b4', \
     '' using 7 title 'loop (dio)' lc rgb '#aec7e8', \
     '' using 8 title 'blkgate null' lc rgb '#d62728', \
     '' using 9 title 'null\_blk' lc rgb '#ff9896'
unset multiplot
