#!/bin/bash
# SPDX-License-Identifier: MIT
# vfiokit proxy on the host, with a served model as its target (vfio-user:
# the host has no kernel VFIO device): info equal to the target's, DMA and
# interrupts through the proxy, a mapped region with no message reaching
# the proxy, a client gone, the subdriver examples, bad targets and usage,
# hostile requests, a clean stop.
# usage: test_proxy.sh VFIOKIT PROXY_CLIENT
set -u
bin=$(realpath "$1") client=$(realpath "$2")
work=$(mktemp -d)
. "$(dirname "$0")/../shell_checks.sh"
cd "$work" || exit 1

declare -A spid   # socket -> the pid of the server behind it
wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }

# serve MODEL SOCK: a target, logging at debug level to SOCK.log
serve() {
	VFIOKIT_LOG=debug "$bin" serve "$1" --socket "$2" >"$2.log" 2>&1 &
	pids+=($!)
	spid[$2]=$!
	wait_socket "$2"
}

# proxy TARGET SOCK [args]: logs at debug level to SOCK.log; $proxy_pid
proxy() {
	local target=$1 sock=$2
	shift 2
	"$bin" proxy "$target" --socket "$sock" -vv "$@" >"$sock.log" 2>&1 &
	proxy_pid=$!
	pids+=($!)
	wait_socket "$sock"
}

# stop PID: SIGTERM, and it must exit 0 (a sanitizer's report would not)
stop() {
	kill -TERM "$1"
	wait "$1"
	local rc=$?
	[ "$rc" = 0 ] || fail "process $1 stopped with exit $rc"
}

# info without its first line (which names the socket)
info_body() { "$bin" info "$1" | tail -n +2; }

# --- info through the proxy is the target's, region by region, cap by cap
for model in v100 dmaengine npu2; do
	serve "$model" "t-$model.sock"
	info_body "t-$model.sock" >"t-$model.info"
	proxy "t-$model.sock" "p-$model.sock"
	info_body "p-$model.sock" >"p-$model.info"
	check "$model: info through the proxy equals the target's" \
		sh -c "grep -q '^Region 7 CONFIG' 't-$model.info' && cmp -s 't-$model.info' 'p-$model.info'"
	stop "$proxy_pid"
done
check "v100: the GPU RAM region and its SSATGT cap came through" \
	grep -q "cap NVLINK2_SSATGT" p-v100.info

# --- DMA (memfd) and every interrupt kind through the proxy
proxy t-dmaengine.sock p.sock
check "selftest dma --memfd through the proxy: bytes compared, MSI-X, MSI, INTx" \
	"$bin" selftest dma p.sock --memfd
check "fd-less DMA memory is refused" \
	sh -c "'$bin' selftest dma p.sock | grep -q 'dma map of 8192 bytes FAILED: Operation not supported'"
check "the refusal is logged in one line naming the fix" \
	grep -q "refused: memory without an fd.*share" p.sock.log
check "the client's eventfds went to the target (SET_IRQS forwarded)" \
	grep -q "SET_IRQS index 2 start 0 count 1 .*: 0" p.sock.log

# --- a client that leaves with DMA mapped and MSI on
: >t-dmaengine.sock.log
check "leave-mapped client ran" "$client" leave-mapped p.sock
sleep 0.3
check "client gone: the proxy unmapped both mappings at the target" \
	test "$(grep -c 'DMA_UNMAP iova 0x2000.* flags 0: 0' t-dmaengine.sock.log)" = 2
check "client gone: the proxy disabled the target's MSI" \
	grep -q "SET_IRQS index 1 start 0 count 0 .* to t-dmaengine.sock: 0" p.sock.log
check "client gone: the target was reset" grep -q "reset of t-dmaengine.sock: 0" p.sock.log
check "a register written by one client ..." "$bin" mem p.sock 0 write 0x8 0x1234
check "... reads its reset value for the next (the proxy reset the target)" \
	sh -c "'$bin' mem p.sock 0 read 0x8 | grep -q 'via region: 0x0000000000000000$'"
check "the next client is served" "$bin" selftest dma p.sock --memfd --irq msi

# --- the proxy keeps no fd of its client: no eventfd while MSI is on, and
# as many fds after clients came and went as before
fds_of() { ls -l "/proc/$1/fd" | grep -c -- '->'; }
eventfds_of() { ls -l "/proc/$1/fd" | grep -c eventfd; }
fds_before=$(fds_of "$proxy_pid")
eventfds_before=$(eventfds_of "$proxy_pid")   # the server's own stop eventfd
target_eventfds=$(eventfds_of "${spid[t-dmaengine.sock]}")
mkfifo hold.in
"$client" hold p.sock <hold.in >hold.out &
hold_pid=$!
exec 7>hold.in
for _ in $(seq 100); do grep -q ready hold.out && break; sleep 0.05; done
check "a client holds DMA mappings and MSI" grep -q ready hold.out
check "the proxy holds none of its eventfds (the target signals them)" \
	test "$(eventfds_of "$proxy_pid")" = "$eventfds_before"
check "the target holds the client's eventfd" \
	test "$(eventfds_of "${spid[t-dmaengine.sock]}")" = $((target_eventfds + 1))
check "the proxy holds none of its memfds (the core maps a window and closes)" \
	sh -c "! ls -l /proc/$proxy_pid/fd | grep -q memfd:proxy-test"
exec 7>&-
wait "$hold_pid"
for _ in 1 2 3; do "$bin" selftest dma p.sock --memfd --irq msix >/dev/null; done
sleep 0.2
check "after clients came and went the proxy has the fds it had ($fds_before)" \
	test "$(fds_of "$proxy_pid")" = "$fds_before"

# --- hostile requests: refused, the proxy lives on
check "hostile requests are refused" "$client" hostile p.sock
check "the proxy still serves after them" "$bin" mem p.sock 0 read 0
stop "$proxy_pid"

# --- a mapped region is reached with no message to the proxy
proxy t-v100.sock p.sock
: >p.sock.log
check "GPU RAM written through the proxy's mapping" \
	"$bin" mem --via mmap p.sock 9 write 0x2000 0x1122334455667788
check "and read back through it" \
	sh -c "'$bin' mem --via mmap p.sock 9 read 0x2000 | grep -q 0x1122334455667788"
check "no region access of region 9 reached the proxy" \
	fails grep -q "REGION_\(READ\|WRITE\) region 9" p.sock.log
check "a region access does reach it (the log would show one)" \
	sh -c "'$bin' mem --via region p.sock 9 read 0x2000 >/dev/null && grep -q 'REGION_READ region 9' p.sock.log"
stop "$proxy_pid"

# --- --no-mmap: no fd of the target reaches the client
proxy t-v100.sock p.sock --no-mmap
info_body p.sock >p-nommap.info
sed 's/^\(Region 9 .*\) offset 0x0 flags READ WRITE MMAP CAPS$/\1 offset 0x90000000000 flags READ WRITE CAPS/' \
	t-v100.info >nommap.want
check "--no-mmap: region 9 is not mappable (no MMAP, the default offset), nothing else changed" \
	sh -c "! cmp -s nommap.want t-v100.info && cmp -s nommap.want p-nommap.info"
check "--no-mmap: region 9 is read through the proxy" \
	sh -c "'$bin' mem p.sock 9 read 0x2000 | grep -q 'via region'"
stop "$proxy_pid"

# --- quirk-example: one register of BAR0 changed, the rest the device's
t_word=$("$bin" mem t-dmaengine.sock 0 read 0 | grep -o "0x[0-9a-f]*$")
proxy t-dmaengine.sock p.sock --subdriver quirk-example,region=0,offset=0,width=4,value=0x12345678
# An 8-byte read at 0: the low half is the trap's, the high half (the
# next register) the device's, from one access split by the proxy.
check "quirk: the trapped register reads the subdriver's value, the next one the device's" \
	sh -c "'$bin' mem p.sock 0 read 0 | grep -q 'via region: ${t_word:0:10}12345678$'"
check "quirk: the target's own register is unchanged" test "${t_word:10}" != 12345678
stop "$proxy_pid"
# On a mappable region: the register's page leaves the mappable areas.
proxy t-v100.sock p.sock --subdriver quirk-example,region=9,offset=0x2000,width=8,value=0x5555
"$bin" info p.sock >p-sparse.info
check "quirk on a mappable region: SPARSE_MMAP around the trapped page" \
	sh -c "grep -A4 '^Region 9' p-sparse.info | tr -d '\n' | grep -q 'SPARSE_MMAP v1 @48: 2 areas.*area 0: offset 0x0 size 0x2000 .*area 1: offset 0x3000 size 0x1fffffd000'"
check "quirk on a mappable region: the target's SSATGT cap still follows" \
	sh -c "grep -A6 '^Region 9' p-sparse.info | grep -q 'cap NVLINK2_SSATGT'"
check "quirk on a mappable region: the trapped page cannot be mapped" \
	sh -c "'$bin' mem --via mmap p.sock 9 read 0x2000 2>&1 | grep -q \"outside the region's mappable areas\""
check "quirk on a mappable region: a region read of it is the trap's" \
	sh -c "'$bin' mem --via region p.sock 9 read 0x2000 | grep -q 'via region: 0x0000000000005555$'"
check "quirk on a mappable region: the page before still maps" \
	"$bin" mem --via mmap p.sock 9 read 0x1ff8
stop "$proxy_pid"
proxy t-dmaengine.sock p.sock --subdriver quirk-example,region=7,offset=0,width=2,value=0xabcd
check "quirk on config space: the vendor ID reads the subdriver's value" \
	sh -c "'$bin' info p.sock | grep -q 'vendor abcd'"
stop "$proxy_pid"

# --- example-region: a device-specific region with its own cap, and the
# cap appended to BAR0: what the diff shows, and nothing else
proxy t-dmaengine.sock p.sock --subdriver example-region,size=8192,subtype=7,cap_on=0
info_body p.sock >p-exr.info
# What the target said, with exactly the subdriver's additions.
cap='	cap id 0xf001 v1 @32: unknown, 24 bytes\
		01 f0 01 00 00 00 00 00 58 43 41 50 07 00 00 00\
		00 20 00 00 00 00 00 00'
vendor=$(grep -o "vendor [0-9a-f]*" t-dmaengine.info | cut -d' ' -f2)
sed -e 's/; 9 regions/; 10 regions/' \
    -e "/^Region 0 BAR0/{s/\$/ CAPS/;a\\
$cap
}" \
    -e "/^IRQ 0 /i\\
Region 9 type 0x8000$vendor/7: size 0x2000 (8 KiB) offset 0x90000000000 flags READ WRITE CAPS\\
	cap TYPE v1 @32: type 0x8000$vendor subtype 7 (unknown)\\
${cap/@32/@48}" t-dmaengine.info >exr.want
check "example-region: the target's info plus region 9 with its cap, and the cap on BAR0" \
	cmp -s exr.want p-exr.info
diff exr.want p-exr.info
check "example-region: the region reads and writes" \
	sh -c "'$bin' mem p.sock 9 write 0x100 0x55aa && '$bin' mem p.sock 9 read 0x100 | grep -q '0x0000000000000000'"
stop "$proxy_pid"

# --- bad targets: one line, exit 1; usage: one line, exit 2
one_line_exit() { # STATUS PATTERN args...
	local want=$1 pat=$2
	shift 2
	"$bin" proxy "$@" >out.txt 2>err.txt
	local rc=$?
	[ "$rc" = "$want" ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q -- "$pat" err.txt ||
		{ echo "  exit $rc, stderr:"; cat err.txt; return 1; }
}
check "no such socket: one line, exit 1" one_line_exit 1 "nosuch.sock" nosuch.sock --socket x.sock
check "no such PCI device: one line, exit 1" one_line_exit 1 "0000:7f:1f.7" 0000:7f:1f.7 --socket x.sock
check "no such group: one line, exit 1" one_line_exit 1 "group 4242" /dev/vfio/4242 --socket x.sock
proxy t-dmaengine.sock p.sock
check "a target in use: one line naming it busy, exit 1" \
	one_line_exit 1 "busy" t-dmaengine.sock --socket q.sock
check "a socket path in use: one line, exit 1" one_line_exit 1 "listening" t-v100.sock --socket p.sock
stop "$proxy_pid"
check "no --socket: exit 2" one_line_exit 2 "socket" t-dmaengine.sock
check "no TARGET: exit 2" one_line_exit 2 "TARGET" --socket x.sock
check "unknown subdriver: exit 2, did you mean" \
	one_line_exit 2 "did you mean 'quirk-example'" t-dmaengine.sock --socket x.sock --subdriver quirk-exampel
check "unknown subdriver option: exit 2, naming the known ones" \
	one_line_exit 2 "unknown option 'sise'.*size" t-dmaengine.sock --socket x.sock --subdriver example-region,sise=1
check "a subdriver option given twice: exit 2" \
	one_line_exit 2 "given twice" t-dmaengine.sock --socket x.sock --subdriver example-region,size=1,size=2
check "quirk-example without value=: exit 2" \
	one_line_exit 2 "value=N is required" t-dmaengine.sock --socket x.sock --subdriver quirk-example
check "a trap past the region: exit 2 naming it" \
	one_line_exit 2 "no such range" t-dmaengine.sock --socket x.sock --subdriver quirk-example,offset=0x100000,value=1
check "--list names the subdrivers" sh -c "'$bin' proxy --list | grep -q '^example-region' && '$bin' proxy --list | grep -q '^quirk-example'"

# --- socket activation: the socket bound by a parent, the fd inherited
python3 - "$bin" "$work/act.sock" "$work/act.pid" <<'PY' &
import os, socket, sys
vfiokit, path, pidfile = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
pid = os.fork()
if pid == 0:
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    out = os.open(pidfile + ".log", os.O_WRONLY | os.O_CREAT, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.execv(vfiokit, [vfiokit, "proxy", "t-dmaengine.sock"])
with open(pidfile, "w") as f:
    f.write(str(pid))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
PY
act_pid=$!
for _ in $(seq 100); do grep -q "serving" act.pid.log 2>/dev/null && break; sleep 0.05; done
check "socket activation: the proxy serves the inherited socket" \
	sh -c "'$bin' info act.sock | tail -n +2 | cmp -s - t-dmaengine.info"
kill -TERM "$(cat act.pid)"
wait "$act_pid"
check "socket activation: SIGTERM, exit 0" test $? = 0

# --- a vfio-user target that goes away: the proxy says so and stops
serve dmaengine t-gone.sock
proxy t-gone.sock p-gone.sock
kill -TERM "${spid[t-gone.sock]}"
wait "${spid[t-gone.sock]}"
"$bin" mem p-gone.sock 0 read 0 >/dev/null 2>&1
wait "$proxy_pid"
check "target gone: the proxy exits 1" test $? = 1
check "target gone: one line saying so" \
	test "$(grep -c 'the target is gone; stopping' p-gone.sock.log)" = 1
check "target gone: its socket removed" test ! -e p-gone.sock

# --- SIGTERM: exit 0, socket removed, the target free again
proxy t-dmaengine.sock p.sock
kill -TERM "$proxy_pid"
wait "$proxy_pid"
check "SIGTERM: exit 0" test $? = 0
check "SIGTERM: socket removed" test ! -e p.sock
check "the target takes a new client" "$bin" mem t-dmaengine.sock 0 read 0

check "no sanitizer report in any log" \
	sh -c "! grep -l 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer\|Invalid read\|Invalid write\|definitely lost' ./*.log"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
