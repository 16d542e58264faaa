#!/usr/bin/env bash
# check-units.sh VFIOKIT SOURCE: the example systemd units and machine
# file of examples/ (examples/README.md) do what they say.
#
# 1. `systemd-analyze verify` of vfiokit@.socket and vfiokit@.service
#    for an instance, the service's vfiokit pointed at the built one:
#    no error and no warning.
# 2. The units' own lines run by hand: the socket unit's ListenStream and
#    FileDescriptorName (%i, %t filled in) given to
#    `systemd-socket-activate`, which runs the service's ExecStart on a
#    one-device machine file; `vfiokit info` and `vfiokit mem` then
#    reach the device through the inherited socket, and the file's own
#    socket path is never made.
# 3. examples/machine.json served as it is: every device answers with its
#    ids, the GPU pairs with both its bridges.
set -uo pipefail
vfiokit=${1:?usage: check-units.sh VFIOKIT SOURCE}
src=${2:?usage: check-units.sh VFIOKIT SOURCE}
work=$(mktemp -d /tmp/vfk-units-XXXXXX)
. "$src/tests/shell_checks.sh"

wait_socket() {
	for _ in $(seq 400); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

# The value of KEY= in unit FILE, %i and %t filled in, the paths of a
# real system moved into $work.
unit_value() {
	sed -n "s/^$2=//p" "$1" | sed "s|%i|dma0|g; s|%t|$work/run|g; s|/etc/vfiokit|$work/etc|g;
		s|/usr/bin/vfiokit|$vfiokit|g"
}

# A device's "VENDOR:DEVICE" from its config space.
ids() {
	"$vfiokit" mem --region 7 "$1" 0.W 2.W | sed -n 's/.*: 0x//p' | paste -sd:
}

# --- 1. systemd-analyze verify --------------------------------------------
units=$work/units
mkdir -p "$units"
cp "$src/examples/vfiokit@.socket" "$units/"
sed "s|/usr/bin/vfiokit|$vfiokit|" "$src/examples/vfiokit@.service" >"$units/vfiokit@.service"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$units/vfiokit@dma0.socket" \
		"$units/vfiokit@dma0.service" >"$work/verify" 2>&1
	check "systemd-analyze verify: the units are sound" test $? -eq 0
	check "systemd-analyze verify: no warning" test ! -s "$work/verify"
	sed 's/^/# /' "$work/verify"
else
	fail "systemd-analyze not found (Debian package systemd)"
fi

# --- 2. socket activation as the units ask for it -------------------------
listen=$(unit_value "$src/examples/vfiokit@.socket" ListenStream)
fdname=$(unit_value "$src/examples/vfiokit@.socket" FileDescriptorName)
read -r -a exec_start <<<"$(unit_value "$src/examples/vfiokit@.service" ExecStart)"
check "the socket unit listens on a path" test -n "$listen"
check "the socket names its fd after the device" test "$fdname" = dma0
check "the service runs vfiokit serve" test "${exec_start[0]}" = "$vfiokit"
mkdir -p "$work/run/vfiokit" "$work/etc"
cat >"$work/etc/dma0.json" <<JSON
{ "devices": [ { "name": "dma0", "model": "dmaengine", "socket": "$work/by-hand.sock" } ] }
JSON
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -l "$listen" --fdname="$fdname" "${exec_start[@]}" \
		>"$work/activated.log" 2>&1 &
	pids+=($!)
	check "systemd-socket-activate listens on $listen" wait_socket "$listen"
	check "vfiokit info through the activated socket" "$vfiokit" info "$listen"
	check "vfiokit mem: the dmaengine's ID" \
		test "$("$vfiokit" mem "$listen" 0.L)" = "read region 0 offset 0x0 via region: 0x444d4131"
	check "the machine file's own socket is not made" test ! -e "$work/by-hand.sock"
	check "serve says where QEMU attaches" grep -qF "\"path\":\"$listen\"" "$work/activated.log"
else
	fail "systemd-socket-activate not found (Debian package systemd)"
fi

# --- 3. examples/machine.json --------------------------------------------
mkdir -p "$work/machine"
cp "$src/examples/machine.json" "$work/machine/"
(cd "$work/machine" && exec "$vfiokit" serve --config machine.json >serve.log 2>&1) &
pids+=($!)
m=$work/machine
for dev in gpu0 gpu0-nvlink0 gpu0-nvlink1 dma0; do
	check "machine.json: $dev serves" wait_socket "$m/$dev.sock"
done
check "machine.json: gpu0 is a V100" test "$(ids "$m/gpu0.sock")" = 10de:1db1
check "machine.json: gpu0-nvlink0 is an NPU2 bridge" test "$(ids "$m/gpu0-nvlink0.sock")" = 1014:04ea
check "machine.json: dma0 is the dmaengine" test "$(ids "$m/dma0.sock")" = 1234:10d0
"$vfiokit" topology "$m/gpu0.sock" "$m/gpu0-nvlink0.sock" "$m/gpu0-nvlink1.sock" \
	>"$work/topology" 2>&1
check "machine.json: the GPU and its bridges are consistent" test $? -eq 0
check "machine.json: both links of gpu0" test "$(grep -c '^ *link ' "$work/topology")" -eq 2
check "machine.json: gpu0's options taken (128 GiB aperture)" grep -q "128 GiB aperture" "$work/topology"
check "machine.json: a bridge without ATSD (atsd false)" grep -q "ATSD none" "$work/topology"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
