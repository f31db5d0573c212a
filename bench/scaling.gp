# bench/scaling.gp — bench/scaling's plots, from bench/out/scale-<workload>.dat (see
# bench/scaling_report.py; "?" where a contestant did not run a size): time per row of raw
# libpq, pgorm, SQLAlchemy and MikroORM against the size, and memory per loaded object. Both axes
# are logarithmic: the peers are 5-30x above pgorm, and a flat curve stays a horizontal line.
# Run from the repository root: gnuplot bench/scaling.gp
set terminal svg size 1350,540 dynamic font "sans,12" background rgb "white"
set datafile missing "?"
set logscale xy 10
set grid xtics ytics mytics
set format x "%.0s%c"
set format y "%.0s%c"
set style data linespoints
set xlabel offset 0,0.4
# one colour and point type per contestant, the same in every panel
set linetype 1 lc rgb "#555555" lw 2 pt 7 ps 0.8   # raw libpq
set linetype 2 lc rgb "#0072b2" lw 2 pt 5 ps 0.8   # pgorm
set linetype 3 lc rgb "#d55e00" lw 2 pt 9 ps 0.9   # SQLAlchemy
set linetype 4 lc rgb "#009e73" lw 2 pt 11 ps 0.9  # MikroORM
set linetype 5 lc rgb "#56b4e9" lw 2 pt 4 ps 0.8 dt 2  # pgorm bookkeeping

set output "bench/scaling-time.svg"
set key below center horizontal reverse Left samplen 2   # under each panel, off the curves
set multiplot layout 1,3 title "time per row (log scale; lower is better, flat is the aim)"
set xrange [*:*]
set offsets graph 0.08, graph 0.08, 0, 0
set yrange [*:*]
set title "load N rows into objects\n(raw: binary results into an array of structs)"
set xlabel "rows"
set ylabel "ns per row"
plot "bench/out/scale-load.dat" using 1:3 title "raw libpq" lt 1, \
     "" using 1:4 title "pgorm" lt 2, \
     "" using 1:5 title "SQLAlchemy 1.4" lt 3, \
     "" using 1:6 title "MikroORM 6.6" lt 4
set title "flush N new children, commit\n(raw: COPY binary)"
set xlabel "rows"
plot "bench/out/scale-flush.dat" using 1:3 title "raw libpq" lt 1, \
     "" using 1:4 title "pgorm" lt 2, \
     "" using 1:5 title "SQLAlchemy 1.4" lt 3, \
     "" using 1:6 title "MikroORM 6.6" lt 4
set title "selectin: N parents + 10 N children\n(raw: 2 queries, = ANY($1))"
set xlabel "parents"
set ylabel "ns per loaded object"
plot "bench/out/scale-selectin.dat" using 1:3 title "raw libpq" lt 1, \
     "" using 1:4 title "pgorm" lt 2, \
     "" using 1:5 title "SQLAlchemy 1.4" lt 3, \
     "" using 1:6 title "MikroORM 6.6" lt 4
unset multiplot

set terminal svg size 640,480 dynamic font "sans,12" background rgb "white"
set output "bench/scaling-memory.svg"
set title "memory per loaded object (log scale)"
set xlabel "rows"
set ylabel "bytes per object"
set yrange [*:*]
set key inside top left reverse Left samplen 2 spacing 1.1 font ",11"
plot "bench/out/scale-load.dat" using 1:7 title "raw libpq (struct + name; malloc)" lt 1, \
     "" using 1:8 title "pgorm (object, name, bookkeeping; malloc)" lt 2, \
     "" using 1:9 title "pgorm bookkeeping only" lt 5, \
     "" using 1:10 title "SQLAlchemy 1.4 (tracemalloc)" lt 3, \
     "" using 1:11 title "MikroORM 6.6 (V8 heap growth)" lt 4
