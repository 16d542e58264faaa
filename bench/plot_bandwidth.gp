# gnuplot script of `make bench`: dir/bandwidth.dat (from bench/run.py) -> dir/bandwidth.png
set terminal pngcairo size 900,520 noenhanced font ",10"
set grid
set key top left
set output dir."/bandwidth.png"
set title "Region access bandwidth vs size (client and server on different CPUs)"
set logscale x 2
set xlabel "bytes per request"
set ylabel "GB/s"
set yrange [0:*]
plot dir."/bandwidth.dat" using 1:2 with linespoints title "REGION_READ", \
     "" using 1:3 with linespoints title "REGION_WRITE", \
     "" using 1:4 with linespoints title "socket floor, zero-page reply (same sizes)", \
     "" using 1:6 with linespoints title "socket floor, reply from written memory", \
     "" using 1:5 with linespoints title "memcpy"
