#!/usr/bin/env bash
# Real peer, issue 14 test 4 continued: what kernel-proxy-qemu11.sh leaves
# out. QEMU 11 (-accel qtest) in the kernel-VFIO guest is the client of
# `vfiokit proxy` on edu (bound to the guest's vfio-pci); qtest on QEMU's
# stdin drives it. It proves, from both ends:
#  - QEMU 11 maps BAR0 from the VFIO device fd the proxy handed out: its
#    /proc/PID/maps holds a 1 MiB mapping of [vfio-device] at edu's
#    physical BAR address (vfio-pci maps by PFN), and loads and stores
#    through it (id 0x010000ed, the liveness register's inverse) send the
#    proxy no message;
#  - edu's MSI goes from the hardware to QEMU 11 without the proxy: QEMU
#    enables MSI when config space says so (SET_IRQS with its eventfd,
#    passed to the kernel), and writes the message to the address given,
#    RAM at 1 MiB here, where qtest reads it; BAR0 stays mapped;
#  - then, in a second QEMU (the proxy serves the next client), INTx:
#    edu's INTx goes from the hardware to QEMU 11 without the proxy: the
#    proxy passed QEMU's eventfd to the kernel (SET_IRQS), and QEMU raises
#    its IOAPIC pin (qtest `irq_intercept_in`); QEMU's unmasks (SET_IRQS
#    UNMASK) are passed to the kernel;
#  - after an INTx QEMU unmaps the BAR to trap the access that ends it
#    (QEMU's INTx emulation without KVM): from then on every BAR access is
#    a REGION_READ/WRITE through the proxy, even after 2 s of virtual
#    time, since vfio-user-pci has no x-intx-mmap-timeout-ms (0: the
#    timer that maps the BAR again is never armed);
#  - QEMU leaving, twice: every type1 mapping the proxy made is unmapped.
# QEMU 11 comes from scripts/peers/pack-qemu11.sh (cached), in /q11.
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

write_guest_test() {
	cat >"$1" <<'GUEST'
. /lib/peer.sh
dmesg -n 1
trap '' PIPE # QEMU gone: qt fails with its stderr, not the shell with SIGPIPE
edu=$(find_pci 0x1234:0x11e8) || fail "no edu"
bind_vfio_pci "$edu" >/dev/null || exit 1
vfiokit proxy "$edu" --socket /tmp/edu.sock -vv >/dev/null 2>/tmp/proxy.log &
PROXY=$!
i=0
while [ ! -S /tmp/edu.sock ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && fail "the proxy made no socket: $(cat /tmp/proxy.log)"
	sleep 0.05
done
mount --bind /dev /q11/dev
mount -t proc proc /q11/proc
mount --bind /tmp /q11/tmp
# start_qemu: QEMU 11 as a new client of the proxy, qtest on fd 3
start_qemu() {
	rm -f /tmp/qin /tmp/qout /tmp/qerr
	mkfifo /tmp/qin
	chroot /q11 /usr/bin/qemu-system-x86_64 -accel qtest -qtest stdio -machine q35 \
		-nodefaults -display none -monitor none -serial none -m 64M \
		-object memory-backend-memfd,id=m,size=64M,share=on -machine memory-backend=m \
		-trace vfio_region_mmaps_set_enabled -trace vfio_intx_interrupt \
		-device '{"driver":"vfio-user-pci","socket":{"path":"/tmp/edu.sock","type":"unix"},"addr":"4"}' \
		</tmp/qin >/tmp/qout 2>/tmp/qerr &
	Q=$!
	exec 3>/tmp/qin
}
# stop_qemu: QEMU ends; wait till the proxy has seen its client go
stop_qemu() {
	gone=$(grep -c 'client gone' /tmp/proxy.log)
	exec 3>&-
	kill $Q 2>/dev/null
	wait $Q 2>/dev/null
	i=0
	while [ "$(grep -c 'client gone' /tmp/proxy.log)" = "$gone" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "the proxy did not see QEMU 11 go"
		sleep 0.05
	done
}
answers() { grep -cE '^(OK|FAIL|ERR)' /tmp/qout; }
# qt COMMAND: one qtest command; its answer's value in $ANS. IRQ lines
# come in between, so answers are counted, not lines.
qt() {
	n=$(answers)
	kill -0 $Q 2>/dev/null || fail "QEMU 11 exited: $(cat /tmp/qerr)"
	echo "$1" >&3
	i=0
	while [ "$(answers)" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 1200 ] && fail "qtest: no answer to '$1': $(cat /tmp/qerr)"
		kill -0 $Q 2>/dev/null || fail "QEMU 11 exited: $(cat /tmp/qerr)"
		sleep 0.05
	done
	ANS=$(grep -E '^(OK|FAIL|ERR)' /tmp/qout | tail -n 1)
	case $ANS in OK*) ANS=${ANS#OK} ANS=${ANS# } ;; *) fail "qtest: '$1' answered '$ANS'" ;; esac
}
# wait_irq raise|lower: an IRQ line of that kind after the $1 mark
wait_irq() {
	i=0
	while [ "$(grep -c "^IRQ $1 " /tmp/qout)" -le "$2" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
irqs() { grep -c "^IRQ $1 " /tmp/qout; }
bar0_msgs() { grep -cE ': REGION_(READ|WRITE) region 0 ' /tmp/proxy.log; }
cfg() { qt "outl 0xcf8 $((0x80002000 + $1))"; }

# 1. MSI: QEMU 11 enables edu's MSI through config space; edu's MSI goes
# to the kernel, its eventfd to QEMU, which writes the message into its
# own RAM (the MSI address is RAM at 1 MiB); BAR0 stays mapped.
start_qemu
cfg 0x10 && qt 'outl 0xcfc 0xe0000000'
cfg 4 && qt 'outw 0xcfc 0x0006' # memory, bus master (QEMU drops MSI writes without it)
cfg 0x34 && qt 'inb 0xcfc' && cap=$((ANS))
cfg $cap && qt 'inl 0xcfc' && ctl=$((ANS >> 16))
echo "G: msi cap id $((ANS & 0xff)) 64-bit $(((ctl >> 7) & 1))"
cfg $((cap + 4)) && qt 'outl 0xcfc 0x100000'
cfg $((cap + 8)) && qt 'outl 0xcfc 0'
cfg $((cap + 12)) && qt 'outw 0xcfc 0x4321'
cfg $cap && qt "outw 0xcfe $((ctl | 1))"
echo "G: msi eventfd handed to the kernel: $(grep -c ': SET_IRQS index 1 start 0 count 1 flags 0x24 to .*: 0$' /tmp/proxy.log)"
qt 'writel 0x100000 0'
msgs=$(bar0_msgs)
qt 'writel 0xe0000060 0x1'
i=0
while qt 'readl 0x100000' && [ "$ANS" != 0x0000000000004321 ] && [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.05
done
echo "G: msi message in QEMU's RAM $ANS"
qt 'readl 0xe0000024' && echo "G: msi interrupt status $ANS"
qt 'writel 0xe0000064 0x1'
qt 'readl 0xe0000000' && echo "G: msi id $ANS"
echo "G: msi BAR0 messages $(($(bar0_msgs) - msgs)) unmapped $(grep -c 'BAR 0 mmaps enabled: 0' /tmp/qerr)"
stop_qemu

# 2. INTx, in a new QEMU (the proxy serves the next client)
start_qemu
qt 'irq_intercept_in ioapic'
cfg 0 && qt 'inl 0xcfc' && echo "G: ids $ANS"
cfg 0x10 && qt 'outl 0xcfc 0xffffffff' && qt 'inl 0xcfc' && echo "G: bar0 size probe $ANS"
qt 'outl 0xcfc 0xe0000000' && qt 'inl 0xcfc' && echo "G: bar0 $ANS"
cfg 4 && qt 'outw 0xcfc 0x0002' && qt 'inw 0xcfc' && echo "G: command $ANS"
# the mapping: the proxy's device fd, at edu's physical BAR0 (the PFN)
phys=$(printf '%x' "$(($(cut -d' ' -f1 /sys/bus/pci/devices/$edu/resource | head -n 1)))")
m=$(grep '\[vfio-device\]' /proc/$Q/maps | awk -v p="$phys" '$3 == p { print $1 }')
[ "$(echo "$m" | grep -c .)" = 1 ] || fail "QEMU 11 has not one mapping of the device fd at $phys: $(cat /proc/$Q/maps)"
echo "G: QEMU maps the device fd at edu's BAR0 address: $((0x${m#*-} - 0x${m%-*})) bytes"
qt 'readl 0xe0000000' && echo "G: id $ANS"
qt 'writel 0xe0000004 0x12345678' && qt 'readl 0xe0000004' && echo "G: liveness $ANS"
echo "G: BAR0 messages while mapped: $(bar0_msgs)"
echo "G: INTx raised before: $(irqs raise)"
mapped=$(grep -c 'BAR 0 mmaps enabled: 1' /tmp/qerr)
irq_msgs() { grep -cE ': (SET_IRQS|REGION_READ|REGION_WRITE) ' /tmp/proxy.log; }
logged=$(irq_msgs)
qt 'writel 0xe0000060 0x1'
wait_irq raise 0 || fail "edu's INTx never reached QEMU 11's IOAPIC: $(cat /tmp/qerr)"
echo "G: INTx at QEMU's IOAPIC: $(grep '^IRQ raise' /tmp/qout | head -n 1)"
# (QEMU's DMA_UNMAP of the BAR it unmaps may come: not about the IRQ)
echo "G: IRQ or region messages from the raise to QEMU's IRQ: $(($(irq_msgs) - logged))"
echo "G: QEMU unmapped BAR0: $(grep -c 'BAR 0 mmaps enabled: 0' /tmp/qerr | sed 's/^[1-9][0-9]*$/yes/')"
qt 'readl 0xe0000024' && echo "G: interrupt status $ANS"
echo "G: BAR0 messages after the INTx: $(bar0_msgs)"
lowered=$(irqs lower)
qt 'writel 0xe0000064 0x1'
wait_irq lower "$lowered" || fail "the ack did not lower QEMU 11's INTx: $(cat /tmp/qerr)"
qt 'readl 0xe0000024' && echo "G: interrupt status after the ack $ANS"
echo "G: BAR0 messages after the ack: $(bar0_msgs)"
qt 'clock_step 2000000000'
qt 'readl 0xe0000000' && echo "G: id after 2 s of virtual time $ANS"
echo "G: BAR0 messages after 2 s: $(bar0_msgs)"
echo "G: QEMU maps BAR0 again: $(($(grep -c 'BAR 0 mmaps enabled: 1' /tmp/qerr) - mapped))"
echo "G: eventfds handed to the kernel: $(grep -c ': SET_IRQS index 0 start 0 count 1 flags 0x24 to .*: 0$' /tmp/proxy.log | sed 's/^[1-9][0-9]*$/yes/')"
echo "G: unmasks passed to the kernel: $(grep -c ': SET_IRQS index 0 start 0 count 1 flags 0x11 to .*: 0$' /tmp/proxy.log | sed 's/^[1-9][0-9]*$/yes/')"
stop_qemu
maps=$(grep -c ': DMA_MAP iova .* to .*: 0$' /tmp/proxy.log)
unmaps=$(grep -c ': DMA_UNMAP iova .* to .*: 0$' /tmp/proxy.log)
echo "G: QEMU gone: type1 maps $([ "$maps" -gt 0 ] && [ "$maps" = "$unmaps" ] && echo "all unmapped" || echo "$maps mapped $unmaps unmapped")"
kill $PROXY
wait $PROXY
GUEST
}

expected() {
	cat <<'LINES'
msi cap id 5 64-bit 1
msi eventfd handed to the kernel: 1
msi message in QEMU's RAM 0x0000000000004321
msi interrupt status 0x0000000000000001
msi id 0x00000000010000ed
msi BAR0 messages 0 unmapped 0
ids 0x11e81234
bar0 size probe 0xfff00000
bar0 0xe0000000
command 0x0002
QEMU maps the device fd at edu's BAR0 address: 1048576 bytes
id 0x00000000010000ed
liveness 0x00000000edcba987
BAR0 messages while mapped: 0
INTx raised before: 0
INTx at QEMU's IOAPIC: IRQ raise 20
IRQ or region messages from the raise to QEMU's IRQ: 0
QEMU unmapped BAR0: yes
interrupt status 0x0000000000000001
BAR0 messages after the INTx: 1
interrupt status after the ack 0x0000000000000000
BAR0 messages after the ack: 3
id after 2 s of virtual time 0x00000000010000ed
BAR0 messages after 2 s: 4
QEMU maps BAR0 again: 0
eventfds handed to the kernel: yes
unmasks passed to the kernel: yes
QEMU gone: type1 maps all unmapped
LINES
}

main() {
	local t0 q11
	peers_begin --host-only
	q11=$(setup "$PEERS/pack-qemu11.sh")
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/test.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh"
	# QEMU 11 first: an uncompressed archive must start 4-byte aligned,
	# and the cpio's length is a multiple of 512
	cat "$q11" "$tmp/test.cpio.gz" >"$tmp/initrd.cpio"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" --mem 1G \
		--initrd "$tmp/initrd.cpio" --timeout "${PEERS_BOOT_TIMEOUT:-300}" \
		--append "intel_iommu=on" -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device edu 2>"$tmp/qemu.err" || log "QEMU exited with $?"
	log "guest run took $(since "$t0")s"
	[ -n "${PEERS_DUMP:-}" ] && tr -d '\r' <"$tmp/serial.log" | grep -E '^G: ' >&2
	expect_lines kernel-proxy-qemu11-irq "$tmp/serial.log" "$(expected)"
	echo "PASS: kernel-proxy-qemu11-irq: QEMU 11 maps edu's BAR from the proxy's fd, takes MSI and INTx from the kernel, traps the BAR after an INTx"
}

main "$@"
