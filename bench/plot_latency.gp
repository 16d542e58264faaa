# gnuplot script of `make bench`: dir/latency.dat (from bench/run.py) -> dir/latency.png
set terminal pngcairo size 900,520 noenhanced font ",10"
set grid ytics
set key top left

set output dir."/latency.png"
set title "Round-trip latency per operation vs raw AF_UNIX floor (client and server on different CPUs, median)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "microseconds"
set xtics rotate by -30
set yrange [0:*]
plot dir."/latency.dat" using 2:xtic(1) title "vfiokit", "" using 3 title "floor (same sizes)"
