"""module_hashes_image: the boot image (arm64 Image, Image.gz, Image.lz4) carrying the root."""

load(":providers.bzl", "ModuleHashesInfo")
load(":tool.bzl", "MODHASH_ATTRS", "modhash_executable")

def _module_hashes_image_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    inputs = [ctx.file.image, ctx.file.vmlinux]
    args = ctx.actions.args()
    args.add("image")
    args.add("-o", out)
    args.add("-vmlinux", ctx.file.vmlinux)
    if ctx.attr.root:
        manifest = ctx.attr.root[ModuleHashesInfo].manifest
        args.add("-manifest", manifest)
        inputs.append(manifest)
    args.add(ctx.file.image)
    ctx.actions.run(
        executable = modhash_executable(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "ModuleHashImage",
        progress_message = "Writing the module hashes root into the boot image %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

module_hashes_image = rule(
    implementation = _module_hashes_image_impl,
    doc = """Writes the module hashes root into a boot image made from vmlinux.

On arm64 (Android GKI) what boots is not vmlinux but `arch/arm64/boot/Image`,
which the kernel build makes from vmlinux *as linked* (`objcopy -O binary`),
with 36 zero bytes where the root goes: booted as it is, the kernel refuses
every module. The output, a file named like the target, is `image` with the
root record written where vmlinux's `.module_hashes` section lies in it, the
same bytes `objcopy -O binary` gives for the vmlinux with the root. A
compressed `image` (`Image.gz`, `Image.lz4` in the legacy format that kbuild
writes) is decompressed, patched and compressed again in the same format,
deterministically; name the target accordingly (`Image.gz`), since boot
loaders go by the contents but people by the name.

`modhash image` (one action, `ModuleHashImage`, no target binutils) computes
the offset from `vmlinux`'s section and program headers, and fails, naming
the file, unless `image` has the size of vmlinux's loaded sections, holds 36
zero bytes at that offset and the same bytes as vmlinux around them: an
image made from another vmlinux, or already patched, is refused rather than
silently mispatched.""",
    attrs = dict({
        "image": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The kernel build's boot image: `arch/arm64/boot/Image`, `Image.gz` " +
                  "or `Image.lz4`, made from `vmlinux` with 36 zero bytes in " +
                  "`.module_hashes`.",
        ),
        "root": attr.label(
            providers = [ModuleHashesInfo],
            doc = "The `module_hashes_root` target whose root goes into the image. " +
                  "Without it the root is read from `vmlinux`, which must then be " +
                  "the vmlinux with the root written in (`module_hashes_vmlinux`).",
        ),
        "vmlinux": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The ELF vmlinux `image` was made from: as linked (with `root`), or " +
                  "with the root written in (`module_hashes_vmlinux`, then `root` " +
                  "may be omitted; if given, it must be the same root).",
        ),
    }, **MODHASH_ATTRS),
)
