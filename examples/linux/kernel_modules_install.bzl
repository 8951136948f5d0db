"""kernel_modules_install: the installed module tree, as `make modules_install` lays it out.

Example-level infrastructure, like kernel_build (Kleaf has a rule of the same
name): the signed modules of a `kernel_module_hashes` tree installed under
`lib/modules/<release>/kernel/<object-tree path>` (with the compression's
suffix), kbuild's `modules.order` rewritten as modules_install writes it
(`kernel/<path>.ko`), and the depmod files of Debian's `depmod`
(`modules.dep`, `modules.alias`, `modules.symbols`, ... and their `.bin`
forms), which `modprobe` reads to resolve dependencies and aliases.

```starlark
kernel_modules_install(
    name = "x86_64_modules_install",
    kernel_build = ":x86_64",
    module_hashes = ":x86_64_hashes",   # its signed modules (or, with compressed = True, the compressed ones)
)
```

The output is one directory, `<name>/`, holding `lib/modules/<release>/`.
The tree's modules past those of the kernel build's modules.order are
external modules (`kernel_module`): they go under `extra/`, as kbuild
installs them.
"""

load("//rules:defs.bzl", "ModuleHashesInfo")
load(":kernel_build.bzl", "KernelBuildInfo")

def _kernel_modules_install_impl(ctx):
    kb = ctx.attr.kernel_build[KernelBuildInfo]
    info = ctx.attr.module_hashes[ModuleHashesInfo]
    modules = info.compressed_modules if ctx.attr.compressed else info.signed_modules
    if ctx.attr.compressed and not modules:
        fail("%s: compressed = True, but %s made no compressed modules (its compression is \"none\")" % (ctx.label, ctx.attr.module_hashes.label))
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add(out.path)
    args.add(kb.kernel_release)
    args.add(kb.modules_order)
    args.add_all(modules)
    ctx.actions.run(
        executable = ctx.executable._script,
        arguments = [args],
        inputs = [kb.kernel_release, kb.modules_order] + modules,
        outputs = [out],
        mnemonic = "KernelModulesInstall",
        progress_message = "Installing %d modules and running depmod for %s" % (len(modules), ctx.label),
        env = {"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TZ": "UTC"},
    )

    # Runfiles too, so that `data = [<this target>]` brings the tree.
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

kernel_modules_install = rule(
    implementation = _kernel_modules_install_impl,
    doc = "The installed module tree (lib/modules/<release>) of signed modules, with depmod's files.",
    attrs = {
        "compressed": attr.bool(doc = "Install the tree's compressed modules (`.ko.xz`, ...) instead of the signed `.ko`."),
        "kernel_build": attr.label(mandatory = True, providers = [KernelBuildInfo]),
        "module_hashes": attr.label(mandatory = True, providers = [ModuleHashesInfo], doc = "The tree whose signed modules (the kernel build's modules.order first) are installed."),
        "_script": attr.label(
            default = Label("//examples/linux:kernel_modules_install.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
)
