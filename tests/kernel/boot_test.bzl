"""Boot tests of the real-kernel example: the kernel judges the modules.

Test infrastructure, not public rules:

* `nolibc_init`: the boot tests' init, a static program built for the
  kernel's architecture against the kernel source's nolibc.
* `kernel_boot_test`: boots a kernel in QEMU over the cases of
  `//tests/kernel/boottest` and compares every verdict of the kernel with
  the expected one and with `modhash verify`'s.
"""

load("//examples/linux:kernel_build.bzl", "kernel_makefile")
load("//rules:defs.bzl", "ModuleHashesInfo")

def _nolibc_init_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    makefile = kernel_makefile(ctx.label, ctx.files.kernel_srcs)
    ctx.actions.run(
        executable = ctx.executable._script,
        arguments = [makefile.path, ctx.attr.arch, ctx.attr.cross_compile, ctx.file.src.path, out.path],
        inputs = depset([ctx.file.src], transitive = [depset(ctx.files.kernel_srcs)]),
        outputs = [out],
        mnemonic = "NolibcInit",
        progress_message = "Building the boot tests' init for %s" % ctx.attr.arch,
        env = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

nolibc_init = rule(
    implementation = _nolibc_init_impl,
    attrs = {
        "arch": attr.string(mandatory = True, doc = "kbuild ARCH of the UAPI headers."),
        "cross_compile": attr.string(doc = "Prefix of the compiler (`<prefix>gcc`)."),
        "kernel_srcs": attr.label_list(allow_files = True, mandatory = True),
        "src": attr.label(allow_single_file = [".c"], mandatory = True),
        "_script": attr.label(
            default = Label("//tests/kernel:build_init.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
    executable = True,
)

def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _kernel_boot_test_impl(ctx):
    signed = ctx.attr.signed[ModuleHashesInfo]
    compressed = ctx.attr.compressed[ModuleHashesInfo] if ctx.attr.compressed else None
    other = ctx.attr.other_tree[ModuleHashesInfo]
    args = [
        "-qemu",
        ctx.attr.qemu,
        "-qemu-args",
        " ".join(ctx.attr.qemu_args),
        "-console",
        ctx.attr.console,
        "-arch",
        ctx.attr.arch,
        "-kernel",
        ctx.file.kernel.short_path,
        "-vmlinux",
        ctx.file.vmlinux.short_path,
        "-zero-kernel",
        ctx.file.zero_kernel.short_path,
        "-zero-vmlinux",
        ctx.file.zero_vmlinux.short_path,
        "-init",
        ctx.executable.init.short_path,
        "-modhash",
        ctx.executable._modhash.short_path,
    ]
    for m in signed.signed_modules:
        args += ["-signed", m.short_path]
    if compressed:
        for m in compressed.compressed_modules:
            args += ["-compressed", m.short_path]

    # The unsigned case: the bad-case base module as hashed (a module with
    # no dependencies loads without enforcement), else the first.
    unsigned = [
        m
        for m in signed.hashed_modules
        if m.basename.split(".")[0].replace("-", "_") == ctx.attr.bad_base
    ][:1] or signed.hashed_modules[:1]
    for m in unsigned:
        args += ["-unsigned", m.short_path]
    for m in other.signed_modules[:1]:
        args += ["-other", m.short_path]
    installed = []
    for attr, flag in [("installed", "-installed"), ("installed_compressed", "-installed-xz")]:
        d = getattr(ctx.file, attr)
        if d:
            args += [flag, d.short_path]
            installed.append(d)
    if ctx.attr.request:
        args += ["-request", ctx.attr.request]
    if ctx.attr.tamper:
        args += ["-tamper", ctx.attr.tamper]
    if ctx.attr.bad_base:
        args += ["-bad-base", ctx.attr.bad_base]
    if ctx.attr.module_sig:
        args.append("-module-sig")
    for attr, flag in [("pkcs7", "-pkcs7"), ("pkcs7_other", "-pkcs7-other"), ("pkcs7_sha512", "-pkcs7-sha512")]:
        f = getattr(ctx.file, attr)
        if f:
            args += [flag, f.short_path]
            installed.append(f)
    if ctx.file.rebuilt:
        args += ["-rebuilt", ctx.file.rebuilt.short_path]
        installed.append(ctx.file.rebuilt)

    run = "exec %s %s" % (
        _sh_quote(ctx.executable._boottest.short_path),
        " ".join([_sh_quote(a) for a in args]),
    )
    if ctx.attr.expect_mismatch:
        # A test of the test: the harness must fail, and say why.
        run = """out="$({run} 2>&1)" && {{ echo "$out"; echo "FAIL: the boot test passed, but it must catch: {want}"; exit 1; }}
echo "$out"
grep -qF -- {want_q} <<<"$out" || {{ echo "FAIL: the boot test failed, but not with: {want}"; exit 1; }}
echo "PASS: the boot test caught it: {want}"
""".format(run = run.replace("exec ", "", 1), want = ctx.attr.expect_mismatch, want_q = _sh_quote(ctx.attr.expect_mismatch))

    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "#!/usr/bin/env bash\n# Generated by kernel_boot_test %s.\nset -uo pipefail\n%s\n" % (ctx.label, run),
    )
    files = [ctx.file.kernel, ctx.file.vmlinux, ctx.file.zero_kernel, ctx.file.zero_vmlinux] + installed
    files += signed.signed_modules + unsigned + other.signed_modules[:1]
    if compressed:
        files += compressed.compressed_modules
    runfiles = ctx.runfiles(files = files)
    for t in [ctx.attr.init, ctx.attr._boottest, ctx.attr._modhash]:
        runfiles = runfiles.merge(t[DefaultInfo].default_runfiles)
    runfiles = runfiles.merge(ctx.runfiles(files = [ctx.executable.init]))
    return [DefaultInfo(executable = script, runfiles = runfiles)]

kernel_boot_test = rule(
    implementation = _kernel_boot_test_impl,
    test = True,
    doc = "Boots a real kernel in QEMU and holds its module verdicts against modhash verify's.",
    attrs = {
        "arch": attr.string(default = "x86_64", doc = "Guest architecture (uname -m)."),
        "bad_base": attr.string(doc = "The module (by name) the refused cases are derived from; default the first signed one."),
        "compressed": attr.label(providers = [ModuleHashesInfo], doc = "A tree with `compression`: its compressed modules must load."),
        "console": attr.string(default = "ttyS0"),
        "expect_mismatch": attr.string(doc = "Test of the test: the boot test must fail with this text."),
        "init": attr.label(mandatory = True, executable = True, cfg = "target"),
        "installed": attr.label(allow_single_file = True, doc = "A kernel_modules_install tree: every module loaded by modprobe (busybox's), dependencies from modules.dep."),
        "installed_compressed": attr.label(allow_single_file = True, doc = "The same tree with compressed modules."),
        "kernel": attr.label(mandatory = True, allow_single_file = True, doc = "The image QEMU boots, carrying the root."),
        "module_sig": attr.bool(doc = "The kernel also has CONFIG_MODULE_SIG: modhash verify -module-sig."),
        "other_tree": attr.label(mandatory = True, providers = [ModuleHashesInfo], doc = "A tree of another size over some of the modules."),
        "pkcs7": attr.label(allow_single_file = True, doc = "An external module signed with the kernel's key (scripts/sign-file): must load (module_sig)."),
        "pkcs7_other": attr.label(allow_single_file = True, doc = "The same signed with a key the kernel does not have (module_sig)."),
        "pkcs7_sha512": attr.label(allow_single_file = True, doc = "The same signed with the kernel's key and SHA-512 (module_sig): must load."),
        "qemu": attr.string(default = "qemu-system-x86_64"),
        "qemu_args": attr.string_list(default = ["-M", "q35", "-m", "256"]),
        "rebuilt": attr.label(allow_single_file = True, doc = "An external module rebuilt after the tree was made, with the old one's proof: must be refused."),
        "request": attr.string(doc = "FSTYPE:DIR: mounting it makes the kernel itself request the module FSTYPE (installed trees)."),
        "signed": attr.label(mandatory = True, providers = [ModuleHashesInfo], doc = "The tree whose signed modules must load."),
        "tamper": attr.string(doc = "A module (by name) deep in dependency chains: a boot loads its dependents with it tampered."),
        "vmlinux": attr.label(mandatory = True, allow_single_file = True, doc = "The ELF vmlinux carrying the root (for modhash verify)."),
        "zero_kernel": attr.label(mandatory = True, allow_single_file = True, doc = "The image as linked: 36 zero bytes."),
        "zero_vmlinux": attr.label(mandatory = True, allow_single_file = True),
        "_boottest": attr.label(default = Label("//tests/kernel/boottest"), executable = True, cfg = "target"),
        "_modhash": attr.label(default = Label("//tools/modhash"), executable = True, cfg = "target"),
    },
)

def kernel_boot_tests(name, kernel, vmlinux, zero_kernel, zero_vmlinux, **kwargs):
    """`<name>`: the boot test; `<name>_catches_refusal`: its test.

    The second boots the kernel as linked (zero root) where the first boots
    the kernel with the root, while modhash verify still checks against the
    root: the kernel then refuses signed modules that must load, and the
    boot test must fail saying so.

    Args:
      name: the boot test's name.
      kernel: the image QEMU boots, carrying the root.
      vmlinux: the ELF vmlinux carrying the root.
      zero_kernel: the image as linked.
      zero_vmlinux: the ELF vmlinux as linked.
      **kwargs: further kernel_boot_test attributes.
    """
    kernel_boot_test(
        name = name,
        kernel = kernel,
        vmlinux = vmlinux,
        zero_kernel = zero_kernel,
        zero_vmlinux = zero_vmlinux,
        **kwargs
    )
    kernel_boot_test(
        name = name + "_catches_refusal",
        expect_mismatch = "MISMATCH enforcing modprobe:" if kwargs.get("installed") else "MISMATCH enforcing signed:",
        kernel = zero_kernel,
        vmlinux = vmlinux,
        zero_kernel = zero_kernel,
        zero_vmlinux = zero_vmlinux,
        **kwargs
    )
