#!/usr/bin/env bash
# Copies to and from real NBD servers: nbdkit (memory and file plugins) and qemu-nbd
# (raw and qcow2), checked with cmp, qemu-img compare and nbdcopy.
source "$(dirname "$0")/lib/common.bash"
need qemu-nbd

make_image "$T/src.img" 128M 5 50

# file -> nbdkit memory
mem=$(nbdkit_start mem memory 128M)
"$FERRY" migrate "$T/src.img" "$mem" --verify --progress none >/dev/null || die "file -> nbdkit memory"
nbdcopy "$mem" "$T/back1.img"
cmp "$T/src.img" "$T/back1.img" || die "nbdkit memory copy differs"
pass "file -> nbdkit memory"

# nbdkit file (read-only source) -> file
srcuri=$(nbdkit_start src -r file "$T/src.img")
"$FERRY" migrate "$srcuri" "$T/back2.img" --progress none >/dev/null || die "nbdkit file -> file"
cmp "$T/src.img" "$T/back2.img" || die "copy from nbdkit file differs"
pass "nbdkit file -> file"

# nbdkit -> nbdkit (the live-migration shape: both ends NBD)
mem2=$(nbdkit_start mem2 memory 128M)
"$FERRY" migrate "$srcuri" "$mem2" --verify --progress none >/dev/null || die "nbdkit -> nbdkit"
pass "nbdkit file -> nbdkit memory, verified"

# qemu-nbd qcow2 destination (qemu-nbd allows one connection by default)
qemu-img create -q -f qcow2 "$T/dst.qcow2" 128M
q=$(qemu_nbd_start q -f qcow2 "$T/dst.qcow2")
"$FERRY" migrate "$srcuri" "$q" --progress none >/dev/null || die "nbdkit -> qemu-nbd qcow2"
server_stop q
qemu-img compare -q -f raw -F qcow2 "$T/src.img" "$T/dst.qcow2" || die "qcow2 destination differs"
pass "nbdkit file -> qemu-nbd qcow2 (qemu-img compare)"

# qemu-nbd raw source -> file
qs=$(qemu_nbd_start qs -t -r -f raw "$T/src.img")  # -t: serve more than one client
"$FERRY" migrate "$qs" "$T/back3.img" --progress none >/dev/null || die "qemu-nbd -> file"
cmp "$T/src.img" "$T/back3.img" || die "copy from qemu-nbd differs"
pass "qemu-nbd raw -> file"

# ferry verify over NBD on both sides
"$FERRY" verify "$qs" "$mem2" >/dev/null || die "verify over NBD"
pass "verify NBD <-> NBD"
