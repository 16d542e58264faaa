# gnuplot script of `make bench`: dir/dma.dat (from bench/run.py) -> dir/dma.png
# Columns: live, fd serial, fd pipelined, no fd (serial), core map+unmap,
# core translate, floor of the serial pair, floor of the pipelined pair.
set terminal pngcairo size 900,520 noenhanced font ",10"
set grid
set key top left
set output dir."/dma.png"
set title "DMA cost vs live mappings (client and server on different CPUs, median)"
set logscale x
set logscale y
set xlabel "live mappings"
set ylabel "microseconds"
plot dir."/dma.dat" using 1:2 with linespoints title "DMA_MAP+UNMAP, fd, serial", \
     "" using 1:3 with linespoints title "DMA_MAP+UNMAP, fd, pipelined (target <= 1.15 x its floor)", \
     "" using 1:4 with linespoints title "DMA_MAP+UNMAP, no fd, serial", \
     "" using 1:5 with linespoints title "vfk_dma_map+unmap (core)", \
     "" using 1:6 with linespoints title "vfk_dma_translate (core)", \
     "" using 1:7 with lines dashtype 2 title "floor, serial pair", \
     "" using 1:8 with lines dashtype 3 title "floor, pipelined pair"
