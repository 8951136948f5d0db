#!/usr/bin/env bash
# Debian's own kernel judges modhash audit. Boots Debian's
# linux-image-6.1.0-50-amd64 (6.1.176-1, fetched and checked by SHA-256 by
# tests/lib/debian_kernel.sh) in QEMU (TCG) with module.sig_enforce=1 and an
# initramfs of busybox (Debian's busybox-static) and:
#
#   - the package's own lib/modules tree, cut down to the modules below
#     (TARGETS) and their dependencies, with the index files that Debian's
#     depmod writes at installation (modules.dep, ...; the package ships
#     none): each target is loaded with busybox modprobe;
#   - cases made from md4.ko and rmd160.ko of the same package (no
#     dependencies, not among the targets), loaded with busybox insmod
#     before any modprobe: the module as shipped; one bit flipped in its
#     code (.text); in the RSA signature; in the signer's serial number
#     (inside the PKCS#7 SignerInfo); its PKCS#7 blob cut to half, once
#     with the trailer's sig_len saying so and once with the old sig_len;
#     re-signed with the committed test key (examples/linux/testkeys;
#     openssl cms with scripts/sign-file's options: detached, no
#     certificates, no signed attributes, SHA-256, issuer and serial);
#     stripped of its signature; and rmd160's code with md4's signature.
#
# The init (a busybox sh script) prints one MODHASH-CASE line per load (the
# loader's exit status, its message, whether the module is loaded, the
# kernel log it caused), then the loaded modules. The kernel's verdict of
# each file, in audit's words (accepted; ENODATA, ENOKEY, ENOPKG when the
# log says "Loading of ... is rejected" with EKEYREJECTED; otherwise the
# errno's name), is printed next to `modhash audit -json`'s on the same
# bytes (verdict, errno, reason); any difference fails the test.
#
# MODHASH_DEBIAN_BOOT_FORGE=CASE (a case name, or a module path of the
# tree) edits audit's JSON before the comparison: that one verdict is
# replaced by a wrong one, and the test must fail (docs/cli.md).
#
# Runs only with MODHASH_DEBIAN_KERNEL_TEST=1 (it downloads 70 MB and boots
# a kernel); tests/run_all.sh sets it. One boot: 22-56 s under TCG on two
# cores shared with other work; the test about a minute in all.
#
# usage: MODHASH_DEBIAN_KERNEL_TEST=1 tests/audit/debian_boot_test.sh
# env:   MODHASH_DEBIAN_KERNEL_CACHE  where the package is kept
#                                     (default ~/.cache/modhash/debian-kernel)
#        MODHASH_DEBIAN_BOOT_KEEP=DIR keep the initramfs, serial log and
#                                     JSON there
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
name=debian_boot_test
die() { printf '%s: FAIL: %s\n' "$name" "$*" >&2; exit 1; }
if [[ "${MODHASH_DEBIAN_KERNEL_TEST:-0}" != 1 ]]; then
	echo "$name: skipped (set MODHASH_DEBIAN_KERNEL_TEST=1: it downloads Debian's linux-image-6.1.0-50-amd64 and boots it)"
	exit 0
fi
PATH=$PATH:/usr/sbin:/sbin # depmod
for tool in go apt-get apt-cache dpkg-deb sha256sum jq depmod openssl readelf cpio od qemu-system-x86_64; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
busybox=/bin/busybox
[[ -x "$busybox" ]] || die "$busybox not found (Debian package busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked: install busybox-static"

# shellcheck source=../lib/debian_kernel.sh
. tests/lib/debian_kernel.sh
debian_kernel_fetch "${MODHASH_DEBIAN_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modhash/debian-kernel}"
rel=$debian_kernel_release

tmp=$(mktemp -d "${TMPDIR:-/tmp}/modhash-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/modhash" ./tools/modhash

# Modules that load without hardware (virtual network devices, block
# devices in RAM, filesystems, NLS tables, crypto and library code).
TARGETS=(dummy veth bridge 8021q tun macvlan vxlan loop zram brd isofs udf vfat msdos fuse overlay
	nls_utf8 nls_cp437 nls_iso8859-1 crc7 crc8 des_generic blowfish_generic twofish_generic
	serpent_generic camellia_generic cast5_generic wp512 michael_mic xxhash_generic
	squashfs minix ext4 ipip sch_netem)
BASE=kernel/crypto/md4.ko    # the cases are made from it
OTHER=kernel/crypto/rmd160.ko # whose code gets md4's signature

# Debian's depmod, as the package's postinst runs it, over the package's
# modules (a symbolic link: the package stays as extracted).
dep="$tmp/depmod"
mkdir -p "$dep/lib/modules/$rel"
ln -s "$debian_modules/kernel" "$dep/lib/modules/$rel/kernel"
cp "$debian_modules"/modules.{order,builtin,builtin.modinfo} "$dep/lib/modules/$rel/"
depmod -b "$dep" "$rel" || die "depmod -b $dep $rel failed"

# The initramfs.
root="$tmp/root"
mods="$root/lib/modules/$rel"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,cases} "$mods"
cp "$busybox" "$root/bin/busybox"
for f in "$dep/lib/modules/$rel"/modules.*; do cp "$f" "$mods/"; done
declare -A want=()
for t in "${TARGETS[@]}"; do
	pat=${t//[-_]/[-_]}
	line=$(grep -E "^kernel/([^:]*/)?${pat}\.ko:" "$mods/modules.dep") || die "$t: not in modules.dep"
	[[ $line != *$'\n'* ]] || die "$t: more than one module of that name in modules.dep"
	for m in ${line/:/}; do want[$m]=1; done
done
for m in "${!want[@]}"; do
	mkdir -p "$mods/$(dirname "$m")"
	cp "$debian_modules/$m" "$mods/$m"
done
ntree=${#want[@]}
((ntree >= 20)) || die "only $ntree modules in the tree"

# --- the cases ---------------------------------------------------------
for m in "$BASE" "$OTHER"; do
	grep -qx "$m:" "$mods/modules.dep" || die "$m: not in modules.dep, or has dependencies (insmod loads it alone)"
	[[ -z "${want[$m]:-}" ]] || die "$m: is in the tree (its cases must load before it)"
done
marker='~Module signature appended~'
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
be32() { local b; b=$(od -An -tu1 -j "$2" -N4 "$1"); set -- $b; echo $((($1 << 24) | ($2 << 16) | ($3 << 8) | $4)); }
flip() { # FILE OFFSET MASK
	local v; v=$(u8 "$1" "$2")
	printf "\\$(printf %03o $((v ^ $3)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# trailer SIGLEN: struct module_signature (PKCS#7: id_type 2) and the marker.
trailer() {
	printf '\0\0\2\0\0\0\0\0'
	printf "\\$(printf %03o $((($1 >> 24) & 255)))\\$(printf %03o $((($1 >> 16) & 255)))"
	printf "\\$(printf %03o $((($1 >> 8) & 255)))\\$(printf %03o $(($1 & 255)))"
	printf '%s\n' "$marker"
}
# split FILE PREFIX: PREFIX.code (the module), PREFIX.p7 (the PKCS#7 blob),
# PREFIX.sig (all that is appended: blob, struct, marker).
split_signed() {
	local f=$1 p=$2 size siglen code
	size=$(stat -c %s "$f")
	[[ "$(tail -c 28 "$f")" == "$marker" ]] || die "$f: no signature marker"
	[[ "$(u8 "$f" $((size - 28 - 10)))" == 2 ]] || die "$f: not a PKCS#7 signature"
	siglen=$(be32 "$f" $((size - 28 - 4)))
	code=$((size - 28 - 12 - siglen))
	head -c "$code" "$f" >"$p.code"
	tail -c +$((code + 1)) "$f" | head -c "$siglen" >"$p.p7"
	tail -c +$((code + 1)) "$f" >"$p.sig"
}
cases="$tmp/cases"
mkdir -p "$cases"
split_signed "$debian_modules/$BASE" "$tmp/base"
split_signed "$debian_modules/$OTHER" "$tmp/other"
siglen=$(stat -c %s "$tmp/base.p7")
codelen=$(stat -c %s "$tmp/base.code")
declare -A why=()
add() { why[$1]=$2; }

cp "$debian_modules/$BASE" "$cases/intact.ko"
add intact "md4.ko as Debian shipped it"

cp "$debian_modules/$BASE" "$cases/code-bit.ko"
text=$(readelf -SW "$tmp/base.code" | sed -n 's/.*] \.text  *PROGBITS  *[0-9a-f]*  *\([0-9a-f]*\)  *\([0-9a-f]*\) .*/\1 \2/p')
[[ -n "$text" ]] || die "$BASE: no .text"
read -r toff tsize <<<"$text"
flip "$cases/code-bit.ko" $((16#$toff + 16#$tsize / 2)) 0x10
add code-bit "one bit of .text flipped"

# The blob's layout, from openssl asn1parse: the signer's serial is the
# first INTEGER at depth 6 (SignerInfo > issuerAndSerialNumber), the
# signature the last OCTET STRING.
asn1() { openssl asn1parse -inform DER -in "$1" | tr -d ' ' | sed 's/:d=/ /; s/hl=/ /; s/l=/ /; s/prim:/ prim /; s/cons:/ cons /'; }
serial=$(asn1 "$tmp/base.p7" | awk '$2 == 6 && $6 ~ /^INTEGER/ { print $1 + $3 + $4 - 1; exit }')
sigval=$(asn1 "$tmp/base.p7" | awk '$6 ~ /^OCTETSTRING/ { o = $1 + $3 + int($4 / 2) } END { print o }')
[[ -n "$serial" && -n "$sigval" ]] || die "$BASE: cannot find the serial or the signature in its PKCS#7 blob"
cp "$debian_modules/$BASE" "$cases/serial-bit.ko"
flip "$cases/serial-bit.ko" $((codelen + serial)) 0x01
add serial-bit "lowest bit of the signer's serial number flipped (PKCS#7 offset $serial)"
cp "$debian_modules/$BASE" "$cases/signature-bit.ko"
flip "$cases/signature-bit.ko" $((codelen + sigval)) 0x01
add signature-bit "one bit in the middle of the RSA signature flipped (PKCS#7 offset $sigval)"

half=$((siglen / 2))
{ cat "$tmp/base.code"; head -c "$half" "$tmp/base.p7"; trailer "$half"; } >"$cases/pkcs7-cut.ko"
add pkcs7-cut "PKCS#7 blob cut to its first $half of $siglen bytes, sig_len $half"
{ cat "$tmp/base.code"; head -c "$half" "$tmp/base.p7"; trailer "$siglen"; } >"$cases/pkcs7-cut-len.ko"
add pkcs7-cut-len "PKCS#7 blob cut to its first $half bytes, sig_len still $siglen"

key=examples/linux/testkeys/TEST-ONLY-module-signing-key.pem
openssl cms -sign -binary -noattr -nocerts -outform DER -md sha256 \
	-signer "$key" -inkey "$key" -in "$tmp/base.code" -out "$tmp/testkey.p7" ||
	die "openssl cms -sign failed"
{ cat "$tmp/base.code" "$tmp/testkey.p7"; trailer "$(stat -c %s "$tmp/testkey.p7")"; } >"$cases/test-key.ko"
add test-key "re-signed with the committed test key (not in the kernel's keyring)"

cp "$tmp/base.code" "$cases/stripped.ko"
add stripped "signature stripped"

cat "$tmp/other.code" "$tmp/base.sig" >"$cases/other-bytes.ko"
add other-bytes "rmd160's code with md4's signature appended"

case_names=(intact code-bit signature-bit serial-bit pkcs7-cut pkcs7-cut-len test-key stripped other-bytes)
for c in "${case_names[@]}"; do cp "$cases/$c.ko" "$root/cases/$c.ko"; done

# --- the init ----------------------------------------------------------
{
	cat <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox --install -s /bin
		export PATH=/bin:/sbin
		ln -s /bin/modprobe /sbin/modprobe
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		mount -t devtmpfs devtmpfs /dev
		dmesg -c >/dev/null
		# one "MODHASH-CASE NAME rc=N loaded=0|1 out=... log=..." line per load
		run() {
			name=$1 mod=$2
			shift 2
			out=$(timeout 60 "$@" 2>&1)
			rc=$?
			loaded=0
			[ -d "/sys/module/$mod" ] && loaded=1
			log=$(dmesg -c | tr '\n' '|')
			echo "MODHASH-CASE $name rc=$rc loaded=$loaded out=$(echo "$out" | tr '\n' '|') log=$log"
		}
	EOF
	for c in "${case_names[@]}"; do
		mod=md4
		[[ $c == other-bytes ]] && mod=rmd160
		echo "run case:$c $mod insmod /cases/$c.ko"
	done
	for t in "${TARGETS[@]}"; do
		echo "run modprobe:$t ${t//-/_} modprobe $t"
	done
	cat <<-'EOF'
		while read -r m _; do echo "MODHASH-LOADED $m"; done </proc/modules
		echo "MODHASH-TAINT $(cat /proc/sys/kernel/tainted)"
		echo MODHASH-DONE
		reboot -f
	EOF
} >"$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 >"$tmp/initrd.cpio")

# --- the boot ----------------------------------------------------------
t0=$(date +%s.%N)
qstatus=0
timeout -s KILL 300 qemu-system-x86_64 -M q35 -m 512 -smp 1 -accel tcg -nographic -no-reboot \
	-kernel "$debian_vmlinuz" -initrd "$tmp/initrd.cpio" \
	-append "console=ttyS0 rdinit=/init panic=-1 quiet module.sig_enforce=1" \
	</dev/null >"$tmp/serial.log" 2>&1 || qstatus=$?
t1=$(date +%s.%N)
boot_s=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
tr -d '\r' <"$tmp/serial.log" | sed 's/.*\(MODHASH-\)/\1/' | grep '^MODHASH-' >"$tmp/lines" || true
if ! grep -qx MODHASH-DONE "$tmp/lines"; then
	tail -n 30 "$tmp/serial.log" >&2
	die "the init did not finish (QEMU exit status $qstatus after $boot_s s)"
fi
printf 'boot: %s s (QEMU exit status %s), initramfs %s bytes, %d modules in the tree, %d cases\n' \
	"$boot_s" "$qstatus" "$(stat -c %s "$tmp/initrd.cpio")" "$ntree" "${#case_names[@]}"

# --- the kernel's verdicts ----------------------------------------------
# busybox's messages: strerror(3) of glibc, or modutils' own words.
errno_of() {
	case "$1" in
	"Key was rejected by service") echo EKEYREJECTED ;;
	"Bad message") echo EBADMSG ;;
	"Required key not available") echo ENOKEY ;;
	"No data available") echo ENODATA ;;
	"Package not installed") echo ENOPKG ;;
	"invalid module format") echo ENOEXEC ;;
	"File exists") echo EEXIST ;;
	"Invalid argument") echo EINVAL ;;
	"unknown symbol in module, or unknown parameter") echo ENOENT ;;
	*) echo "?($1)" ;;
	esac
}
# verdict ERRNO LOG: the kernel's verdict in audit's words.
verdict_of() {
	case "$1:$2" in
	0:*) echo accepted ;;
	EKEYREJECTED:*"Loading of unsigned module is rejected"*) echo ENODATA ;;
	EKEYREJECTED:*"Loading of module with unavailable key is rejected"*) echo ENOKEY ;;
	EKEYREJECTED:*"Loading of module with unsupported crypto is rejected"*) echo ENOPKG ;;
	*) echo "$1" ;;
	esac
}
# The kernel log of one load, without timestamps, a message repeated at
# once counted (busybox tries finit_module, then init_module: a refusal
# is logged twice).
clean_log() {
	sed 's/\[ *[0-9.]*\] //g; s/|$//' | tr '|' '\n' | uniq -c |
		awk '{ n = $1; sub(/^ *[0-9]+ /, ""); printf "%s%s%s", (NR > 1 ? " | " : ""), $0, (n > 1 ? " (x" n ")" : "") }'
}
declare -A kverdict=() kerrno=() klog=()
field() { sed -n "s/.* $1=\(.*\) $2=.*/\1/p"; }
while IFS= read -r l; do
	[[ $l == MODHASH-CASE\ * ]] || continue
	n=${l#MODHASH-CASE }
	n=${n%% *}
	rc=$(sed -n 's/.* rc=\([0-9]*\) .*/\1/p' <<<"$l")
	loaded=$(sed -n 's/.* loaded=\([01]\) .*/\1/p' <<<"$l")
	out=$(field out log <<<"$l")
	log=$(sed -n 's/.* log=//p' <<<"$l" | clean_log)
	if [[ $n == case:* ]]; then
		c=${n#case:}
		if [[ $rc == 0 && $loaded == 1 ]]; then
			e=0
		else
			# insmod: can't insert '/cases/x.ko': Key was rejected by service
			e=$(errno_of "$(sed -n "s/.*can't insert '[^']*': \([^|]*\).*/\1/p" <<<"$out")")
			[[ $rc != 0 ]] || e="rc 0 but not loaded"
		fi
		kerrno[$c]=$e klog[$c]=$log
		kverdict[$c]=$(verdict_of "$e" "$log")
	else
		# modprobe: can't load module md4 (kernel/crypto/md4.ko): Key was rejected by service
		if [[ $rc != 0 ]]; then
			path=$(sed -n "s/.*can't load module [^ ]* (\([^)]*\)): .*/\1/p" <<<"$out")
			msg=$(sed -n "s/.*can't load module [^ ]* ([^)]*): \([^|]*\).*/\1/p" <<<"$out")
			[[ -n "$path" ]] || die "$n: modprobe exit $rc: $out"
			e=$(errno_of "$msg")
			kerrno[$path]=$e klog[$path]=$log
			kverdict[$path]=$(verdict_of "$e" "$log")
		fi
	fi
done <"$tmp/lines"
declare -A loaded_mod=()
while read -r _ m; do loaded_mod[$m]=1; done < <(grep '^MODHASH-LOADED ' "$tmp/lines")
for m in "${!want[@]}"; do
	n=$(basename "$m" .ko)
	n=${n//-/_}
	if [[ -n "${loaded_mod[$n]:-}" ]]; then
		[[ -z "${kverdict[$m]:-}" ]] || die "$m: loaded, and modprobe said ${kerrno[$m]}"
		kverdict[$m]=accepted kerrno[$m]=0 klog[$m]=""
	elif [[ -z "${kverdict[$m]:-}" ]]; then
		kverdict[$m]="not loaded, no error" kerrno[$m]="?" klog[$m]=""
	fi
done

# --- audit's verdicts on the same bytes -----------------------------------
# One run over a copy of the initramfs's tree with the case files in
# cases/ (the kernel image is read, and its keys found, once).
adir="$tmp/audit"
cp -r "$mods" "$adir"
cp -r "$cases" "$adir/cases"
a0=$(date +%s.%N)
astatus=0
"$tmp/modhash" audit -json "$debian_vmlinuz" "$adir" >"$tmp/audit.json" || astatus=$?
((astatus <= 1)) || die "modhash audit: exit status $astatus: $(cat "$tmp/audit.json")"
a1=$(date +%s.%N)
# One object per module: {key, verdict, errno, reason, type}; a case is
# keyed by its name.
jq -c '.modules[] | {key: (.module | if startswith("cases/") then ltrimstr("cases/") | rtrimstr(".ko") else . end),
	verdict, errno, reason, type: .signature_type}' "$tmp/audit.json" >"$tmp/audit.jsonl"
if [[ -n "${MODHASH_DEBIAN_BOOT_FORGE:-}" ]]; then
	jq -c --arg k "$MODHASH_DEBIAN_BOOT_FORGE" \
		'if .key == $k then (if .verdict == "accepted" then .verdict = "ENOKEY" | .errno = "EKEYREJECTED" else .verdict = "accepted" | .errno = "" end) | .reason = "forged by MODHASH_DEBIAN_BOOT_FORGE" else . end' \
		"$tmp/audit.jsonl" >"$tmp/audit.forged" && mv "$tmp/audit.forged" "$tmp/audit.jsonl"
	grep -q 'forged by' "$tmp/audit.jsonl" || die "MODHASH_DEBIAN_BOOT_FORGE=$MODHASH_DEBIAN_BOOT_FORGE names no case"
	echo "MODHASH_DEBIAN_BOOT_FORGE: audit's verdict of $MODHASH_DEBIAN_BOOT_FORGE replaced by a wrong one"
fi
declare -A averdict=() aerrno=() areason=() atype=()
# Fields joined by US (0x1f): tab is whitespace to read, which would
# merge an empty errno with its neighbours.
while IFS=$'\x1f' read -r k v e r t; do
	averdict[$k]=$v aerrno[$k]=$e areason[$k]=$r atype[$k]=$t
done < <(jq -r '[.key, .verdict, (.errno // "" | tostring), .reason, .type] | join("\u001f")' "$tmp/audit.jsonl")

# errno_matches KERNEL_ERRNO AUDIT_ERRNO: audit's errno (what finit_module
# returns under enforcement; "" when the module loads) names the kernel's.
errno_matches() {
	[[ "$1" == 0 && -z "$2" ]] || [[ "$1" != 0 && "$1" == "$2" ]]
}

bad=0
printf '\n%-34s %-12s %-13s %-13s %-13s %-8s %-6s %s\n' "case" "kernel errno" "kernel" "audit" "audit errno" "type" "match" "kernel log | audit reason"
row() { # KEY LABEL
	local k=$1 label=$2 match=yes
	local kv=${kverdict[$k]:-no line} av=${averdict[$k]:-no verdict}
	if [[ "$kv" != "$av" ]] || ! errno_matches "${kerrno[$k]:-}" "${aerrno[$k]:-}"; then
		match=NO
		bad=$((bad + 1))
	fi
	printf '%-34s %-12s %-13s %-13s %-13s %-8s %-6s %s | %s\n' "$label" "${kerrno[$k]:-}" "$kv" "$av" \
		"${aerrno[$k]:--}" "${atype[$k]:-}" "$match" "${klog[$k]:--}" "${areason[$k]:-}"
}
for c in "${case_names[@]}"; do row "$c" "$c"; done
for m in $(printf '%s\n' "${!want[@]}" | sort); do row "$m" "$m"; done
echo
for c in "${case_names[@]}"; do printf '  %-14s %s\n' "$c" "${why[$c]}"; done
taint=$(sed -n 's/^MODHASH-TAINT //p' "$tmp/lines")
echo "kernel taint mask after the loads: $taint"
# E (8192): a module without a valid signature was loaded.
(((taint & 8192) == 0)) || die "the kernel is tainted E (taint $taint): it loaded a module without a valid signature"

if [[ -n "${MODHASH_DEBIAN_BOOT_KEEP:-}" ]]; then
	mkdir -p "$MODHASH_DEBIAN_BOOT_KEEP"
	cp "$tmp/serial.log" "$tmp/lines" "$tmp/initrd.cpio" "$tmp/audit.json" "$MODHASH_DEBIAN_BOOT_KEEP/"
	cp -r "$cases" "$MODHASH_DEBIAN_BOOT_KEEP/"
fi
printf 'time: %s s in all: the boot %s s, modhash audit %s s\n' "$SECONDS" "$boot_s" "$(awk "BEGIN { printf \"%.1f\", $a1 - $a0 }")"
total=$((${#case_names[@]} + ntree))
((bad == 0)) || die "$bad of $total kernel verdicts differ from audit's"
echo "debian kernel: $total cases, every kernel verdict equal to audit's"
