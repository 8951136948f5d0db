"""module_hashes_vmlinux: vmlinux.unstripped with the tree's root written in."""

load(":providers.bzl", "ModuleHashesInfo")
load(":tool.bzl", "MODHASH_ATTRS", "modhash_executable")

def _module_hashes_vmlinux_impl(ctx):
    info = ctx.attr.root[ModuleHashesInfo]
    out = ctx.actions.declare_file(ctx.label.name)
    args = ctx.actions.args()
    args.add("patch")
    args.add("-o", out)
    args.add("-manifest", info.manifest)
    args.add(ctx.file.vmlinux_unstripped)
    ctx.actions.run(
        executable = modhash_executable(ctx),
        arguments = [args],
        inputs = [ctx.file.vmlinux_unstripped, info.manifest],
        outputs = [out],
        mnemonic = "ModuleHashPatch",
        progress_message = "Writing the module hashes root of %s into %s" % (
            ctx.attr.root.label,
            out.short_path,
        ),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

module_hashes_vmlinux = rule(
    implementation = _module_hashes_vmlinux_impl,
    doc = """Writes the root of a `module_hashes_root` tree into a kernel image.

The output, a file named like the target, is `vmlinux_unstripped` with its
36-byte `.module_hashes` section replaced by the tree's root record (levels
in the image's own byte order, from its ELF header, then the root): what the
kernel build does with `objcopy --update-section .module_hashes=...`, done by
`modhash patch` without the target's binutils. Every other byte is
unchanged. The build fails, naming the file, if the image has no
`.module_hashes` section (a kernel built without `CONFIG_MODULE_HASHES`).""",
    attrs = dict({
        "root": attr.label(
            mandatory = True,
            providers = [ModuleHashesInfo],
            doc = "The `module_hashes_root` target whose root goes into the image.",
        ),
        "vmlinux_unstripped": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The kernel image (ELF) linked with an all-zero `.module_hashes` " +
                  "section: the kernel build's `vmlinux.unstripped`.",
        ),
    }, **MODHASH_ATTRS),
)
