"""kernel_images: boot images made by the kernel's own make from the vmlinux with the root.

Example-level infrastructure, like kernel_build (Kleaf calls the step after
`kernel_build` `kernel_images`). An x86 `bzImage` is a program of its own
(real-mode setup, decompressor, the compressed `vmlinux.bin` and its
relocations) that make derives from vmlinux; the one the kernel build made
holds vmlinux as linked, with 36 zero bytes where the root goes, and
refuses every module. This rule runs the kernel's own make once more over
the kernel build's object tree (its `objtree_archive`, which must hold the
image's directories, and its `kbuild_sources`) with the vmlinux that carries the root in place of the
one it linked: make rebuilds exactly what depends on vmlinux
(`vmlinux.bin`, its compressed payload, the decompressor, the setup header
that records their sizes) and nothing else, and `-o vmlinux` keeps it from
relinking vmlinux.

```starlark
kernel_images(
    name = "x86_64_images",
    kernel_build = ":x86_64",
    vmlinux = ":x86_64_hashes_vmlinux",     # module_hashes_vmlinux: the root written in
    images = ["arch/x86/boot/bzImage"],
)
```

declares `:x86_64_images/bzImage`. Where this sits in the chain for each
architecture: docs/linux-example.md.
"""

load(":kernel_build.bzl", "KernelBuildInfo")

def _kernel_images_impl(ctx):
    kb = ctx.attr.kernel_build[KernelBuildInfo]
    if not kb.objtree_archive:
        fail("%s: %s keeps no objtree_archive; kernel_images makes images over it" % (ctx.label, ctx.attr.kernel_build.label))
    outs = [ctx.actions.declare_file("%s/%s" % (ctx.label.name, i.split("/")[-1])) for i in ctx.attr.images]
    args = ctx.actions.args()
    args.add(kb.kbuild_sources)
    args.add(kb.objtree_archive)
    args.add(ctx.file.vmlinux)
    args.add(kb.arch)
    args.add(kb.cross_compile)
    args.add(":".join(ctx.attr.images))
    args.add_all(outs)
    ctx.actions.run(
        executable = ctx.executable._script,
        arguments = [args],
        inputs = [kb.kbuild_sources, kb.objtree_archive, ctx.file.vmlinux, ctx.file._objtree_sh],
        outputs = outs,
        mnemonic = "KernelImages",
        progress_message = "Making %s from %s (%s)" % (", ".join(ctx.attr.images), ctx.file.vmlinux.short_path, ctx.label),
        env = kb.env,
    )

    # Runfiles too, so that `data = [<this target>]` brings the images.
    return [DefaultInfo(files = depset(outs), runfiles = ctx.runfiles(files = outs))]

kernel_images = rule(
    implementation = _kernel_images_impl,
    doc = "Boot images (x86 bzImage) made by the kernel's make from a vmlinux that carries the root.",
    attrs = {
        "images": attr.string_list(mandatory = True, doc = "Object-tree paths of the images (make goals by their basename), e.g. arch/x86/boot/bzImage."),
        "kernel_build": attr.label(mandatory = True, providers = [KernelBuildInfo]),
        "vmlinux": attr.label(mandatory = True, allow_single_file = True, doc = "The vmlinux the images are made from (module_hashes_vmlinux's)."),
        "_objtree_sh": attr.label(default = Label("//examples/linux:objtree.sh"), allow_single_file = True),
        "_script": attr.label(
            default = Label("//examples/linux:kernel_images.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
)
