# bench/scaling.gp — bench/scaling's plots, from bench/out/scale-<workload>.dat (see
# bench/scaling_report.py): time per row of raw libpq and pgorm against the size, and memory
# per loaded object. Run from the repository root: gnuplot bench/scaling.gp
set terminal svg size 1200,420 dynamic font "sans,12" background rgb "white"
set logscale x 10
set grid
set key top left
set yrange [0:*]
set style data linespoints

set output "bench/scaling-time.svg"
set multiplot layout 1,3 title "time per row (lower is better; flat is the aim)"
set title "load N rows into objects"
set xlabel "rows"
set ylabel "ns per row"
plot "bench/out/scale-load.dat" using 1:3 title "raw libpq (binary, structs)" lw 2 pt 7, \
     "" using 1:4 title "pgorm" lw 2 pt 5
set title "flush N new children, commit"
set xlabel "rows"
plot "bench/out/scale-flush.dat" using 1:3 title "raw libpq (COPY binary)" lw 2 pt 7, \
     "" using 1:4 title "pgorm" lw 2 pt 5
set title "selectin: N parents + 10 N children"
set xlabel "parents"
set ylabel "ns per loaded object"
plot "bench/out/scale-selectin.dat" using 1:3 title "raw libpq (2 queries, = ANY)" lw 2 pt 7, \
     "" using 1:4 title "pgorm" lw 2 pt 5
unset multiplot

set terminal svg size 600,420 dynamic font "sans,12" background rgb "white"
set output "bench/scaling-memory.svg"
set title "memory per loaded object (malloc'd bytes after the load)"
set xlabel "rows"
set ylabel "bytes per object"
plot "bench/out/scale-load.dat" using 1:5 title "raw libpq (struct + name)" lw 2 pt 7, \
     "" using 1:6 title "pgorm (object, name, bookkeeping)" lw 2 pt 5, \
     "" using 1:7 title "pgorm bookkeeping only" lw 2 pt 9
