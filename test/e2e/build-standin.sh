#!/usr/bin/env bash
# build-standin.sh OUT_DIR — the stand-in "Talos" the e2e VMs network-boot.
#
# Real Talos images cannot be downloaded here, so the e2e test boots something that behaves like
# Talos's early boot and is served under Talos's file names (assets/talos/<version>/vmlinuz-amd64 +
# initramfs-amd64.xz), so metalboot cannot tell the difference:
#   - the kernel is Debian's default kernel for this release (the linux-image-<abi>-amd64 package that
#     linux-image-amd64 depends on), fetched with `apt-get download` and unpacked with `dpkg-deb -x`,
#     never installed;
#   - the initramfs is busybox plus the virtio NIC/disk modules and an /init that: reads
#     talos.config= and talos.logging.kernel= from /proc/cmdline, loads the modules, runs udhcpc,
#     fetches its machine config (must be HTTP 200, non-empty YAML whose hostname is the one the test
#     registered: e2e-<mac without colons>), "installs" by writing a boot sector to /dev/vda (which
#     prints "booted from local disk" and powers the VM off on the next boot from disk), streams
#     kmsg-style JSON lines to the kernel-log endpoint (if the cmdline or a KmsgLogConfig document
#     names one), prints MBE2E: PASS/FAIL markers on the serial console and powers off.
#   - a Talos v1.14 config (one with an UnattendedInstallConfig document) is installed as v1.14 does:
#     the disk comes from the document's `disk.dev_path == "…"` selector, the kernel log carries the
#     install controller's lines (installing Talos, install successful, requesting reboot…) and the
#     stand-in refuses what Talos refuses (.machine.install beside the document; no reboot without
#     `reboot: true` or `installer.image`). It sends no install-sequence events (it speaks no gRPC).
#   - booted by UEFI, the "install" writes an EFI system partition instead (MBR type 0xEF, FAT16,
#     built here) with \EFI\BOOT\BOOTX64.EFI, a 1 KiB EFI application that prints the same marker
#     and shuts the VM down through the firmware (ResetSystem): a UEFI VM's second boot boots its disk.
#   - a reimage's wipe boot (talos.experimental.wipe= on the cmdline, no config) zeroes 8–16 MiB of
#     /dev/vda (where Talos's STATE and EPHEMERAL would be) and reboots, as Talos's wipe=system does:
#     the boot loader stays, so the disk still boots afterwards (metalboot must send it to the network).
#
# Writes OUT_DIR/vmlinuz-amd64, OUT_DIR/initramfs-amd64.xz, OUT_DIR/kernel-package (atomically,
# via a temporary directory next to OUT_DIR). The downloaded kernel is cached in
# ${METALBOOT_E2E_CACHE:-$(dirname OUT_DIR)}/kernel-<package>/ so reruns are fast. Safe to run
# concurrently (flock). Needs root only for mknod /dev/console (skipped otherwise).
set -euo pipefail

OUT=${1:?usage: $0 OUT_DIR}
mkdir -p "$(dirname "$OUT")"
OUT=$(readlink -f "$OUT")
CACHE=${METALBOOT_E2E_CACHE:-$(dirname "$OUT")}
mkdir -p "$CACHE"
log() { printf 'build-standin: %s\n' "$*" >&2; }

exec 9>"$CACHE/.build.lock"
flock -w 600 9 || { log "could not take $CACHE/.build.lock within 600 s"; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio xz busybox flock; do
  command -v "$tool" >/dev/null || { log "missing tool: $tool (apt-get install cpio xz-utils busybox)"; exit 1; }
done

# ---------------------------------------------------------------- kernel
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }' || true; }
KPKG=$(kernel_package)
if [ -s "$OUT/vmlinuz-amd64" ] && [ -s "$OUT/initramfs-amd64.xz" ] && { [ -z "$KPKG" ] || [ "$(cat "$OUT/kernel-package" 2>/dev/null)" = "$KPKG" ]; }; then
  log "up to date: $OUT ($(cat "$OUT/kernel-package" 2>/dev/null))"
  exit 0
fi
if [ -z "$KPKG" ]; then
  log "apt-cache cannot resolve linux-image-amd64; running apt-get update"
  apt-get update -qq >/dev/null 2>&1 || true
  KPKG=$(kernel_package)
fi
[ -n "$KPKG" ] || { log "cannot resolve the linux-image-amd64 dependency (is this Debian, with apt lists?)"; exit 1; }

WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
KDIR="$CACHE/kernel-$KPKG-v2"

# NIC and disk drivers are modules in Debian's kernel (CONFIG_VIRTIO_NET=m, CONFIG_VIRTIO_BLK=m),
# and it has no kernel-side ip=dhcp (CONFIG_IP_PNP unset): the initramfs loads them and runs udhcpc.
WANT_MODULES="virtio_pci virtio_net virtio_blk"
if [ ! -s "$KDIR/vmlinuz" ] || [ ! -d "$KDIR/modules" ]; then
  log "downloading $KPKG (not installing it)"
  ( cd "$WORK" && apt-get download -q "$KPKG" >/dev/null 2>"$WORK/apt.err" ) || { cat "$WORK/apt.err" >&2; log "apt-get download $KPKG failed"; exit 1; }
  dpkg-deb -x "$WORK"/"$KPKG"_*.deb "$WORK/kpkg"
  KVER=$(ls "$WORK/kpkg/lib/modules")
  mkdir -p "$WORK/kernel/modules"
  cp "$WORK"/kpkg/boot/vmlinuz-* "$WORK/kernel/vmlinuz"
  # Copy the wanted modules and, recursively, what their .modinfo says they depend on; record a
  # load order with dependencies first (there is no modprobe/depmod data in the initramfs).
  declare -A SEEN=()
  ORDER=()
  add_module() {
    local m=$1 f deps d
    [ -n "${SEEN[$m]:-}" ] && return 0
    SEEN[$m]=1
    f=$(find "$WORK/kpkg/lib/modules/$KVER" \( -name "$m.ko" -o -name "${m//_/-}.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) | head -1)
    [ -n "$f" ] || { log "module $m not found (built in?)"; return 0; }
    case "$f" in
      *.ko.xz) xz -dc "$f" > "$WORK/kernel/modules/$m.ko" ;;
      *.ko.zst) zstd -dqc "$f" > "$WORK/kernel/modules/$m.ko" ;;
      *) cp "$f" "$WORK/kernel/modules/$m.ko" ;;
    esac
    deps=$(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$WORK/kernel/modules/$m.ko" | head -1 | cut -d= -f2 | tr ',-' ' _' || true)
    for d in $deps; do add_module "$d"; done
    ORDER+=("$m")
  }
  for m in $WANT_MODULES; do add_module "$m"; done
  printf '%s\n' "${ORDER[@]}" > "$WORK/kernel/modules/load-order"
  echo "$KVER" > "$WORK/kernel/kver"
  rm -rf "$KDIR"
  mv "$WORK/kernel" "$KDIR"
  rm -rf "$WORK/kpkg" "$WORK"/*.deb
  log "kernel $KVER cached in $KDIR (modules: $(tr '\n' ' ' < "$KDIR/modules/load-order"))"
fi

# ---------------------------------------------------------------- initramfs tree
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,lib/modules}
BB=$(command -v busybox)
cp "$BB" "$R/bin/busybox"
# Debian's busybox is dynamically linked (busybox-static is not): copy its libraries.
if ldd "$BB" >/dev/null 2>&1; then
  for lib in $(ldd "$BB" | grep -o '/[^ ]*'); do
    mkdir -p "$R$(dirname "$lib")"
    cp -L "$lib" "$R$lib"
  done
fi
for applet in $("$BB" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$R/bin/$applet"
done
ln -sf ../bin/busybox "$R/sbin/init"
cp "$KDIR"/modules/*.ko "$KDIR/modules/load-order" "$R/lib/modules/"
if [ "$(id -u)" = 0 ]; then mknod -m 600 "$R/dev/console" c 5 1; mknod -m 666 "$R/dev/null" c 1 3; fi

# A 512-byte boot sector the stand-in "installs" on /dev/vda. On the next boot from disk (BIOS) it
# prints a marker on COM1 and powers the VM off through the ACPI PM1a control port that SeaBIOS sets
# up on QEMU's i440fx machine (0x604, SLP_EN with sleep type 0 = soft off), so QEMU exits 0.
#   cli; cld; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
#   l: lodsb; test al,al; jz d; out dx,al; jmp l
#   d: mov dx,0x604; mov ax,0x2000; out dx,ax; h: hlt; jmp h
#   msg: "MBE2E: booted from local disk ...\r\n\0"
hex_to_file() { printf "$(printf '%s' "$1" | sed 's/\(..\)/\\x\1/g')" > "$2"; }
hex_to_file 'fafc31c08ed8be1e7cbaf803ac84c07403eeebf8ba0406b80020eff4ebfd' "$WORK/mbr.bin"
printf 'MBE2E: booted from local disk (boot sector written by the stand-in installer)\r\n\0' >> "$WORK/mbr.bin"
truncate -s 510 "$WORK/mbr.bin"
printf '\x55\xaa' >> "$WORK/mbr.bin"
cp "$WORK/mbr.bin" "$R/mbr.bin"

# The UEFI variant: a disk image (5 MiB) whose MBR keeps that boot code and has one partition,
# type 0xEF (EFI system partition), at LBA 2048: FAT16 holding \EFI\BOOT\BOOTX64.EFI, the
# removable-media path OVMF boots from a disk. The application, assembled once (GNU as, Intel
# syntax) and kept as bytes here:
#   mov rbx, rdx                ; EFI_SYSTEM_TABLE*
#   lea rsi, [rip + msg]; mov dx, 0x3f8
#   l: lodsb; test al, al; jz d; out dx, al; jmp l     ; the marker on COM1
#   d: mov rax, [rbx + 0x58]    ; ->RuntimeServices
#   mov rax, [rax + 0x68]       ; ->ResetSystem
#   mov ecx, 2; xor edx, edx; xor r8d, r8d; xor r9d, r9d ; EfiResetShutdown, EFI_SUCCESS, no data
#   sub rsp, 0x28; call rax; h: hlt; jmp h
python3 - "$WORK/mbr.bin" "$R/disk-uefi.img" <<'EOP'
import struct, sys
code = bytes.fromhex('4889d3488d352a00000066baf803ac84c07403eeebf8488b4358488b4068b90200000031d24531c04531c94883ec28ffd0f4ebfd')
code += b'MBE2E: booted from local disk (EFI loader written by the stand-in installer)\r\n\0'
text = code.ljust(0x200, b'\0')
dos = b'MZ'.ljust(0x3c, b'\0') + struct.pack('<I', 0x40)
coff = struct.pack('<HHIIIHH', 0x8664, 1, 0, 0, 0, 240, 0x0022)  # x86-64; executable, large-address aware
opt = struct.pack('<HBBIIIII', 0x20b, 0, 0, len(text), 0, 0, 0x1000, 0x1000)  # PE32+, entry = start of .text
opt += struct.pack('<QIIHHHHHHIIIIHHQQQQII', 0, 0x1000, 0x200, 0, 0, 0, 0, 0, 0, 0, 0x2000, 0x200, 0, 10, 0, 0x10000, 0x10000, 0, 0, 0, 16)
opt += b'\0' * 128  # no data directories: no imports, no relocations (the code is position-independent)
section = struct.pack('<8sIIIIIIHHI', b'.text', len(code), 0x1000, len(text), 0x200, 0, 0, 0, 0, 0x60000020)
efi = (dos + b'PE\0\0' + coff + opt + section).ljust(0x200, b'\0') + text

# FAT16, one sector per cluster: 8192 sectors, 2 FATs of 33 sectors, 512 root entries (32 sectors).
SEC, START, TOTAL, FATSZ, ROOT = 512, 2048, 8192, 33, 512
fs = bytearray(TOTAL * SEC)
fs[0:62] = (b'\xeb\x3c\x90' + b'MBE2E   ' + struct.pack('<HBHBHHBHHHII', SEC, 1, 1, 2, ROOT, TOTAL, 0xF8, FATSZ, 32, 64, START, 0)
            + struct.pack('<BBBI', 0x80, 0, 0x29, 0x4D424532) + b'MBE2E ESP  ' + b'FAT16   ')
fs[510:512] = b'\x55\xaa'
data = 1 + 2 * FATSZ + ROOT * 32 // SEC  # first data sector (cluster 2)
def entry(name, attr, cluster, size=0):
    return struct.pack('<11sBBBHHHHHHHI', name, attr, 0, 0, 0, 0x5A87, 0, 0, 0, 0x5A87, cluster, size)
def put(cluster, blob):
    at = (data + cluster - 2) * SEC
    fs[at:at + len(blob)] = blob
root = entry(b'EFI        ', 0x10, 2)
put(2, entry(b'.          ', 0x10, 2) + entry(b'..         ', 0x10, 0) + entry(b'BOOT       ', 0x10, 3))
put(3, entry(b'.          ', 0x10, 3) + entry(b'..         ', 0x10, 2) + entry(b'BOOTX64 EFI', 0x20, 4, len(efi)))
put(4, efi)
clusters = -(-len(efi) // SEC)
fat = [0xFFF8, 0xFFFF, 0xFFFF, 0xFFFF] + [5 + i for i in range(clusters - 1)] + [0xFFFF]
fatb = struct.pack(f'<{len(fat)}H', *fat)
for n in range(2):
    at = (1 + n * FATSZ) * SEC
    fs[at:at + len(fatb)] = fatb
at = (1 + 2 * FATSZ) * SEC
fs[at:at + len(root)] = root

mbr = bytearray(open(sys.argv[1], 'rb').read())
mbr[446:462] = struct.pack('<B3sB3sII', 0, b'\xfe\xff\xff', 0xEF, b'\xfe\xff\xff', START, TOTAL)
open(sys.argv[2], 'wb').write(bytes(mbr).ljust(START * SEC, b'\0') + fs)
EOP

cat > "$R/udhcpc.script" <<'EOS'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
    echo "$ip" > /tmp/ip
    echo "MBE2E: udhcpc $1 $interface $ip/${mask} server=$serverid" ;;
esac
exit 0
EOS
chmod +x "$R/udhcpc.script"

cat > "$R/init" <<'EOS'
#!/bin/sh
# Stand-in for Talos's early boot, for metalboot's e2e test. Console markers start with "MBE2E:".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
say() { echo "MBE2E: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
RESULT=PASS
fail() { say "FAIL $*"; RESULT=FAIL; }

say "stand-in init started uptime=$(uptime_s)s"
CONFIG_URL=
KLOG_URL=
WIPE=
set -f   # the cmdline holds URLs with '?': do not glob while splitting it
for a in $(cat /proc/cmdline); do
  case "$a" in
    talos.config=*) CONFIG_URL=${a#talos.config=} ;;
    talos.logging.kernel=*) KLOG_URL=${a#talos.logging.kernel=} ;;
    talos.experimental.wipe=*) WIPE=${a#talos.experimental.wipe=} ;;
  esac
done
set +f
say "cmdline talos.config=${CONFIG_URL:-<none>} talos.logging.kernel=${KLOG_URL:-<none>}" | sed 's/token=[^ &]*/token=<redacted>/'

# No modprobe here: insmod in dependency order (virtio_ring before virtio_net...), as the builder
# recorded it from the modules' own .modinfo.
for m in $(cat /lib/modules/load-order); do
  grep -q "^$m " /proc/modules || insmod "/lib/modules/$m.ko" 2>>/tmp/insmod.err
done
say "modules $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
grep -q '^virtio_net ' /proc/modules || fail "virtio_net did not load: $(tail -3 /tmp/insmod.err | tr '\n' ' ')"

# A reimage's wipe boot (talos.experimental.wipe=system, no config): Talos wipes STATE and EPHEMERAL
# and reboots, leaving the boot loader. The stand-in zeroes 8–16 MiB of /dev/vda (past its boot
# sector and EFI system partition, which end at 5 MiB) and reboots: the disk still boots, so the
# install that must follow happens only if the machine boots the network once more.
if [ -n "$WIPE" ]; then
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
  if dd if=/dev/zero of=/dev/vda bs=1M seek=8 count=8 conv=fsync 2>/tmp/dd.err; then
    say "wiped /dev/vda (talos.experimental.wipe=$WIPE)"
  else
    say "FAIL wipe of /dev/vda: $(tail -1 /tmp/dd.err)"
  fi
  say "rebooting after the wipe"
  sync
  reboot -f
  sleep 5
  echo b > /proc/sysrq-trigger
  while :; do sleep 60; done
fi

ip link set lo up
IF=
i=0
while [ $i -lt 50 ] && [ -z "$IF" ]; do
  for d in /sys/class/net/*; do n=${d##*/}; [ "$n" = lo ] || { IF=$n; break; }; done
  [ -n "$IF" ] || { sleep 0.2; i=$((i + 1)); }
done
[ -n "$IF" ] || fail "no network interface appeared"
MAC=$(cat "/sys/class/net/$IF/address" 2>/dev/null)
MACHEX=$(echo "$MAC" | tr -d :)
EXPECT_HOST="e2e-$MACHEX"
if [ -n "$IF" ]; then
  ip link set "$IF" up
  udhcpc -i "$IF" -n -q -t 10 -T 2 -s /udhcpc.script >/tmp/udhcpc.log 2>&1
  grep MBE2E /tmp/udhcpc.log
fi
IP=$(cat /tmp/ip 2>/dev/null)
[ -n "$IP" ] || fail "udhcpc got no address"
say "interface=$IF mac=$MAC ip=$IP uptime=$(uptime_s)s"

# Fetch the machine config like Talos does (retry transport errors; any HTTP status is final).
STATUS=
BYTES=0
HOSTS=
if [ -z "$CONFIG_URL" ]; then
  fail "no talos.config= on the kernel command line"
elif [ -n "$IP" ]; then
  n=0
  while [ $n -lt 3 ]; do
    n=$((n + 1))
    rm -f /tmp/config.yaml
    # NB: busybox 1.35's "wget -T" segfaults; bound it with timeout instead.
    timeout 20 wget -S -O /tmp/config.yaml "$CONFIG_URL" >/tmp/wget.log 2>&1
    STATUS=$(grep -o 'HTTP/1\.[01] [0-9][0-9][0-9]' /tmp/wget.log | tail -1 | cut -d' ' -f2)
    [ -n "$STATUS" ] && break
    sleep 2
  done
  [ -f /tmp/config.yaml ] && BYTES=$(wc -c < /tmp/config.yaml)
  HOSTS=$(sed -n 's/^[[:space:]]*hostname:[[:space:]]*["'\'']*\([^"'\'' ]*\).*/\1/p' /tmp/config.yaml 2>/dev/null | tr '\n' ' ')
  if [ "$STATUS" != 200 ]; then
    fail "config http=${STATUS:-none} ($(grep -i -m1 -e error -e 'HTTP/' /tmp/wget.log))"
  elif [ "$BYTES" -eq 0 ]; then
    fail "config http=200 but empty"
  elif ! grep -q '^version: v1alpha1' /tmp/config.yaml; then
    fail "config http=200 bytes=$BYTES but no 'version: v1alpha1' document"
  elif ! echo " $HOSTS " | grep -q " $EXPECT_HOST "; then
    fail "config hostname='$HOSTS' expected=$EXPECT_HOST"
  else
    say "PASS config http=200 bytes=$BYTES hostname=$EXPECT_HOST"
  fi
fi

# Talos v1.14: an UnattendedInstallConfig document carries the install settings (and Talos then runs
# no install sequence). Read its disk selector, installer image and reboot flag; refuse
# .machine.install beside it, as Talos's V1Alpha1ConflictValidate does.
V14=
DISK=/dev/vda
if [ -f /tmp/config.yaml ] && grep -q '^kind:[[:space:]]*UnattendedInstallConfig[[:space:]]*$' /tmp/config.yaml; then
  V14=yes
  # One document at a time: in UnattendedInstallConfig, match:/image:/reboot:; in the v1alpha1 one,
  # an `install:` key at the indentation of machine:'s children.
  awk 'function flush() { u = 0; v = 0; in_m = 0; ind = "" }
    BEGIN { flush() }
    /^---/ { flush(); next }
    /^kind:[[:space:]]*UnattendedInstallConfig[[:space:]]*$/ { u = 1 }
    /^version:[[:space:]]*v1alpha1/ { v = 1 }
    u && /^[[:space:]]+match:/ { x = $0; sub(/^[[:space:]]+match:[[:space:]]*/, "", x); print "MATCH=" x }
    u && /^[[:space:]]+image:/ { x = $0; sub(/^[[:space:]]+image:[[:space:]]*/, "", x); gsub(/["\047]/, "", x); print "IMAGE=" x }
    u && /^reboot:/ { x = $0; sub(/^reboot:[[:space:]]*/, "", x); print "REBOOT=" x }
    /^[a-z]/ { in_m = ($0 ~ /^machine:/); ind = ""; next }
    in_m && ind == "" && /^[[:space:]]+[a-zA-Z]/ { ind = $0; sub(/[^[:space:]].*/, "", ind) }
    in_m && ind != "" && index($0, ind "install:") == 1 { print "CONFLICT=.machine.install" }' /tmp/config.yaml > /tmp/v14.env
  MATCH=$(sed -n 's/^MATCH=//p' /tmp/v14.env | head -1)
  IMAGE=$(sed -n 's/^IMAGE=//p' /tmp/v14.env | head -1)
  REBOOT=$(sed -n 's/^REBOOT=//p' /tmp/v14.env | head -1)
  CONFLICT=$(sed -n 's/^CONFLICT=//p' /tmp/v14.env | head -1)
  DISK=$(echo "$MATCH" | sed -n 's/^disk\.dev_path[[:space:]]*==[[:space:]]*"\([^"]*\)"[[:space:]]*$/\1/p')
  case "$REBOOT" in true) WILL_REBOOT=yes ;; false) WILL_REBOOT=no ;; *) [ -n "$IMAGE" ] && WILL_REBOOT=yes || WILL_REBOOT=no ;; esac
  say "v1.14 UnattendedInstallConfig match=${MATCH:-<none>} disk=${DISK:-<none>} image=${IMAGE:-<none>} reboot=$WILL_REBOOT"
  [ -z "$CONFLICT" ] || fail "config refused as Talos v1.14 would: UnattendedInstallConfig config is incompatible with v1alpha1 config (.machine.install)"
  [ -n "$DISK" ] || fail "the stand-in evaluates only disk.dev_path == \"…\" selectors, not: ${MATCH:-<no diskSelector.match>}"
  [ "$WILL_REBOOT" = yes ] || fail "Talos v1.14 would not reboot after this install: UnattendedInstallConfig has neither reboot: true nor installer.image"
fi

# "Install": write the stand-in boot sector to the disk, if there is one; booted by UEFI, also an
# EFI system partition with the stand-in's EFI loader.
INSTALLED=
if [ "$RESULT" = PASS ]; then
  i=0
  while [ ! -b "$DISK" ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
  if [ ! -b "$DISK" ]; then
    # Talos v1.14 logs nothing when its selector matches no disk; the stand-in says so on the console.
    say "no $DISK: nothing to install to"
    [ -z "$V14" ] || fail "v1.14 selector matched no disk ($DISK): Talos would log nothing and wait"
  elif [ -d /sys/firmware/efi ]; then
    if dd if=/disk-uefi.img of="$DISK" bs=64k conv=fsync 2>/tmp/dd.err; then
      INSTALLED=yes
      say "installed boot sector and EFI system partition on $DISK"
    else
      fail "cannot write $DISK: $(tail -1 /tmp/dd.err)"
    fi
  elif dd if=/mbr.bin of="$DISK" bs=512 count=1 conv=fsync 2>/dev/null; then
    INSTALLED=yes
    say "installed boot sector on $DISK"
  else
    fail "cannot write $DISK"
  fi
fi

# Kernel log: a KmsgLogConfig document in the config wins over talos.logging.kernel=, as in Talos.
DOC_KLOG=$(awk 'function flush() { if (k && u != "") { print u; found = 1 } k = 0; u = "" }
  found { next }
  /^---/ { flush(); next }
  /^kind:[[:space:]]*KmsgLogConfig[[:space:]]*$/ { k = 1 }
  /^url:/ { u = $0; sub(/^url:[[:space:]]*/, "", u); gsub(/["\047]/, "", u) }
  END { if (!found) flush() }' /tmp/config.yaml 2>/dev/null | head -1)
say "config KmsgLogConfig url=${DOC_KLOG:-<none>}"
[ -n "$DOC_KLOG" ] && KLOG_URL=$DOC_KLOG
if [ -z "$KLOG_URL" ]; then
  say "kmsg skipped: no talos.logging.kernel= and no KmsgLogConfig"
else
  proto=${KLOG_URL%%://*}; rest=${KLOG_URL#*://}; hostport=${rest%%/*}
  khost=${hostport%:*}; kport=${hostport##*:}
  if [ "$proto" != tcp ]; then
    say "kmsg skipped: $proto:// is not supported by the stand-in (busybox nc is TCP only)"
  else
    seq=0
    line() {
      seq=$((seq + 1))
      printf '{"clock":%s,"facility":"daemon","msg":"[talos] %s","priority":"%s","seq":%s,"talos-level":"%s","talos-time":"%s"}\n' \
        "$(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)" "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')" "$2" "$seq" "$2" "$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)"
    }
    # Talos v1.14's install controller, as machined writes its lines: zap's console encoding
    # without time and level, the fields as JSON (`message {"component": …, "controller": …}`).
    controller() { line "$1 {\"component\": \"controller-runtime\", \"controller\": \"runtime.UnattendedInstallController\"$2}" "${3:-warning}"; }
    BOOT_IMAGE=factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.14.0
    {
      line "mbe2e stand-in: machine config loaded (hostname $EXPECT_HOST, $BYTES bytes)" info
      if [ -n "$V14" ] && [ -n "$INSTALLED" ]; then
        [ -n "$IMAGE" ] || controller "installer image not specified in config, using image from boot entry" ", \"image\": \"$BOOT_IMAGE\""
        controller "installing Talos" ", \"disk\": \"$DISK\", \"image\": \"${IMAGE:-$BOOT_IMAGE}\""
        controller "install successful"
        if [ "$WILL_REBOOT" = yes ]; then controller "requesting reboot after successful install"; else controller "not rebooting after successful install (reboot disabled)"; fi
      elif [ -n "$V14" ] && [ "$RESULT" != PASS ]; then
        [ -b "$DISK" ] && controller "controller failed" ", \"error\": \"failed to run installer: mbe2e stand-in: install refused\"" error
      elif [ "$RESULT" = PASS ]; then
        line "task install (1/1): starting" info
        line "install successful" info
      else
        line "mbe2e stand-in: install failed" error
      fi
      line "mbe2e stand-in: powering off" info
    } > /tmp/kmsg.jsonl
    # busybox nc does not hang up at the end of its input while the receiver keeps the connection
    # open (as Talos's own sender does too): connect within 2 s (-w), then cut it at 3 s. Killed by
    # busybox timeout (143 = SIGTERM; 124 for coreutils') after a successful connect means the lines
    # went out; a refused or timed-out connect exits 1 before that.
    timeout 3 nc -w 2 "$khost" "$kport" < /tmp/kmsg.jsonl
    rc=$?
    if [ $rc = 0 ] || [ $rc = 124 ] || [ $rc = 143 ]; then
      say "kmsg streamed $(wc -l < /tmp/kmsg.jsonl) lines to $KLOG_URL"
    else
      fail "kmsg streaming to $KLOG_URL failed (nc exit $rc)"
    fi
  fi
fi

say "RESULT $RESULT uptime=$(uptime_s)s"
say "powering off"
sync
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
while :; do sleep 60; done
EOS
chmod +x "$R/init"

# The kernel's XZ decoder wants CRC32 (not xz's default CRC64) and a modest dictionary.
( cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) | xz -9 --check=crc32 --lzma2=dict=1MiB > "$WORK/initramfs-amd64.xz"

NEW="$WORK/out"
mkdir -p "$NEW"
cp "$KDIR/vmlinuz" "$NEW/vmlinuz-amd64"
mv "$WORK/initramfs-amd64.xz" "$NEW/initramfs-amd64.xz"
echo "$KPKG" > "$NEW/kernel-package"
rm -rf "$OUT"
mv "$NEW" "$OUT"
# Older builds (another script version, another kernel) are of no use any more.
for d in "$CACHE"/standin-* "$CACHE"/kernel-*; do
  if [ -d "$d" ] && [ "$d" != "$OUT" ] && [ "$d" != "$KDIR" ]; then rm -rf "$d"; fi
done
log "built $OUT: $(ls -l "$OUT" | awk 'NR > 1 { printf "%s %s  ", $9, $5 }')"
