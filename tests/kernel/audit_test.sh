#!/usr/bin/env bash
# modhash audit on the project's own kernels: the boot image and an
# installed module tree made of what the module hashes rules signed, plus
# the refused cases of the boot tests (boottest/): every signed module,
# plain or compressed, accepted; one with a bit of the module flipped
# ENOKEY; an unsigned one ENODATA; one of a tree of another size ENOPKG;
# exit 1 with them, 0 without. The kernel as linked (36 zero bytes)
# accepts none of the signed modules. These are the verdicts the boot tests
# get from the kernel itself.
#
#   audit_test.sh MODHASH KERNEL ZERO_KERNEL UNSIGNED_MODULE ZERO_VERDICT \
#       -- SIGNED... -- COMPRESSED... -- OTHER_TREE_MODULE...
#
# ZERO_VERDICT is what the kernel as linked gives the signed modules as
# audit sees it: ENOPKG for an ELF vmlinux (its record says 0 levels), or
# "undecided" for a raw Image, whose zero record no scan can find. The
# first OTHER_TREE_MODULE is used.
set -euo pipefail
modhash=$1 kernel=$2 zero=$3 unsigned=$4 zero_verdict=$5
shift 5
group() { # the arguments after the next "--", up to the one after
	local -n out=$1
	out=()
	[[ ${args[$i]:-} == -- ]] || { echo "usage: see the header of $0" >&2; exit 2; }
	i=$((i + 1))
	while ((i < ${#args[@]})) && [[ ${args[$i]} != -- ]]; do
		out+=("${args[$i]}")
		i=$((i + 1))
	done
}
args=("$@")
i=0
group signed
group compressed
group others
other=${others[0]:-}
((${#signed[@]} > 0 && ${#compressed[@]} > 0)) && [[ -n $other ]] || { echo "no signed, compressed or other-tree modules given" >&2; exit 2; }

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/audit_test.XXXXXX")
fail=0
check() { # what got want
	if [[ "$2" == "$3" ]]; then
		echo "PASS: $1: $2"
	else
		echo "FAIL: $1: $2, want $3"
		fail=1
	fi
}

# The installed tree: kernel/ the signed modules, xz/ the compressed ones.
good=$tmp/good/lib/modules/test
mkdir -p "$good/kernel" "$good/xz"
for m in "${signed[@]}"; do
	cp "$m" "$good/kernel/"
	echo "kernel/$(basename "$m")" >>"$good/modules.order"
done
for m in "${compressed[@]}"; do cp "$m" "$good/xz/"; done
chmod -R u+w "$tmp/good"

# The same, with the refused cases.
all=$tmp/all/lib/modules/test
mkdir -p "$(dirname "$all")"
cp -r "$good" "$all"
mkdir -p "$all/extra"
cp "${signed[0]}" "$all/extra/module-bit.ko"
chmod u+w "$all/extra/module-bit.ko"
size=$(stat -c %s "$all/extra/module-bit.ko")
at=$((size / 3)) # inside the module, well before its proof
byte=$(od -An -tu1 -j "$at" -N1 "$all/extra/module-bit.ko" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 16)))" | dd of="$all/extra/module-bit.ko" bs=1 seek="$at" conv=notrunc status=none
cp "$unsigned" "$all/extra/unsigned.ko"
cp "$other" "$all/extra/other-tree.ko"
chmod -R u+w "$tmp/all"

verdict() { # report.json module -> verdict
	jq -r --arg m "$2" '.modules[] | select(.module == $m) | .verdict' "$1"
}

status=0
"$modhash" audit -json "$kernel" "$all" >"$tmp/all.json" || status=$?
check "exit status with the refused cases" "$status" 1
n=${#signed[@]}
check "signed modules accepted" "$(jq '[.modules[] | select((.module | startswith("kernel/")) and .verdict == "accepted")] | length' "$tmp/all.json")" "$n"
check "compressed modules accepted" "$(jq '[.modules[] | select((.module | startswith("xz/")) and .verdict == "accepted" and .compressed == "xz")] | length' "$tmp/all.json")" "${#compressed[@]}"
check "module-bit" "$(verdict "$tmp/all.json" extra/module-bit.ko)" ENOKEY
check "unsigned" "$(verdict "$tmp/all.json" extra/unsigned.ko)" ENODATA
check "other-tree" "$(verdict "$tmp/all.json" extra/other-tree.ko)" ENOPKG
check "release 6.12.*" "$(jq -r .release "$tmp/all.json" | grep -cE '^6\.12\.' || true)" 1
# Every position is claimed twice (the plain and the xz copy of a module),
# the first signed module's a third time by module-bit.
check "positions claimed by more than one proof" "$(jq '.shared_positions | length' "$tmp/all.json")" "$n"
check "module-bit claims its original's position" "$(jq '[.shared_positions[] | select(.modules | index("extra/module-bit.ko")) | .modules | length] | .[0]' "$tmp/all.json")" 3
check "missing from modules.order" "$(jq '.missing | length' "$tmp/all.json")" 0

status=0
"$modhash" audit "$kernel" "$good" >"$tmp/good.txt" || status=$?
check "exit status, signed modules only" "$status" 0
check "summary" "$(grep -c '^every module would load$' "$tmp/good.txt")" 1
sed -n '/^kernel: /,$p' "$tmp/good.txt"

status=0
"$modhash" audit -json "$zero" "$good" >"$tmp/zero.json" || status=$?
check "exit status, the kernel as linked" "$status" 1
check "the kernel as linked: signed modules $zero_verdict" "$(jq --arg v "$zero_verdict" '[.modules[] | select(.verdict == $v)] | length' "$tmp/zero.json")" "$((n + ${#compressed[@]}))"

exit $fail
