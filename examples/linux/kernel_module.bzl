"""kernel_module: an external (out-of-tree, "vendor") module built against a kernel_build.

Example-level infrastructure in the shape of Kleaf's `kernel_module`: the
module's own sources (a `Kbuild` file and its C files) built with the
kernel's make (`make M=...`) over the kernel build's object tree (its
`objtree_archive`: configuration, generated headers, `Module.symvers`,
modpost and the other build tools) and the part of the source tree such a
make reads (its `kbuild_sources`: the top Makefile, scripts/, include/,
arch/<arch>/, lib/), hermetically, in one action. The two archives are what
Kleaf's `modules_prepare` output and its module header and script
filegroups give its external modules: not the 80000 files of the whole
tree, whose sandbox alone cost each module action about 230 s under load
(docs/performance.md).

```starlark
kernel_module(
    name = "modhash_crcuser",
    srcs = glob(["vendor/crcuser/**"]),
    kernel_build = ":x86_64",
    outs = ["modhash_crcuser.ko"],
    deps = [":modhash_greeter"],      # external modules whose symbols it uses
)
```

declares `:modhash_crcuser/modhash_crcuser.ko` and its `Module.symvers`.
Symbols of the kernel build's own modules come from its `Module.symvers`;
those of other external modules from theirs (`KBUILD_EXTRA_SYMBOLS`), so
modpost checks every symbol and records its CRC. To authenticate it without
a key, put it in the kernel's tree: `kernel_module_hashes(external_modules
= [...])`.
"""

load(":kernel_build.bzl", "KernelBuildInfo")

KernelModuleInfo = provider(
    doc = "An external module build: its modules and the symbols they export.",
    fields = {
        "module_symvers": "File: the Module.symvers of this build (its exports).",
        "modules": "List of Files: the .ko files, in `outs` order.",
        "symvers": "Depset of Files: the Module.symvers of this build and of its deps.",
    },
)

def _kernel_module_impl(ctx):
    kb = ctx.attr.kernel_build[KernelBuildInfo]
    if not kb.objtree_archive:
        fail("%s: %s keeps no objtree_archive; external modules are built over it" % (ctx.label, ctx.attr.kernel_build.label))
    kbuild = [f for f in ctx.files.srcs if f.basename in ("Kbuild", "Makefile")]
    if len(kbuild) != 1:
        fail("%s: srcs must hold exactly one Kbuild (or Makefile), found %d" % (ctx.label, len(kbuild)))
    names = {}
    for f in ctx.files.srcs:
        if f.basename in names:
            fail("%s: srcs: two files are named %s (%s, %s): the module directory is flat" % (ctx.label, f.basename, names[f.basename].short_path, f.short_path))
        names[f.basename] = f
    outs = [ctx.actions.declare_file("%s/%s" % (ctx.label.name, o)) for o in ctx.attr.outs]
    symvers = ctx.actions.declare_file(ctx.label.name + "/Module.symvers")
    dep_symvers = depset(transitive = [d[KernelModuleInfo].symvers for d in ctx.attr.deps])
    args = ctx.actions.args()
    args.add(kb.kbuild_sources)
    args.add(kb.objtree_archive)
    args.add(kb.arch)
    args.add(kb.cross_compile)
    args.add(symvers)
    args.add_joined(dep_symvers, join_with = ":", omit_if_empty = False)
    args.add_joined(ctx.files.srcs, join_with = ":")
    args.add_all(outs)
    ctx.actions.run(
        executable = ctx.executable._script,
        arguments = [args],
        inputs = depset(ctx.files.srcs + [kb.kbuild_sources, kb.objtree_archive, ctx.file._objtree_sh], transitive = [dep_symvers]),
        outputs = outs + [symvers],
        mnemonic = "KernelModule",
        progress_message = "Building the external module %s against %s" % (ctx.label, ctx.attr.kernel_build.label),
        env = kb.env,
    )
    return [
        DefaultInfo(files = depset(outs), runfiles = ctx.runfiles(files = outs)),
        KernelModuleInfo(
            modules = outs,
            module_symvers = symvers,
            symvers = depset([symvers], transitive = [dep_symvers]),
        ),
    ]

kernel_module = rule(
    implementation = _kernel_module_impl,
    doc = "An external module built with the kernel's make against a kernel_build.",
    attrs = {
        "deps": attr.label_list(providers = [KernelModuleInfo], doc = "External modules whose exported symbols these use."),
        "kernel_build": attr.label(mandatory = True, providers = [KernelBuildInfo]),
        "outs": attr.string_list(mandatory = True, doc = "The modules the Kbuild file makes (basenames, e.g. modhash_greeter.ko)."),
        "srcs": attr.label_list(allow_files = True, mandatory = True, doc = "The module's Kbuild file and sources: copied, by basename, into one directory, the M= of make."),
        "_objtree_sh": attr.label(default = Label("//examples/linux:objtree.sh"), allow_single_file = True),
        "_script": attr.label(
            default = Label("//examples/linux:kernel_module.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
)
