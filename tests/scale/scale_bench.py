#!/usr/bin/env python3
"""Helpers of tests/bench/bazel_scale_bench.sh (Python 3 standard library only).

  scale_bench.py generate DIR [--modules N] [--seed S] [--variants V]
      Writes a Bazel package of N synthetic kernel modules into DIR (which
      must hold no BUILD file yet; the caller may have created it to claim
      it): DIR/<kbuild path>/modNNNN.ko, DIR/modules.order and,
      last and atomically, DIR/BUILD.bazel with a kernel_module_hashes()
      named "module_hashes" plus V copies named "variant_<i>" (the same
      modules under other output paths: a cold run of the rules' actions
      without a new output base). Prints a one-line JSON summary.

  scale_bench.py rewrite DIR/path/modNNNN.ko [--seed S]
      Overwrites a module with other random bytes of the same size.

  scale_bench.py profile FILE [--title T]
      Sums a Bazel JSON trace profile (best taken with --noslim_profile, so
      that short events are not merged away): time per action kind (by the
      first words of its progress message), the per-spawn sandbox and
      subprocess events, and file digesting ("VFS md5" events, recorded with
      --experimental_profile_additional_tasks=vfs_md5). Prints a table.

  scale_bench.py events FILE [--title T]
      A JSON trace profile's events summed by category and name (paths and
      numbers dropped): the 12 largest, with count, total and mean.

  scale_bench.py critical FILE [--title T]
      Bazel's critical path from a JSON trace profile, on one line: each
      component's time and, for an action, how long Bazel checked its
      inputs, deleted its old outputs, ran it and digested its outputs.

  scale_bench.py execlog FILE
      Counts the spawns of a Bazel 4.2 --experimental_execution_log_file
      (delimited tools.protos.SpawnExec messages) per mnemonic and runner;
      prints JSON {"total": N, "mnemonics": {...}, "runners": {...},
      "runners_by_mnemonic": {mnemonic: {runner: N}}}.

Module sizes follow a log-normal distribution (median 57 000 bytes,
sigma 1.0) clipped to 10 kB .. 1 MB: mean about 97 kB like Debian 6.1's
4000-odd modules, most of them small, a few very large. Contents are
pseudo-random (Python's Mersenne Twister with a fixed seed, so every run
hashes the same bytes), behind an ELF64 relocatable identification, so that
nothing compresses or deduplicates trivially.
"""

import argparse
import json
import math
import os
import random
import sys

MIN_SIZE = 10_000
MAX_SIZE = 1_000_000
MEDIAN = 57_000
SIGMA = 1.0

# kbuild-like directories: (top, [subdirectories]); weights roughly like a
# distribution kernel (drivers/ dominates).
DIRS = [
    (30, "drivers/net/ethernet", ["intel", "broadcom", "mellanox/mlx5", "realtek", "amd", "qlogic", "chelsio", "marvell", "sfc", "cisco"]),
    (12, "drivers/net/wireless", ["ath/ath9k", "ath/ath10k", "intel/iwlwifi", "realtek/rtlwifi", "mediatek/mt76", "broadcom/brcm80211", "marvell/mwifiex"]),
    (12, "drivers/gpu/drm", ["amd/amdgpu", "i915", "nouveau", "radeon", "ast", "bridge", "panel", "tiny"]),
    (15, "drivers/media", ["usb/gspca", "usb/dvb-usb", "pci/cx23885", "i2c", "dvb-frontends", "tuners", "rc/keymaps", "platform"]),
    (8, "drivers/usb", ["serial", "storage", "gadget/function", "host", "misc", "class"]),
    (8, "drivers/scsi", ["", "aacraid", "lpfc", "qla2xxx", "megaraid", "mpt3sas"]),
    (6, "drivers/hid", ["", "usbhid", "i2c-hid", "intel-ish-hid"]),
    (6, "drivers/input", ["joystick", "keyboard", "mouse", "touchscreen", "misc"]),
    (6, "drivers/iio", ["adc", "accel", "gyro", "light", "pressure", "imu"]),
    (5, "drivers/infiniband", ["hw/mlx5", "hw/hfi1", "core", "ulp/ipoib"]),
    (6, "drivers/platform/x86", ["", "intel", "dell", "hp", "lenovo"]),
    (8, "sound", ["pci/hda", "usb", "soc/codecs", "soc/intel", "core", "drivers"]),
    (10, "fs", ["ext4", "xfs", "btrfs", "nfs", "nfsd", "cifs", "fat", "ntfs3", "udf", "ocfs2", "f2fs", "fuse"]),
    (12, "net", ["ipv4", "ipv6", "netfilter", "bluetooth", "sched", "mac80211", "wireless", "bridge", "sctp", "tipc"]),
    (4, "crypto", ["", "async_tx"]),
    (3, "lib", ["", "crypto", "reed_solomon"]),
    (3, "arch/x86", ["crypto", "kvm", "events"]),
]

ELF_IDENT = b"\x7fELF\x02\x01\x01\x00" + bytes(8)  # ELFCLASS64, little endian


def module_paths(n, rng):
    total = sum(w for w, _, _ in DIRS)
    paths = []
    for i in range(1, n + 1):
        r = rng.uniform(0, total)
        for w, top, subs in DIRS:
            r -= w
            if r <= 0:
                break
        sub = rng.choice(subs)
        d = "/".join(p for p in (top, sub) if p)
        paths.append("%s/mod%04d.ko" % (d, i))
    return paths


def module_size(rng):
    s = int(math.exp(rng.gauss(math.log(MEDIAN), SIGMA)))
    return min(max(s, MIN_SIZE), MAX_SIZE)


def module_bytes(rng, size):
    return ELF_IDENT + rng.randbytes(size - len(ELF_IDENT))


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


BUILD_HEAD = '''\
# Generated by tests/bench/bazel_scale_bench.sh ({n} synthetic modules,
# seed {seed}) and deleted when it ends; git-ignored (tests/scale/.gitignore).
# Every target is tagged "manual" so that `bazel build //...` and
# `bazel test //...` never build these 400 MB, even if a killed run left
# the package behind.
# gazelle:ignore

load("//rules:defs.bzl", "kernel_module_hashes")

# In the order of modules.order.
MODULES = [
'''

MACRO = '''
kernel_module_hashes(
    name = "{name}",
    modules = MODULES,
    modules_order = "modules.order",
    tags = ["manual"],
    vmlinux_unstripped = "{vmlinux}",
)
'''


def generate(args):
    os.makedirs(args.dir, exist_ok=True)
    if os.path.exists(os.path.join(args.dir, "BUILD.bazel")):
        sys.exit("scale_bench.py: %s already holds a package; not overwriting it" % args.dir)
    # Names and sizes from one generator, contents from another: sizes do
    # not depend on how many random bytes the contents took.
    rng = random.Random(args.seed)
    content = random.Random(args.seed + 1)
    paths = module_paths(args.modules, rng)
    total = 0
    sizes = []
    for p in paths:
        size = module_size(rng)
        full = os.path.join(args.dir, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(module_bytes(content, size))
        sizes.append(size)
        total += size
    # modules.order lists objects (.o); kbuild's order is not sorted.
    write_atomic(os.path.join(args.dir, "modules.order"),
                 "".join(p[:-len(".ko")] + ".o\n" for p in paths).encode())
    build = BUILD_HEAD.format(n=args.modules, seed=args.seed)
    build += "".join('    "%s",\n' % p for p in paths) + "]\n"
    names = ["module_hashes"] + ["variant_%d" % i for i in range(1, args.variants + 1)]
    for name in names:
        build += MACRO.format(name=name, vmlinux=args.vmlinux)
    # Last, so that a concurrent `bazel query //...` never sees a package
    # whose files are not all there.
    write_atomic(os.path.join(args.dir, "BUILD.bazel"), build.encode())
    sizes.sort()
    print(json.dumps({
        "modules": len(paths),
        "total_bytes": total,
        "mean_bytes": total // len(paths),
        "median_bytes": sizes[len(sizes) // 2],
        "min_bytes": sizes[0],
        "max_bytes": sizes[-1],
        "p90_bytes": sizes[len(sizes) * 9 // 10],
        "middle_module": paths[len(paths) // 2],
    }))


def rewrite(args):
    size = os.path.getsize(args.file)
    write_atomic(args.file, module_bytes(random.Random(args.seed), size))


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


# tools.protos.SpawnExec (Bazel 4.2 src/main/protobuf/spawn.proto):
# 5 = listed_outputs, 10 = mnemonic, 12 = runner, 13 = remote_cache_hit.
LISTED_OUTPUTS, MNEMONIC, RUNNER, CACHE_HIT = 5, 10, 12, 13


def spawn_fields(m):
    """The fields above of one SpawnExec; listed_outputs as a list."""
    out = {LISTED_OUTPUTS: []}
    i = 0
    while i < len(m):
        key, i = varint(m, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(m, i)
        elif wire == 2:
            n, i = varint(m, i)
            v = m[i:i + n]
            i += n
        elif wire == 1:
            v, i = m[i:i + 8], i + 8
        elif wire == 5:
            v, i = m[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        if field == LISTED_OUTPUTS:
            out[field].append(v.decode())
        elif field in (MNEMONIC, RUNNER, CACHE_HIT):
            out[field] = v
    return out


def spawns(path):
    with open(path, "rb") as f:
        b = f.read()
    i = 0
    while i < len(b):
        n, i = varint(b, i)
        yield spawn_fields(b[i:i + n])
        i += n


def floor(args):
    """The floor of a rebuild: writing the files its actions wrote, and
    hashing them once, with nothing else (no Bazel, no tool).

    The files are the listed outputs of every spawn in the execution log,
    read from the execution root into memory first (so reading them is not
    counted), then written as new files under a fresh directory on the same
    disk and hashed (SHA-256, what Bazel digests outputs with) from those
    copies, each on as many threads as CPUs; with --inputs, the files it
    lists (source files the build read, which Bazel digests once) are
    hashed too, in inputs_s. With --in-place, no directory: each file is
    deleted where the build wrote it and written again there with the same
    bytes and mode, which is what replacing those outputs costs at least
    (Bazel deletes an action's old outputs before it runs), in the same
    directories and the same file system state as the build met: on ext4
    without a journal, creating files right after deleting as many in the
    same place is several times slower than into a fresh directory
    (docs/performance.md). It leaves the outputs as they were, but with new
    inodes: Bazel re-runs their actions on its next build. Prints JSON:
    files, bytes, write_s, hash_s, inputs, input_bytes, inputs_s, floor_s,
    in_place."""
    import concurrent.futures
    import hashlib
    import shutil
    import time
    paths = [p for s in spawns(args.execlog) for p in s[LISTED_OUTPUTS]]
    data, modes = [], []
    for p in paths:
        with open(os.path.join(args.execroot, p), "rb") as f:
            data.append(f.read())
            modes.append(os.fstat(f.fileno()).st_mode & 0o7777)
    if args.in_place:
        root = args.execroot
    else:
        root = args.dir
        os.makedirs(root)
        for d in sorted({os.path.dirname(p) for p in paths}):
            os.makedirs(os.path.join(root, d), exist_ok=True)
    threads = os.cpu_count() or 1

    def write(i):
        path = os.path.join(root, paths[i])
        if args.in_place:
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, modes[i])
        with os.fdopen(fd, "wb") as f:
            f.write(data[i])

    inputs = []
    if args.inputs:
        with open(args.inputs) as f:
            inputs = [line.rstrip("\n") for line in f if line.strip()]

    def digest(path):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        return h.digest()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        t0 = time.monotonic()
        list(pool.map(write, range(len(paths))))
        t1 = time.monotonic()
        list(pool.map(digest, [os.path.join(root, p) for p in paths]))
        t2 = time.monotonic()
        list(pool.map(digest, inputs))
        t3 = time.monotonic()
    if not args.in_place:
        shutil.rmtree(root)
    print(json.dumps({"files": len(paths), "bytes": sum(len(d) for d in data),
                      "write_s": round(t1 - t0, 3), "hash_s": round(t2 - t1, 3),
                      "inputs": len(inputs), "input_bytes": sum(os.path.getsize(p) for p in inputs),
                      "inputs_s": round(t3 - t2, 3), "floor_s": round(t3 - t0, 3),
                      "in_place": bool(args.in_place)}))


def execlog(args):
    mnemonics, runners, by_mnemonic = {}, {}, {}
    total = 0
    for fields in spawns(args.file):
        total += 1
        mn = fields.get(MNEMONIC, b"").decode() or "(none)"
        runner = fields.get(RUNNER, b"").decode() or "(none)"
        if fields.get(CACHE_HIT):
            runner += " (cache hit)"
        mnemonics[mn] = mnemonics.get(mn, 0) + 1
        runners[runner] = runners.get(runner, 0) + 1
        r = by_mnemonic.setdefault(mn, {})
        r[runner] = r.get(runner, 0) + 1
    print(json.dumps({"total": total, "mnemonics": mnemonics, "runners": runners,
                      "runners_by_mnemonic": by_mnemonic}, sort_keys=True))


def trace_events(path):
    """The complete ("X") events of a gzipped Bazel JSON trace profile."""
    import gzip
    with gzip.open(path, "rt") as f:
        data = json.load(f)
    return [e for e in (data["traceEvents"] if isinstance(data, dict) else data) if e.get("ph") == "X"]


def events(args):
    """A profile's events summed by category and name (paths and numbers
    dropped), the 12 largest; the critical path's own events left out."""
    import re
    sums, lo, hi = {}, None, None
    for e in trace_events(args.file):
        ts, dur = e.get("ts", 0), e.get("dur", 0)
        lo = ts if lo is None else min(lo, ts)
        hi = ts + dur if hi is None else max(hi, ts + dur)
        if e.get("cat") == "critical path component":
            continue
        words = [w for w in e.get("name", "").split() if "/" not in w and not re.search(r"\d", w)][:4]
        key = "%s: %s" % (e.get("cat", "?"), " ".join(words))
        s = sums.setdefault(key, [0, 0])
        s[0] += 1
        s[1] += dur
    print("  %s: profile spans %.1f s; summed events (overlapping: threads run in parallel)" % (
        args.title or os.path.basename(args.file), (hi - lo) / 1e6 if lo is not None else 0))
    for k, (n, d) in sorted(sums.items(), key=lambda kv: -kv[1][1])[:12]:
        print("    %-58s %6d %9.1f s %8.2f ms" % (k[:58], n, d / 1e6, d / 1e3 / n))


# Per-spawn events of Bazel 4.2's spawn runners (names as in the profile).
SPAWN_EVENTS = [
    "sandbox.createFileSystem",
    "subprocess.run",
    "sandbox.copyOutputs",
    "sandbox.delete",
]


def profile(args):
    events = trace_events(args.file)
    start = end = None
    kinds, spawn, digest = {}, {}, [0, 0]
    for e in events:
        ts, dur = e.get("ts", 0), e.get("dur", 0)
        start = ts if start is None else min(start, ts)
        end = ts + dur if end is None else max(end, ts + dur)
        cat, name = e.get("cat", ""), e.get("name", "")
        if cat == "action processing":
            # The progress message without paths and counts: "Hashing
            # module", "Appending proofs to", "GoCompilePkg".
            words = [w for w in name.split()[:4] if "/" not in w and not w.isdigit()]
            kind = " ".join(words[:3]) or name
            k = kinds.setdefault(kind, [0, 0])
            k[0] += 1
            k[1] += dur
        elif name in SPAWN_EVENTS or cat == "local action execution":
            key = name if name in SPAWN_EVENTS else "local execution"
            k = spawn.setdefault(key, [0, 0])
            k[0] += 1
            k[1] += dur
        elif cat == "VFS md5":
            digest[0] += 1
            digest[1] += dur
    title = args.title or os.path.basename(args.file)
    print("  %s: profile spans %.1f s" % (title, (end - start) / 1e6 if events else 0))
    print("    %-34s %7s %10s %10s" % ("event", "count", "total s", "mean ms"))
    rows = sorted(kinds.items(), key=lambda kv: -kv[1][1])
    rows = [("action: " + k, v) for k, v in rows if v[1] >= 100_000][:6]
    rows += [("spawn: " + k, spawn[k]) for k in SPAWN_EVENTS + ["local execution"] if k in spawn]
    if digest[0]:
        rows.append(("digest (VFS md5, slow ones only)", digest))
    for name, (n, dur) in rows:
        print("    %-34s %7d %10.2f %10.2f" % (name[:34], n, dur / 1e6, dur / 1e3 / n))


# The phases of one action in Bazel 4.2's profile, on the thread that ran
# it, and what each is.
ACTION_PHASES = [
    ("action.prepare", "old outputs deleted"),
    ("ActionContinuation.execute", "ran"),
    ("actuallyCompleteAction", "outputs digested"),
]


def critical(args):
    """Bazel's critical path from a JSON trace profile: each component and,
    for each action on it, its input check and the phases of ACTION_PHASES.
    Prints one line. (With --experimental_execution_log_file, as in the
    benchmark, Bazel digests a spawn's outputs to log them, within "ran".)"""
    events = trace_events(args.file)
    parts = []
    for c in sorted((e for e in events if e.get("cat") == "critical path component"), key=lambda e: e["ts"]):
        msg = c["name"]
        if msg.startswith("action '") and msg.endswith("'"):
            msg = msg[len("action '"):-1]
        # Several actions may share the message (batches of one size, run
        # at once): this one's input check starts with the component, and
        # its run ends with it.
        c_end = c["ts"] + c["dur"]
        checks = [e for e in events if e.get("cat") == "action dependency checking" and e["name"] == msg]
        runs = [e for e in events if e.get("cat") == "action processing" and e["name"] == msg]
        phases = []
        if checks:
            phases.append(("inputs checked", min(checks, key=lambda e: abs(e["ts"] - c["ts"]))["dur"]))
        if runs:
            run = min(runs, key=lambda e: abs(e["ts"] + e["dur"] - c_end))
            lo, hi = run["ts"], run["ts"] + run["dur"]
            for name, what in ACTION_PHASES:
                phases.append((what, sum(e["dur"] for e in events if e["name"] == name and e.get("tid") == run.get("tid")
                                         and lo <= e["ts"] <= hi)))
        # The progress message without its label and paths: "Hashing 64
        # modules", "Appending proofs to 4022 modules".
        words = [w for w in msg.split(" for ")[0].split() if not set(w) & set("/()")]
        detail = ", ".join("%s %.2f" % (what, d / 1e6) for what, d in phases if d >= 5_000)
        parts.append("%s %.2f s%s" % (" ".join(words), c["dur"] / 1e6, " (%s)" % detail if detail else ""))
    diffs = sum(e["dur"] for e in events if e["name"] == "handleDiffs")
    print("%s: finding changed files %.2f s; critical path: %s" % (
        args.title or os.path.basename(args.file), diffs / 1e6, "; ".join(parts) or "empty"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("--modules", type=int, default=4022)
    g.add_argument("--seed", type=int, default=61)
    g.add_argument("--variants", type=int, default=0)
    g.add_argument("--vmlinux", default="//examples/minikernel:vmlinux.unstripped")
    g.set_defaults(func=generate)
    r = sub.add_parser("rewrite")
    r.add_argument("file")
    r.add_argument("--seed", type=int, default=1)
    r.set_defaults(func=rewrite)
    # The readers of a trace profile: FILE [--title T].
    for name, func in [("profile", profile), ("events", events), ("critical", critical)]:
        pr = sub.add_parser(name)
        pr.add_argument("file")
        pr.add_argument("--title", default="")
        pr.set_defaults(func=func)
    e = sub.add_parser("execlog")
    e.add_argument("file")
    e.set_defaults(func=execlog)
    fl = sub.add_parser("floor")
    fl.add_argument("execlog")
    fl.add_argument("execroot")
    fl.add_argument("dir", nargs="?", help="a directory to create on the disk to measure (removed after); not with --in-place")
    fl.add_argument("--inputs", help="a file listing source files to hash once too")
    fl.add_argument("--in-place", action="store_true",
                    help="time deleting each file where the build wrote it and writing it again there")
    fl.set_defaults(func=floor)
    args = p.parse_args()
    if args.func is floor and (args.dir is None) != args.in_place:
        p.error("floor: give either a directory or --in-place")
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
