#!/usr/bin/env bash
# TLS (DESIGN.md "Faults"): `ferry serve --listen` requires credentials unless told
# --insecure; with a PSK (made by psktool) nbdinfo and qemu-img reach the export over
# nbds://, and a plain client is refused; nbds:// sources and destinations work against
# nbdkit --tls=require.
source "$(dirname "$0")/lib/common.bash"
need nbdinfo psktool qemu-img

free_port() { PATH=/usr/bin:$PATH python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {  # PORT: until something listens on it
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  die "nothing listens on port $1"
}
mkdir "$T/psk"
psktool -u alice -p "$T/psk/keys.psk" >/dev/null || die "psktool failed"
PSK="$T/psk/keys.psk"
make_image "$T/src.img" 16M 11 80

# 1. nbds:// source and destination, against nbdkit --tls=require.
p1=$(free_port)
nbdkit -P "$T/tsrc.pid" -i 127.0.0.1 -p "$p1" --tls=require --tls-psk="$PSK" -r file "$T/src.img" ||
  die "nbdkit with TLS failed to start"
wait_port "$p1"
"$FERRY" migrate "nbds://alice@127.0.0.1:$p1/?tls-psk-file=$PSK" "$T/dst1.img" --journal "$T/j1" --progress none ||
  die "migrate from an nbds:// source failed"
cmp "$T/src.img" "$T/dst1.img" || die "copy from an nbds:// source differs"
truncate -s 16M "$T/dst2.img"
p2=$(free_port)
nbdkit -P "$T/tdst.pid" -i 127.0.0.1 -p "$p2" --tls=require --tls-psk="$PSK" file "$T/dst2.img" ||
  die "nbdkit with TLS failed to start"
wait_port "$p2"
"$FERRY" migrate "$T/src.img" "nbds://alice@127.0.0.1:$p2/?tls-psk-file=$PSK" --journal "$T/j2" --progress none ||
  die "migrate to an nbds:// destination failed"
cmp "$T/src.img" "$T/dst2.img" || die "copy to an nbds:// destination differs"
# A plain client of a TLS-only source is refused, with one line.
expect_exit 1 "cannot connect to NBD server nbd://127.0.0.1:$p1" \
  "$FERRY" migrate "nbd://127.0.0.1:$p1" "$T/dst3.img" --journal "$T/j3" --progress none
pass "nbds:// source and destination (PSK) copied identical; a plain client of a TLS source is refused"

# 2. ferry serve --listen: credentials or --insecure.
p3=$(free_port)
expect_exit 2 "--listen serves on TCP: give --tls-certificates DIR or --tls-psk FILE.*or --insecure" \
  "$FERRY" serve "$T/src.img" "$T/live.img" --journal "$T/j4" --listen "127.0.0.1:$p3"
expect_exit 2 "--tls-psk $T/nope.psk: cannot read it" \
  "$FERRY" serve "$T/src.img" "$T/live.img" --journal "$T/j4" --listen "127.0.0.1:$p3" --tls-psk "$T/nope.psk"
expect_exit 2 "--tls-certificates $T/nope: not a directory" \
  "$FERRY" serve "$T/src.img" "$T/live.img" --journal "$T/j4" --listen "127.0.0.1:$p3" --tls-certificates "$T/nope"
[ ! -e "$T/live.img" ] && [ ! -e "$T/j4" ] || die "a refused serve left files behind"
"$FERRY" serve "$T/src.img" "$T/live.img" --journal "$T/j4" --listen "127.0.0.1:$p3" --tls-psk "$PSK" \
  2>"$T/serve.log" &
serve=$!
_pids+=($serve)
wait_port "$p3"
URI="nbds://alice@127.0.0.1:$p3/?tls-psk-file=$PSK"
[ "$(nbdinfo --size "$URI")" = $((16 << 20)) ] || die "nbdinfo over nbds:// with the PSK"
rc=0
nbdinfo --size "nbd://127.0.0.1:$p3" >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || die "a plain NBD client was served by a TLS export"
qemu-img convert --object "tls-creds-psk,id=tls0,endpoint=client,dir=$T/psk,username=alice" \
  --image-opts "driver=nbd,host=127.0.0.1,port=$p3,tls-creds=tls0" -O raw "$T/qemu.img" ||
  die "qemu-img over nbds:// with the PSK"
cmp "$T/src.img" "$T/qemu.img" || die "qemu-img read through the TLS export differs"
kill -TERM $serve
wait $serve || true
pass "serve --listen --tls-psk: nbdinfo and qemu-img read over nbds:// (identical), a plain client refused; no TLS option refused with one line"

p4=$(free_port)
"$FERRY" serve "$T/src.img" "$T/live.img" --journal "$T/j4" --listen "127.0.0.1:$p4" --insecure 2>"$T/serve2.log" &
serve=$!
_pids+=($serve)
wait_port "$p4"
[ "$(nbdinfo --size "nbd://127.0.0.1:$p4")" = $((16 << 20)) ] || die "plain client of an --insecure export"
kill -TERM $serve
wait $serve || true
pass "serve --listen --insecure serves plain NBD"
