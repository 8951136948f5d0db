"""kernel_build: one kernel build with the kernel's own make, Kleaf style.

Example-level infrastructure for the real-kernel example and its boot
tests, not part of the public rules: it shows how a kernel build declared in
Bazel (as Kleaf's `kernel_build` does) feeds `kernel_module_hashes`.

```starlark
kernel_build(
    name = "x86_64",
    srcs = "@linux_6_12//:sources",
    arch = "x86_64",
    config_fragments = ["configs/common.config", "configs/x86_64.config"],
    outs = ["vmlinux"],
    module_outs = ["lib/crc7.ko", "lib/test_module.ko"],
)
```

declares `:x86_64/vmlinux`, `:x86_64/lib/crc7.ko`, ... (paths in the kernel's
object tree, below the target's name), `:x86_64/modules.order` and
`:x86_64/kernel.config` and `:x86_64/kernel.buildinfo` (what the build was
made with: the pinned source, the exact Debian package versions of the
toolchain, the outputs' SHA-256, as Debian's .buildinfo), made by one action
(`KernelBuild`). With `objtree_archive`, a second action (`KbuildSources`),
which reads sources only and so runs beside the kernel build, archives the
part of the source tree that later makes over the object tree read
(`<name>/kbuild_sources.tar`, `kbuild_source_paths`): kernel_module and
kernel_images take it instead of the whole tree.
"""

KernelBuildInfo = provider(
    doc = "What later steps of a kernel build (kernel_images, kernel_module, kernel_modules_install) take from it.",
    fields = {
        "arch": "String: kbuild ARCH.",
        "cross_compile": "String: kbuild CROSS_COMPILE.",
        "env": "Dict: the build's environment (KBUILD_BUILD_*, PATH, ...), for later makes over its tree.",
        "kbuild_sources": "File or None: `<name>/kbuild_sources.tar`, the part of the source tree later makes over " +
                          "the object tree read (see `kbuild_source_paths`); made with `objtree_archive`.",
        "kernel_release": "File: include/config/kernel.release (the release modules are installed under).",
        "makefile": "File: the source tree's top-level Makefile.",
        "module_outs": "List of Files: the modules, in declaration order.",
        "module_symvers": "File or None: Module.symvers (the symbols external modules link against).",
        "modules_order": "File: modules.order.",
        "objtree_archive": "File or None: `<name>/objtree.tar`, the object-tree paths kept for later makes " +
                           "(tree paths read @SRCTREE@ and @OBJTREE@).",
        "srcs": "Depset of Files: the kernel source tree.",
    },
)

def kernel_makefile(label, files):
    """The top-level Makefile of a kernel source tree: the shortest path.

    Args:
      label: the target the sources belong to, for the error message.
      files: the Files of the kernel source tree.

    Returns:
      The File of the top-level Makefile.
    """
    makefile = None
    for f in files:
        if f.basename == "Makefile" and (makefile == None or len(f.path) < len(makefile.path)):
            makefile = f
    if not makefile:
        fail("%s: the kernel sources have no Makefile: they must be a kernel source tree" % label)
    return makefile

# kbuild's SRCARCH for ARCH (the arch/ directory).
_SRCARCH = {"arm64": "arm64", "i386": "x86", "powerpc": "powerpc", "s390": "s390", "x86_64": "x86"}

def kbuild_source_paths(arch):
    """The source-tree paths a make over a finished object tree reads.

    What `make M=` of an external module and the remake of a boot image
    (kernel_images) read of the source tree, besides the object tree's own
    files (objtree_archive): the top Makefile, kbuild's scripts, the headers,
    the architecture's directory (its Makefile, headers, boot image sources),
    lib/ (the decompressors the x86 boot image's objects were compiled
    from) and tools/'s headers (the host programs' recorded dependencies:
    make checks every file a target's .cmd names, and would rebuild the
    target if one were missing). The rest of the tree (about 70000 of its 80000 files) is no
    input of those actions: as inputs, its files cost each action a sandbox
    of 80000 symlinks. Kleaf's `modules_prepare` and its module header and
    script filegroups play this part there.

    Args:
      arch: kbuild ARCH.

    Returns:
      Paths relative to the source tree: "Makefile" and directories ending in "/".
    """
    srcarch = _SRCARCH.get(arch, arch)
    return ["Makefile", "include/", "scripts/", "lib/", "arch/%s/" % srcarch, "tools/include/", "tools/arch/%s/include/" % srcarch]

def _kbuild_sources(ctx, makefile):
    """The action that archives kbuild_source_paths of the source tree."""
    root = makefile.dirname + "/"
    prefixes = [root + p for p in kbuild_source_paths(ctx.attr.arch)]
    files = [f for f in ctx.files.srcs if f.path.startswith(tuple(prefixes))]
    out = ctx.actions.declare_file(ctx.label.name + "/kbuild_sources.tar")
    args = ctx.actions.args()
    args.add(out)
    args.add(root)
    args.add_all(files)
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    ctx.actions.run(
        executable = ctx.executable._kbuild_sources_script,
        arguments = [args],
        inputs = files,
        outputs = [out],
        mnemonic = "KbuildSources",
        # It reads exactly the files it is given (their list is its
        # command line); a sandbox of 9000 symlinks would cost it more than
        # the tar itself.
        execution_requirements = {"no-sandbox": "1"},
        progress_message = "Archiving the kernel sources later makes over %s read" % ctx.label,
        env = {"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
    )
    return out

def _object_tree_path(ctx, f):
    """The path of a declared output in the kernel's object tree."""
    prefix = (ctx.label.package + "/" if ctx.label.package else "") + ctx.label.name + "/"
    return f.short_path[len(prefix):]

def _kernel_build_impl(ctx):
    makefile = kernel_makefile(ctx.label, ctx.files.srcs)
    outputs = ctx.outputs.outs + ctx.outputs.module_outs + [
        ctx.outputs.modules_order,
        ctx.outputs.config,
        ctx.outputs.buildinfo,
        ctx.outputs.kernel_release,
        ctx.outputs.module_symvers,
    ]
    if ctx.outputs.objtree_archive:
        outputs.append(ctx.outputs.objtree_archive)
    out_dir = ctx.outputs.modules_order.dirname

    goals = list(ctx.attr.make_goals)
    if ctx.outputs.module_outs and "modules" not in goals:
        goals.append("modules")

    args = ctx.actions.args()
    args.add(makefile)
    args.add(out_dir)
    args.add(ctx.attr.arch)
    args.add(ctx.attr.cross_compile)
    args.add(ctx.attr.defconfig)
    args.add_joined(ctx.files.config_fragments, join_with = ":")
    args.add(":".join([_object_tree_path(ctx, f) for f in ctx.outputs.outs]))
    args.add(":".join([_object_tree_path(ctx, f) for f in ctx.outputs.module_outs]))
    args.add(":".join(goals))
    args.add(":".join(["%s=%s" % (t.files.to_list()[0].path, dest) for t, dest in ctx.attr.objtree_files.items()]))
    if ctx.outputs.objtree_archive:
        args.add(ctx.outputs.objtree_archive)
        args.add(":".join(ctx.attr.objtree_archive_paths))

    # Host tools (make, gcc or the cross gcc, flex, bison, ...) from a fixed
    # PATH; the reproducibility settings of kbuild.
    env = {
        "KBUILD_BUILD_HOST": "modhash",
        "KBUILD_BUILD_TIMESTAMP": ctx.attr.build_timestamp,
        "KBUILD_BUILD_USER": "modhash",
        "KBUILD_BUILD_VERSION": "1",
        "LC_ALL": "C",
        "PATH": "/usr/bin:/bin",
        "TZ": "UTC",
    }
    ctx.actions.run(
        executable = ctx.executable._script,
        arguments = [args],
        inputs = depset(ctx.files.config_fragments + ctx.files.objtree_files, transitive = [depset(ctx.files.srcs)]),
        outputs = outputs,
        mnemonic = "KernelBuild",
        progress_message = "Building the %s kernel %s (make %s)" % (ctx.attr.arch, ctx.label, " ".join(goals)),
        env = env,
    )

    # A separate action, off the kernel build's path (it reads sources only).
    kbuild_sources = _kbuild_sources(ctx, makefile) if ctx.outputs.objtree_archive else None
    return [
        KernelBuildInfo(
            arch = ctx.attr.arch,
            cross_compile = ctx.attr.cross_compile,
            env = env,
            kbuild_sources = kbuild_sources,
            kernel_release = ctx.outputs.kernel_release,
            makefile = makefile,
            module_outs = ctx.outputs.module_outs,
            module_symvers = ctx.outputs.module_symvers,
            modules_order = ctx.outputs.modules_order,
            objtree_archive = ctx.outputs.objtree_archive,
            srcs = depset(ctx.files.srcs),
        ),
        DefaultInfo(files = depset(outputs)),
        OutputGroupInfo(
            modules = depset(ctx.outputs.module_outs),
            modules_order = depset([ctx.outputs.modules_order]),
            kbuild_sources = depset([kbuild_sources] if kbuild_sources else []),
        ),
    ]

_kernel_build = rule(
    implementation = _kernel_build_impl,
    attrs = {
        "arch": attr.string(mandatory = True, doc = "kbuild ARCH (x86_64, arm64, s390, powerpc)."),
        "build_timestamp": attr.string(default = "Thu Jan  1 00:00:00 UTC 1970"),
        "buildinfo": attr.output(),
        "config": attr.output(),
        "config_fragments": attr.label_list(allow_files = True),
        "cross_compile": attr.string(doc = "kbuild CROSS_COMPILE, e.g. aarch64-linux-gnu-."),
        "defconfig": attr.string(default = "tinyconfig"),
        "kernel_release": attr.output(),
        "make_goals": attr.string_list(default = ["vmlinux"]),
        "module_outs": attr.output_list(),
        "module_symvers": attr.output(),
        "modules_order": attr.output(),
        "objtree_archive": attr.output(),
        "objtree_archive_paths": attr.string_list(doc = "Object-tree paths archived in `objtree_archive`."),
        "objtree_files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "Files copied into the object tree before make, to the path given (e.g. the signing key that CONFIG_MODULE_SIG_KEY names).",
        ),
        "outs": attr.output_list(),
        "srcs": attr.label_list(allow_files = True, mandatory = True),
        "_kbuild_sources_script": attr.label(
            default = Label("//examples/linux:kbuild_sources.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
        "_script": attr.label(
            default = Label("//examples/linux:kernel_build.sh"),
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
)

def kernel_build(name, srcs, outs, module_outs = [], objtree_archive = [], **kwargs):
    """A kernel build: `outs` and `module_outs` are object-tree paths.

    Args:
      name: the target; outputs are `<name>/<path>`.
      srcs: the kernel source tree (a filegroup such as `@linux_6_12//:sources`).
      outs: files of the object tree to declare, e.g. `vmlinux`,
        `arch/arm64/boot/Image`. Their make goals go in `make_goals`.
      module_outs: the modules the build makes (`lib/crc7.ko`); the build
        fails unless modules.order lists exactly these.
      objtree_archive: object-tree paths (generated headers, recorded
        commands) to keep in `<name>/objtree.tar` for later checks; the
        build's tree paths in them read @SRCTREE@ and @OBJTREE@.
      **kwargs: `arch`, `cross_compile`, `defconfig`, `config_fragments`,
        `make_goals`, and common attributes.
    """
    _kernel_build(
        name = name,
        srcs = srcs if type(srcs) == "list" else [srcs],
        outs = [name + "/" + o for o in outs],
        module_outs = [name + "/" + m for m in module_outs],
        modules_order = name + "/modules.order",
        config = name + "/kernel.config",
        buildinfo = name + "/kernel.buildinfo",
        kernel_release = name + "/include/config/kernel.release",
        module_symvers = name + "/Module.symvers",
        objtree_archive = name + "/objtree.tar" if objtree_archive else None,
        objtree_archive_paths = objtree_archive,
        **kwargs
    )
