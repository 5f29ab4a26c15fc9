#!/usr/bin/env bash
# A kernel file system on the export doing real work (DESIGN.md "Faults", issue 13): ext4
# on ferry serve through nbdfuse and a loop device, while the volume migrates from a
# slowed source. Phase 1 reads the files that were on the source and checks them,
# writes new files and a sqlite database doing transactions, and syncs; then ferry
# serve is killed with -9 under the mounted file system. Phase 2 restarts it, mounts
# again (ext4 replays its journal), finds every synced file and transaction, and works
# on; after a clean unmount and the migration's end, e2fsck -fn finds the destination
# clean and every file reads back as written. Needs root, FUSE and loop devices: skipped
# (77) without them.
source "$(dirname "$0")/lib/common.bash"
need nbdfuse losetup mkfs.ext4 e2fsck sqlite3 md5sum
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! losetup -f >/dev/null 2>&1; then
  echo "skipped: needs root, /dev/fuse and a free loop device"
  exit 77
fi

mkdir -p "$T/tree" "$T/mnt" "$T/fuse"
loop="" fuse_pid="" serve=""
unmount_all() {
  if mountpoint -q "$T/mnt"; then umount "$T/mnt" 2>/dev/null || umount -l "$T/mnt"; fi
  [ -n "$loop" ] && { losetup -d "$loop" 2>/dev/null || true; }
  loop=""
  if [ -n "$fuse_pid" ]; then
    fusermount3 -u "$T/fuse" 2>/dev/null || fusermount -u "$T/fuse" 2>/dev/null || umount -l "$T/fuse" 2>/dev/null || true
    kill "$fuse_pid" 2>/dev/null || true
    wait "$fuse_pid" 2>/dev/null || true
  fi
  fuse_pid=""
}
_on_exit+=("unmount_all")

# The source: ext4 with files of random data, their checksums kept.
for i in $(seq 0 39); do
  head -c $(( (i * 37 % 50 + 1) * 32768 )) /dev/urandom >"$T/tree/f$i"
done
(cd "$T/tree" && md5sum f*) >"$T/sums"
head -20 "$T/sums" >"$T/sums_half"  # phase 1 reads these; the rest stays on the source
mkfs.ext4 -q -F -d "$T/tree" "$T/src.img" 96M
# 2 MiB/s: the 32 MiB of files take 15 s or more to copy.
SRC=$(nbdkit_start src -r --filter=delay --filter=rate file "$T/src.img" rdelay=1ms rate=16M)
J="$T/j"
serve_start() {
  rm -f "$T/live.sock"
  "$FERRY" serve "$SRC" "$T/dst.img" --journal "$J" --socket "$T/live.sock" 2>>"$T/serve.log" &
  serve=$!
  _pids+=($serve)
  for _ in $(seq 1 1200); do
    nbdinfo --size "nbd+unix:///?socket=$T/live.sock" >/dev/null 2>&1 && break
    kill -0 $serve 2>/dev/null || die "ferry serve exited: $(tail -3 "$T/serve.log")"
    sleep 0.05
  done
  nbdfuse "$T/fuse" "nbd+unix:///?socket=$T/live.sock" &
  fuse_pid=$!
  for _ in $(seq 1 200); do [ -e "$T/fuse/nbd" ] && break; sleep 0.05; done
  [ -e "$T/fuse/nbd" ] || die "nbdfuse did not start"
  loop=$(losetup -f --show "$T/fuse/nbd")
  mount -o noatime "$loop" "$T/mnt" || die "mount of the export failed: $(dmesg | tail -3)"
}
check_sums() {  # FILE: every file listed reads back as written
  (cd "$T/mnt" && md5sum --quiet -c "$1") || die "files differ on the export ($1)"
}
transactions() {  # N FIRST: N transactions, each inserting 10 rows, committed one by one
  local sql="" i
  for i in $(seq "$2" $(($2 + $1 - 1))); do
    sql+="BEGIN; INSERT INTO t(k, v) SELECT $i * 10 + value, hex(randomblob(200)) FROM generate_series(0, 9); COMMIT;"
  done
  sqlite3 "$T/mnt/db.sqlite" "$sql" || die "sqlite transactions failed"
}

# Phase 1.
serve_start
check_sums "$T/sums_half"
sqlite3 "$T/mnt/db.sqlite" "PRAGMA journal_mode=wal; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);" >/dev/null
transactions 100 0
mkdir "$T/mnt/new"
for i in $(seq 0 19); do head -c $(( (i + 1) * 12288 )) /dev/urandom >"$T/mnt/new/w$i"; done
(cd "$T/mnt" && md5sum new/w*) >"$T/sums1"
sync
present=$(json_field <("$FERRY" status --json "$J") percent)
kill -KILL $serve
wait $serve 2>/dev/null || true
unmount_all
wait_server_gone "$T/live.sock"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 100 else 1)" "$present" ||
  die "the migration had finished before the kill: the test proves nothing (slow the source)"

# Phase 2: after kill -9, everything synced is there; more work.
serve_start
check_sums "$T/sums"
check_sums "$T/sums1"
[ "$(sqlite3 "$T/mnt/db.sqlite" "PRAGMA integrity_check;")" = ok ] || die "sqlite database corrupt after kill -9"
[ "$(sqlite3 "$T/mnt/db.sqlite" "SELECT count(*) FROM t;")" = 1000 ] || die "sqlite lost committed transactions"
transactions 100 100
rm "$T/mnt/new/w0" "$T/mnt/new/w1"
for i in $(seq 20 29); do head -c $(( (i + 1) * 4096 )) /dev/urandom >"$T/mnt/new/w$i"; done
(cd "$T/mnt" && md5sum new/w*) >"$T/sums2"
sync
umount "$T/mnt"
unmount_all
for _ in $(seq 1 600); do
  [ "$(json_field <("$FERRY" status --json "$J") state)" = copied ] && break
  sleep 0.1
done
[ "$(json_field <("$FERRY" status --json "$J") state)" = copied ] || die "the migration did not complete"
kill -TERM $serve
wait $serve || die "ferry serve did not stop cleanly: $(tail -3 "$T/serve.log")"

# The destination alone: clean, and everything as written.
e2fsck -fn "$T/dst.img" >"$T/fsck.txt" 2>&1 || die "e2fsck -fn: $(cat "$T/fsck.txt")"
loop=$(losetup -f --show -r "$T/dst.img")
mount -o ro,noload "$loop" "$T/mnt"
check_sums "$T/sums"
check_sums "$T/sums2"
[ "$(sqlite3 "file:$T/mnt/db.sqlite?immutable=1" "SELECT count(*) FROM t;")" = 2000 ] || die "sqlite rows on the destination"
umount "$T/mnt"
losetup -d "$loop"
loop=""
pass "ext4 on the export: files and sqlite transactions synced before kill -9 survived it (migration at $(printf "%.1f" "$present")%), e2fsck clean on the destination, every file as written"
