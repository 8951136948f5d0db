#!/usr/bin/env bash
# Reproducibility test (issue 4): two independent builds of the example
# kernel chain must give byte-identical outputs.
#
# The two builds differ in everything that must not matter:
#   * the checkout's absolute path (two copies of this checkout, at paths of
#     different lengths and depths),
#   * the output base (fresh, at different paths),
#   * the time (they run one after the other),
#   * the environment: TZ, LC_ALL and umask.
# Build 1 may take what the machine's disk cache holds (in tests/run_all.sh:
# what `bazel test //...` built minutes before, in the checkout itself and
# its own output base, another path again): an earlier build, not a copy of
# build 2. Build 2 uses no cache at all and runs every action. So the test
# costs one kernel build, not two; with an empty disk cache it builds twice.
# REPRO_NO_CACHE=1 turns the disk cache off for build 1 too.
# Built: //examples/minikernel/... (modules, strip, leaves, tree, signed
# modules, vmlinux.unstripped and the patched vmlinux), //examples/linux/...
# (the real Linux 6.12 x86_64 kernel: vmlinux, modules, and its module hashes
# chains: stripped, xz-compressed, unstripped), //tools/modhash, and a
# generated package with gzip, xz and zstd compressed variants of the tree.
#
# Compared: every file any action wrote (from Bazel's execution log), the
# deliverables also hashed on disk with SHA-256: root record, manifest,
# proofs, leaves, stripped, signed and compressed modules, vmlinux.unstripped,
# the patched vmlinux and the modhash tool (target and exec configuration).
# Prints a table of the deliverables (SHA-256, identical/DIFFERENT) and a
# summary of all other action outputs; fails on any difference.
#
# Usage: tests/repro/repro_test.sh
# Environment: KEEP_TMP=1 keeps the temporary directory (for debugging).
set -euo pipefail

readonly name=repro_test
# shellcheck source=tests/lib/scratch_builds.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/scratch_builds.sh"
trap 'scratch_finish $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

src1="$tmp/a/modhash"
src2="$tmp/second-build/some/deeper/path/to/the/checkout"
ob1="$tmp/ob1"
ob2="$tmp/output-base-2"
output_bases=("$ob1" "$ob2")
src_of=(["$ob1"]="$src1" ["$ob2"]="$src2")
copy_checkout "$src1"
copy_checkout "$src2"

add_minikernel_compression_packages tests/repro/generated

# The real kernel too: the x86_64 kernel build (vmlinux, bzImage, modules,
# kernel.buildinfo), its external modules, its chains (stripped, compressed,
# unstripped), the bzImage made from the vmlinux with the root, and the
# installed module tree with depmod's files: a key-free, reproducible
# kernel. (One architecture: every kernel build here costs minutes.)
linux=(//examples/linux:x86_64 //examples/linux:x86_64_hashes //examples/linux:x86_64_hashes_vmlinux
  //examples/linux:x86_64_hashes_xz //examples/linux:x86_64_hashes_unstripped_vmlinux
  //examples/linux:x86_64_images //examples/linux:x86_64_modules_install //examples/linux:x86_64_modules_install_xz)
targets=(//examples/minikernel/... "${linux[@]}" //tools/modhash //tests/repro/generated/...)

# run_build N SRC OB TZ LC_ALL UMASK CACHE_FLAGS...
run_build() {
  local n="$1" src="$2" ob="$3" tz="$4" lc="$5" mask="$6" t0=$SECONDS
  shift 6
  say "build $n: checkout $src, output base $ob, TZ=$tz LC_ALL=$lc umask $mask, cache flags: ${*:-none}"
  (
    umask "$mask"
    export TZ="$tz" LC_ALL="$lc"
    bazel_in "$src" "$ob" build --noshow_progress --remote_cache= "$@" \
      --execution_log_json_file="$tmp/log$n.json" "${targets[@]}"
  ) 2>"$tmp/build$n.err" || { tail -n 60 "$tmp/build$n.err" >&2; die "build $n failed"; }
  grep -E '^INFO: (Elapsed|[0-9]+ processes)' "$tmp/build$n.err" || true
  echo "build $n: $((SECONDS - t0))s"
}

# Build 1: the disk cache of .bazelrc, as Bazel resolves it (its "~" is
# the user's home directory from the password database, not $HOME).
cache1=()
[[ -n "${REPRO_NO_CACHE:-}" ]] && cache1=(--disk_cache=)
run_build 1 "$src1" "$ob1" UTC C 022 "${cache1[@]}"
# Not needed any more: free the memory of its server.
stop_server "$ob1"
run_build 2 "$src2" "$ob2" Pacific/Kiritimati C.UTF-8 002 --disk_cache=
stop_server "$ob2"

# --------------------------------------------------------------------------
# Compare

say "comparing the outputs of build 1 and build 2"
compare() { python3 - "$tmp/log1.json" "$ob1/execroot/modhash" "$tmp/log2.json" "$ob2/execroot/modhash"; }
compare <<'EOF' || die "the two builds are not byte-identical (see above)"
import hashlib, json, re, sys

log1, root1, log2, root2 = sys.argv[1:5]

def spawns(path):
    text = open(path).read()
    dec = json.JSONDecoder()
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        spawn, i = dec.raw_decode(text, i)
        yield spawn

def outputs(path):
    """path -> (mnemonic, SHA-256 digest Bazel recorded) of every action output."""
    out = {}
    for s in spawns(path):
        for o in s.get("actualOutputs", []):
            out[o["path"]] = (s.get("mnemonic", "?"), o.get("digest", {}).get("hash", ""))
    return out

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

o1, o2 = outputs(log1), outputs(log2)
hits = {}
for n, log in ((1, log1), (2, log2)):
    all_spawns = list(spawns(log))
    hits[n] = sum(1 for s in all_spawns if s.get("remoteCacheHit"))
    print("build %d: %d actions, %d of them from the disk cache (built earlier, elsewhere)" % (n, len(all_spawns), hits[n]))
if hits[2]:
    sys.exit("build 2 took outputs from a cache: it must build everything itself")

# The deliverables: everything the module hashes rules and the kernel link
# wrote, and the linked Go binaries (the modhash tool); the compressed
# variants only with their compressed modules.
def deliverable(path, mnemonic):
    if mnemonic in ("GoLink", "KernelLink", "KernelBuild", "KernelImages", "KernelModule", "KernelModulesInstall"):
        return True
    if not mnemonic.startswith("ModuleHash"):
        return False
    if "/tests/repro/generated/" in path:
        return mnemonic == "ModuleHashCompress"
    return True

def short(path):
    return re.sub(r"^bazel-out/k8-fastbuild/bin/", "", path)

rows, others, problems = [], [], []
# kernel_build's objtree.tar is an intermediate, not a deliverable: the
# object tree that kernel_images and kernel_module run make over again. It
# holds kbuild's host tools (objtool is built with -g), whose bytes carry the
# build's path; what is made from it (the bzImage with the root, the
# external modules) is compared like every deliverable.
intermediates = [p for p in set(o1) | set(o2) if p.endswith("/objtree.tar")]
for p in sorted(intermediates):
    print("not compared (an intermediate holding host tools built with their path): %s" % short(p))
for path in sorted(set(o1) | set(o2)):
    if path in intermediates:
        continue
    m = (o1.get(path) or o2.get(path))[0]
    if path not in o1 or path not in o2:
        problems.append("%s: written only by build %d" % (path, 1 if path in o1 else 2))
        continue
    if deliverable(path, m):
        h1, h2 = sha256("%s/%s" % (root1, path)), sha256("%s/%s" % (root2, path))
        if h1 != o1[path][1] or h2 != o2[path][1]:
            problems.append("%s: on disk differs from the execution log" % path)
        rows.append((m, path, h1, h2))
    else:
        others.append((m, path, o1[path][1], o2[path][1]))

def kind(m, p):
    order = ["ModuleHashTree", "ModuleHashLeaf", "ModuleHashStrip", "ModuleHashSign",
             "ModuleHashCompress", "ModuleHashCheck", "KernelLink", "KernelBuild", "KernelModule",
             "ModuleHashPatch", "KernelImages", "KernelModulesInstall", "GoLink"]
    return (order.index(m) if m in order else len(order), p)

rows.sort(key=lambda r: kind(r[0], r[1]))
w = max(len(short(r[1])) for r in rows) if rows else 10
print("%-*s  %-64s  %s" % (w, "file", "SHA-256 (build 1)", "build 2"))
print("-" * (w + 2 + 64 + 2 + 9))
different = 0
for m, p, h1, h2 in rows:
    same = h1 == h2
    different += not same
    print("%-*s  %s  %s" % (w, short(p), h1, "identical" if same else "DIFFERENT: " + h2))
print("-" * (w + 2 + 64 + 2 + 9))
print("%d files, %d identical, %d DIFFERENT" % (len(rows), len(rows) - different, different))

odiff = [o for o in others if o[2] != o[3]]
by_m = {}
for m, p, a, b in others:
    n, d = by_m.get(m, (0, 0))
    by_m[m] = (n + 1, d + (a != b))
print("\nAll other action outputs (SHA-256 from the execution logs):")
for m in sorted(by_m):
    n, d = by_m[m]
    print("  %-26s %4d files, %s" % (m, n, "all identical" if d == 0 else "%d DIFFERENT" % d))
for m, p, a, b in odiff:
    print("  DIFFERENT: %s (%s): %s vs %s" % (p, m, a, b))

# Every kind of deliverable must have been compared.
need = {
    "root record": r"/root\.bin$",
    "manifest": r"/manifest\.json$",
    "proof": r"/proofs/[^/]+\.merkle$",
    "signed module": r"/signed/[^/]+$",
    "compressed module": r"/compressed/[^/]+\.(gz|xz|zst)$",
    "patched vmlinux": r"_vmlinux$",
    "modhash tool": r"/tools/modhash/.*modhash$",
    "real kernel vmlinux (as linked)": r"/examples/linux/x86_64/vmlinux$",
    "real kernel module": r"/examples/linux/x86_64/lib/[^/]+\.ko$",
    "real kernel with the root": r"/examples/linux/x86_64_hashes_vmlinux$",
    "real kernel signed module": r"/examples/linux/x86_64_hashes/signed/[^/]+\.ko$",
    "real kernel proof": r"/examples/linux/x86_64_hashes/proofs/[^/]+\.merkle$",
    "real kernel build-info": r"/examples/linux/x86_64/kernel\.buildinfo$",
    "real kernel bzImage (as linked)": r"/examples/linux/x86_64/arch/x86/boot/bzImage$",
    "real kernel bzImage with the root": r"/examples/linux/x86_64_images/bzImage$",
    "external module": r"/examples/linux/modhash_crcuser/modhash_crcuser\.ko$",
    "installed module tree": r"/examples/linux/x86_64_modules_install",
}
for what, pat in need.items():
    if not any(re.search(pat, r[1]) for r in rows):
        problems.append("no %s among the outputs" % what)
for p in problems:
    print("problem: " + p)
if different or odiff or problems:
    sys.exit(1)
EOF
say "the toolchain both builds used (examples/linux x86_64/kernel.buildinfo, identical in both)"
sed -n '/^Build-Environment:/,/^Environment:/p' "$ob1/execroot/modhash/bazel-out/k8-fastbuild/bin/examples/linux/x86_64/kernel.buildinfo" | sed '$d'
grep -E '^(Source|Kernel-Release)' "$ob1/execroot/modhash/bazel-out/k8-fastbuild/bin/examples/linux/x86_64/kernel.buildinfo"
echo "OK: the two builds wrote byte-identical files"
