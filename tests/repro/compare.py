"""Compares the outputs of two builds of the reproducibility targets.

Usage: compare.py [--minikernel-only] LOG1 EXECROOT1 LOG2 EXECROOT2

LOGn is build n's --execution_log_json_file, EXECROOTn its execroot. Every
file an action wrote is compared (the deliverables also hashed on disk);
test actions (TestRunner: a test's log and result, made by one build only)
are not. Prints a table and `N files, N identical, 0 DIFFERENT`; exits 1 on
any difference, a missing output or a missing kind of deliverable, and
when build 2 took anything from a cache. Used by tests/repro/repro_test.sh
(two local builds) and tests/remote_exec/remote_exec_test.sh (build 2
remote).
"""
import hashlib, json, re, sys

args = sys.argv[1:]
# --minikernel-only: only //examples/minikernel etc. were built (a quick run).
minikernel_only = "--minikernel-only" in args
args = [a for a in args if a != "--minikernel-only"]
log1, root1, log2, root2 = args

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

# The exec configuration's output directory is named after a hash of its
# options, the execution platform among them: a remote build
# (--config=remote-exec, //bazel:remote_exec) writes its tools below another
# k8-opt-exec-HASH than a local one. Its outputs are compared under one name.
EXEC_DIR = re.compile(r"^bazel-out/k8-opt-exec-[0-9A-F]+/")

def outputs(path):
    """Output path (exec directory renamed) -> (mnemonic, SHA-256 digest
    Bazel recorded, path in the execroot) of every action output."""
    out = {}
    for s in spawns(path):
        if s.get("mnemonic") == "TestRunner":
            continue
        for o in s.get("actualOutputs", []):
            p = o["path"]
            out[EXEC_DIR.sub("bazel-out/k8-opt-exec-*/", p)] = (s.get("mnemonic", "?"), o.get("digest", {}).get("hash", ""), p)
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
        h1, h2 = sha256("%s/%s" % (root1, o1[path][2])), sha256("%s/%s" % (root2, o2[path][2]))
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
if minikernel_only:
    need = {k: v for k, v in need.items() if "/examples/linux/" not in v}
for what, pat in need.items():
    if not any(re.search(pat, r[1]) for r in rows):
        problems.append("no %s among the outputs" % what)
for p in problems:
    print("problem: " + p)
# One line for the callers' summaries.
print("compared: %d outputs, %d identical" % (len(rows) + len(others), len(rows) - different + len(others) - len(odiff)))
if different or odiff or problems:
    sys.exit(1)
