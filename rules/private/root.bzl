"""module_hashes_root: hash, tree, sign (and strip, compress) a kernel's modules."""

load("@rules_cc//cc:find_cc_toolchain.bzl", "find_cc_toolchain", "use_cc_toolchain")
load(":providers.bzl", "ModuleHashesInfo")
load(":tool.bzl", "MODHASH_ATTRS", "WORKER_EXECUTION_REQUIREMENTS", "modhash_executable", "run_modhash_worker_action")

BYTE_ORDERS = ["little", "big"]

# Compression format -> file extension, as the kernel's modules_install names
# compressed modules (CONFIG_MODULE_COMPRESS_*).
COMPRESSION_EXTENSIONS = {
    "gzip": ".gz",
    "none": "",
    "xz": ".xz",
    "zstd": ".zst",
}

def _stem(basename, suffix):
    """The module's name without its suffix (`dummy.ko` -> `dummy`)."""
    if suffix and basename.endswith(suffix) and len(basename) > len(suffix):
        return basename[:-len(suffix)]
    i = basename.rfind(".")
    return basename[:i] if i > 0 else basename

def _check_attrs(ctx):
    """Checks what Bazel's attribute types and `values` cannot; fails with a clear message."""
    where = "module_hashes_root %s" % ctx.label
    if ctx.attr.modules_order and not ctx.attr.suffix:
        fail("%s: suffix must not be empty: it replaces .o in modules.order lines" % where)
    for attr in ["batch_size", "sign_batch_size"]:
        if getattr(ctx.attr, attr) < 1:
            fail("%s: %s must be at least 1, got %d" % (where, attr, getattr(ctx.attr, attr)))

def _collect_modules(ctx):
    """The module Files in attribute order; fails on ambiguous inputs."""
    where = "module_hashes_root %s" % ctx.label
    modules = []
    by_basename = {}
    for target in ctx.attr.modules + ctx.attr.external_modules:
        files = target.files.to_list()
        if len(files) != 1:
            fail("%s: modules: %s gives %d files, want exactly one module file (%s)" % (
                where,
                target.label,
                len(files),
                ", ".join([f.short_path for f in files]) or "none",
            ))
        f = files[0]
        if f.basename in by_basename:
            fail(("%s: modules: two modules are named %s: %s and %s. Module names " +
                  "must be unique (the kernel loads modules by name, and the " +
                  "outputs are <name>/signed/<basename>)") % (
                where,
                f.basename,
                by_basename[f.basename].short_path,
                f.short_path,
            ))
        if ctx.attr.modules_order and not f.basename.endswith(ctx.attr.suffix):
            fail(("%s: modules: %s does not end in suffix %r, so no line of " +
                  "modules_order (objects such as drivers/foo/bar.o, module " +
                  "drivers/foo/bar%s) can name it") % (
                where,
                f.short_path,
                ctx.attr.suffix,
                ctx.attr.suffix,
            ))
        by_basename[f.basename] = f
        modules.append(f)
    return modules

def _params_file(ctx, basename, args):
    """Writes args, one per line, to <name>/<basename>; returns the File.

    The long argument lists (a few per module) go into files that modhash
    reads as @FILE, so that thousands of modules fit any command line. The
    files are declared outputs rather than Args.use_param_file ones so that
    they can be inspected (bazel-bin) and checked by analysis tests.
    """
    f = ctx.actions.declare_file("%s/%s" % (ctx.label.name, basename))
    args.set_param_file_format("multiline")
    ctx.actions.write(output = f, content = args)
    return f

def _batches(n, size):
    """[start, end) ranges that cut range(n) into consecutive runs of at most size."""
    return [(i, min(i + size, n)) for i in range(0, n, size)]

def _run_modhash_params(ctx, command, params_basename, args, **kwargs):
    """Runs `modhash COMMAND @<name>/PARAMS_BASENAME`, args written to that file.

    The actions with thousands of arguments (tree, proofs, sign): a worker
    gets the parameter file as its request, so no sandbox of thousands of
    input links is built either.

    Args:
      ctx: the rule context.
      command: the modhash command ("tree", "sign").
      params_basename: the parameter file's name under <name>/.
      args: the command's arguments (an Args object).
      **kwargs: inputs (without the parameter file), outputs, mnemonic,
        progress_message.
    """
    params = _params_file(ctx, params_basename, args)
    cmd = ctx.actions.args()
    cmd.add(command)
    cmd.add(params, format = "@%s")
    ctx.actions.run(
        executable = modhash_executable(ctx),
        arguments = [cmd],
        inputs = kwargs.pop("inputs") + [params],
        execution_requirements = WORKER_EXECUTION_REQUIREMENTS,
        **kwargs
    )

# Runs `TOOL FLAGS... -o OUT MODULE` for each MODULE OUT pair, in order.
# Arguments: TOOL, the number of flags, the flags, then the pairs.
_STRIP_BATCH = """\
tool=$1; nflags=$2; shift 2
flags=("${@:1:$nflags}"); shift "$nflags"
while [ "$#" -gt 0 ]; do
  "$tool" "${flags[@]}" -o "$2" "$1" || exit
  shift 2
done
"""

def _strip(ctx, modules):
    """Declares <name>/stripped/<basename> of each module: stripped by `strip_tool` or the C toolchain.

    One ModuleHashStrip action per `batch_size` modules: each action is a
    process and a sandbox, which cost more than stripping one module.
    """
    outs = [
        ctx.actions.declare_file("%s/stripped/%s" % (ctx.label.name, m.basename))
        for m in modules
    ]
    if ctx.attr.strip_tool:
        tool = ctx.attr.strip_tool[DefaultInfo].files_to_run
        tool_path = tool.executable.path
        tool_inputs = []
    else:
        cc_toolchain = find_cc_toolchain(ctx)
        tool = None
        tool_path = cc_toolchain.strip_executable
        tool_inputs = [cc_toolchain.all_files]
    for start, end in _batches(len(modules), ctx.attr.batch_size):
        args = ctx.actions.args()
        args.add(tool_path)
        args.add(str(len(ctx.attr.strip_flags)))
        args.add_all(ctx.attr.strip_flags)
        for m, out in zip(modules[start:end], outs[start:end]):
            args.add(m)
            args.add(out)
        ctx.actions.run_shell(
            command = _STRIP_BATCH,
            arguments = [args],
            inputs = depset(modules[start:end], transitive = tool_inputs),
            tools = [tool] if tool else [],
            outputs = outs[start:end],
            mnemonic = "ModuleHashStrip",
            progress_message = "Stripping %d modules (%s ...) for %s" % (end - start, modules[start].short_path, ctx.label),
        )
    return outs

def _order_name(ctx, module, external):
    """Returns the module's name in its leaf.

    With modules_order: its path relative to the directory of modules.order
    (how that file names modules; the tree matches names exactly), and for
    an external module `extra/<basename>`, where it is installed. Else its
    workspace-relative path.
    """
    if not ctx.file.modules_order:
        return module.short_path
    if external:
        return "extra/" + module.basename
    d = ctx.file.modules_order.short_path.rpartition("/")[0]
    prefix = d + "/" if d else ""
    if not module.short_path.startswith(prefix):
        fail(("module_hashes_root %s: modules: %s is not below %s, the directory of " +
              "modules_order: modules.order names modules relative to its directory") % (
            ctx.label,
            module.short_path,
            d or "the workspace root",
        ))
    return module.short_path[len(prefix):]

def _leaves(ctx, modules, hashed, stems, n_in_tree):
    """Declares <name>/leaves/<stem>.json of each module: leaf(pos, hashed).

    One ModuleHashLeaf action (`modhash leaf -pos FIRST MODULE=OUT=NAME...`)
    per `batch_size` consecutive modules. The position is the module's index
    in `modules`, known at analysis: with modules_order, the tree action
    checks every leaf against its line (and names the modules by their
    modules.order paths), so a leaf does not read modules.order and does not
    re-run when only other lines change.
    """
    outs = [
        ctx.actions.declare_file("%s/leaves/%s.json" % (ctx.label.name, stem))
        for stem in stems
    ]
    for start, end in _batches(len(modules), ctx.attr.batch_size):
        args = ctx.actions.args()
        args.add("leaf")
        args.add("-pos", str(start))

        # The name recorded in the leaf and matched exactly against
        # modules.order by the tree: the input module's path (configuration
        # independent), not that of its stripped copy.
        args.add_all([
            "%s=%s=%s" % (hashed[pos].path, outs[pos].path, _order_name(ctx, modules[pos], pos >= n_in_tree))
            for pos in range(start, end)
        ])
        run_modhash_worker_action(
            ctx,
            args,
            inputs = hashed[start:end],
            outputs = outs[start:end],
            mnemonic = "ModuleHashLeaf",
            progress_message = "Hashing %d modules (%s ...) for %s" % (end - start, modules[start].short_path, ctx.label),
        )
    return outs

def _tree_order(ctx, stems):
    """The modules.order of the tree.

    The kernel build's, then one line per external module
    (`extra/<stem>.o`), in `external_modules` order.
    """
    if not ctx.attr.external_modules or not ctx.file.modules_order:
        return ctx.file.modules_order
    out = ctx.actions.declare_file(ctx.label.name + "/modules.order")
    lines = ["extra/%s.o" % stem for stem in stems[len(ctx.attr.modules):]]
    ctx.actions.run_shell(
        command = 'cat "$1" > "$2" && printf "%s\\n" "${@:3}" >> "$2"',
        arguments = [ctx.file.modules_order.path, out.path] + lines,
        inputs = [ctx.file.modules_order],
        outputs = [out],
        mnemonic = "ModuleHashOrder",
        progress_message = "Appending %d external modules to %s for %s" % (len(lines), ctx.file.modules_order.short_path, ctx.label),
    )
    return out

def _tree(ctx, leaves, order):
    """Declares the manifest and root record (the tree's checks: order, positions)."""
    manifest = ctx.actions.declare_file(ctx.label.name + "/manifest.json")
    record = ctx.actions.declare_file(ctx.label.name + "/root.bin")
    args = ctx.actions.args()

    # The leaves come in the order of the modules attribute, which must be
    # the tree order: every list in ModuleHashesInfo is in that order.
    args.add("-in-order")
    args.add("-manifest", manifest)
    args.add("-record", record)
    args.add("-byte-order", ctx.attr.byte_order)
    inputs = list(leaves)
    if order:
        args.add("-order", order)
        args.add("-suffix", ctx.attr.suffix)
        inputs.append(order)
    args.add_all(leaves)
    _run_modhash_params(
        ctx,
        "tree",
        "tree.params",
        args,
        inputs = inputs,
        outputs = [manifest, record],
        mnemonic = "ModuleHashTree",
        progress_message = "Building the module hashes tree of %d modules for %s" % (
            len(leaves),
            ctx.label,
        ),
    )
    return manifest, record

def _proofs(ctx, leaves, stems):
    """Declares <name>/proofs/<stem>.merkle of every module, in one action.

    Nothing else needs them (signing computes the proofs from the leaves):
    they are built only when asked for (the `proofs` output group, or
    ModuleHashesInfo.proofs as an input), so a build of the signed modules
    does not write thousands of files it does not use.
    """
    proofs = [
        ctx.actions.declare_file("%s/proofs/%s.merkle" % (ctx.label.name, stem))
        for stem in stems
    ]
    if not leaves:
        return proofs
    args = ctx.actions.args()
    args.add("-in-order")
    args.add_all(["%s=%s" % (leaf.path, proof.path) for leaf, proof in zip(leaves, proofs)])
    _run_modhash_params(
        ctx,
        "tree",
        "proofs.params",
        args,
        inputs = leaves,
        outputs = proofs,
        mnemonic = "ModuleHashProofs",
        progress_message = "Writing the proofs of %d modules for %s" % (len(leaves), ctx.label),
    )
    return proofs

def _sign(ctx, hashed, leaves, order):
    """Declares <name>/signed/<basename> for every module.

    One ModuleHashSign action per `sign_batch_size` modules. Each computes
    every proof from all the leaves (no proof files) and checks every
    result against that tree's root as the kernel would, before anything
    is written; with modules_order, it checks the leaves against it as the
    tree action does. It does not wait for the tree action: the vmlinux
    gets that action's root, and module_hashes_test checks each signed
    module against that vmlinux.
    """
    signed = [
        ctx.actions.declare_file("%s/signed/%s" % (ctx.label.name, m.basename))
        for m in hashed
    ]
    batches = _batches(len(hashed), ctx.attr.sign_batch_size)
    tree_leaves = None
    if len(batches) > 1:
        # The whole tree's leaves, for every batch: one file, not one copy
        # per parameter file.
        tree_leaves = ctx.actions.declare_file(ctx.label.name + "/sign-leaves.list")
        ctx.actions.write(tree_leaves, "".join([leaf.path + "\n" for leaf in leaves]))
    for start, end in batches:
        args = ctx.actions.args()
        args.add("-leaves")
        inputs = hashed[start:end] + leaves
        if tree_leaves:
            args.add("-tree-leaves", tree_leaves)
            inputs.append(tree_leaves)
        if order:
            args.add("-order", order)
            args.add("-suffix", ctx.attr.suffix)
            inputs.append(order)
        args.add_all([
            "%s=%s=%s" % (m.path, leaf.path, s.path)
            for m, leaf, s in zip(hashed[start:end], leaves[start:end], signed[start:end])
        ])
        _run_modhash_params(
            ctx,
            "sign",
            "sign.params" if len(batches) == 1 else "sign-%d.params" % start,
            args,
            inputs = inputs,
            outputs = signed[start:end],
            mnemonic = "ModuleHashSign",
            progress_message = "Appending proofs to %d modules for %s" % (end - start, ctx.label),
        )
    return signed

def _compress(ctx, signed):
    """Declares <name>/compressed/<basename><ext> of one signed module."""
    ext = COMPRESSION_EXTENSIONS[ctx.attr.compression]
    out = ctx.actions.declare_file("%s/compressed/%s%s" % (ctx.label.name, signed.basename, ext))
    args = ctx.actions.args()
    args.add("compress")
    args.add("-format", ctx.attr.compression)
    args.add("-o", out)
    args.add(signed)
    run_modhash_worker_action(
        ctx,
        args,
        inputs = [signed],
        outputs = [out],
        mnemonic = "ModuleHashCompress",
        progress_message = "Compressing module %s (%s) for %s" % (signed.basename, ctx.attr.compression, ctx.label),
    )
    return out

def _module_hashes_root_impl(ctx):
    _check_attrs(ctx)
    modules = _collect_modules(ctx)
    hashed = _strip(ctx, modules) if ctx.attr.strip else modules
    stems = [_stem(m.basename, ctx.attr.suffix) for m in modules]
    leaves = _leaves(ctx, modules, hashed, stems, len(ctx.attr.modules))
    order = _tree_order(ctx, stems)
    manifest, record = _tree(ctx, leaves, order)
    proofs = _proofs(ctx, leaves, stems)
    signed = _sign(ctx, hashed, leaves, order) if modules else []
    compressed = []
    if ctx.attr.compression != "none":
        compressed = [_compress(ctx, s) for s in signed]

    installed = compressed if compressed else signed
    default_outputs = [manifest, record] + installed
    return [
        # Runfiles too, so that `data = [<this target>]` brings the outputs.
        DefaultInfo(
            files = depset(default_outputs),
            runfiles = ctx.runfiles(files = default_outputs),
        ),
        OutputGroupInfo(
            compressed = depset(compressed),
            hashed = depset(hashed),
            leaves = depset(leaves),
            manifest = depset([manifest]),
            proofs = depset(proofs),
            root_record = depset([record]),
            signed = depset(signed),
        ),
        ModuleHashesInfo(
            byte_order = ctx.attr.byte_order,
            compressed_modules = compressed,
            hashed_modules = hashed,
            leaves = leaves,
            manifest = manifest,
            modules = modules,
            modules_order = order,
            proofs = proofs,
            root_record = record,
            signed_modules = signed,
            suffix = ctx.attr.suffix,
        ),
    ]

module_hashes_root = rule(
    implementation = _module_hashes_root_impl,
    doc = """Builds the module hashes tree (the kernel's `CONFIG_MODULE_HASHES`) over
a kernel's modules and signs every module with its proof.

The chain, as the kernel build does it: strip each module (`strip = True`,
action `ModuleHashStrip`, one per `batch_size` modules) → hash each module
into its leaf (`ModuleHashLeaf`, one action per `batch_size` modules, so a
changed module re-hashes its batch only) → build the tree from the leaves
(`ModuleHashTree`: manifest and root record, checked against
`modules_order`) → append each module's proof to it (`ModuleHashSign`, one
action per `sign_batch_size` modules, beside the tree action, not after
it: each computes the whole tree from the leaves, checks them against
`modules_order` too, and checks every result against that root as the
kernel would) → compress each signed module (`compression`,
`ModuleHashCompress`). The proof files (`ModuleHashProofs`) are built only
when asked for (`proofs` output group): nothing else needs them. All format
work is done by the `modhash` tool.

Signing takes few actions on purpose: every proof holds a node on every
other module's path to the root, so every proof changes whenever any module
changes. Per-module signing actions would all re-run after any change
anyway, and would cost one sandbox set-up each (thousands for a
distribution kernel). More than one lets Bazel delete and digest a
distribution kernel's signed modules on several cores.

Outputs (`<name>` is the target's name, `<stem>` the module's basename
without `suffix`):

* `<name>/manifest.json`: levels, root, and per module pos, name, size and
  leaf (names are `modules.order` paths with `modules_order`, else the
  modules' workspace paths).
* `<name>/root.bin`: the 36-byte `.module_hashes` section data, `levels` in
  `byte_order`. `module_hashes_vmlinux` writes it into vmlinux.
* `<name>/leaves/<stem>.json` and `<name>/proofs/<stem>.merkle`.
* `<name>/stripped/<basename>` (`strip = True`): the bytes that are hashed.
* `<name>/signed/<basename>`: the modules to install (module + proof).
* `<name>/compressed/<basename>.gz|.xz|.zst` (`compression`).

Each signed (and compressed) module is its own declared file rather than a
directory (TreeArtifact): each is then its own blob in a remote cache and
its own input elsewhere (a package can depend on one module, a test can
check one module, `bazel build` can name it in `--output_groups`), and
actions that consume them see ordinary files.

Default outputs: the manifest, the root record and the installable modules
(compressed ones when `compression` is set, else signed ones). Output
groups: `proofs`, `leaves`, `signed`, `compressed`, `hashed` (the stripped
copies, or the inputs), `manifest`, `root_record`. Provider:
`ModuleHashesInfo`.

A tree over no modules (`modules = []`) is valid: levels 0, a root of 32
zero bytes, no proofs; the kernel then refuses every module.""",
    attrs = dict({
        "batch_size": attr.int(
            default = 64,
            doc = "Modules per `ModuleHashStrip` and `ModuleHashLeaf` action (consecutive " +
                  "positions). Each action costs Bazel a few milliseconds and, " +
                  "sandboxed, a process and a sandbox, more than hashing or " +
                  "stripping one module; a changed module re-runs its batch only. " +
                  "1 gives one action per module.",
        ),
        "byte_order": attr.string(
            default = "little",
            values = BYTE_ORDERS,
            doc = "Byte order of the `levels` field in `root.bin`: the target's. (The vmlinux written by " +
                  "`module_hashes_vmlinux` takes it from vmlinux's ELF header.)",
        ),
        "compression": attr.string(
            default = "none",
            values = sorted(COMPRESSION_EXTENSIONS),
            doc = "Compress each signed module (`.gz`, `.xz`, `.zst`) as the kernel's " +
                  "`CONFIG_MODULE_COMPRESS_*` do after signing: the proof is " +
                  "inside the compressed file, the kernel checks the decompressed bytes.",
        ),
        "external_modules": attr.label_list(
            allow_files = True,
            doc = "External (out-of-tree) modules built against the same kernel, " +
                  "each target giving one file: leaves after all of `modules`, in " +
                  "this order. With `modules_order`, the tree's order is that file " +
                  "followed by one line `extra/<stem>.o` per external module, and " +
                  "their leaves are named `extra/<basename>`, where " +
                  "`modules_install` puts them. Adding one changes the root and " +
                  "every proof (the tree has one more leaf), so every module must " +
                  "be signed again: which the rules do.",
        ),
        "modules": attr.label_list(
            allow_files = True,
            doc = "The built modules (`.ko` files), each target giving exactly one " +
                  "file. Basenames must be unique. The tree order: position = index " +
                  "here. With `modules_order`, positions come from that file and " +
                  "this list must be in the same order (the tree action fails " +
                  "otherwise, naming the first module out of place), so that every " +
                  "list in `ModuleHashesInfo` is in tree order.",
        ),
        "modules_order": attr.label(
            allow_single_file = True,
            doc = "A kbuild `modules.order` (one object per line, such as " +
                  "`drivers/net/dummy.o`) giving each module's position: module " +
                  "`.../drivers/net/dummy<suffix>` is at the 0-based line naming " +
                  "`drivers/net/dummy.o`. It must list exactly the `modules`.",
        ),
        "sign_batch_size": attr.int(
            default = 2048,
            doc = "Modules per `ModuleHashSign` action (consecutive positions). Every " +
                  "action reads all the leaves and re-runs after any change. Bazel deletes " +
                  "and digests each action's outputs in one thread, so a kernel with " +
                  "thousands of modules is signed by several actions at once: about the " +
                  "module count divided by the cores, the default being measured best on " +
                  "two cores for 4022 modules (docs/performance.md).",
        ),
        "strip": attr.bool(
            default = False,
            doc = "Strip each module with `strip_tool` (default: the C toolchain's `strip`) and " +
                  "`strip_flags` before hashing, like the kernel's " +
                  "`INSTALL_MOD_STRIP`: the hashed and the signed bytes are the " +
                  "stripped ones.",
        ),
        "strip_flags": attr.string_list(
            default = ["--strip-debug"],
            doc = "Flags for `strip` (with `strip = True`). `--strip-debug` is what " +
                  "`INSTALL_MOD_STRIP=1` uses.",
        ),
        "strip_tool": attr.label(
            executable = True,
            cfg = "exec",
            doc = "The `strip` program for the modules' target (with `strip = True`), " +
                  "run as `strip_tool STRIP_FLAGS -o OUT MODULE`: e.g. a wrapper of " +
                  "`aarch64-linux-gnu-strip` for arm64 modules, which the host's " +
                  "`strip` cannot read. Default: the C toolchain's `strip`.",
        ),
        "suffix": attr.string(
            default = ".ko",
            doc = "Module file suffix that replaces `.o` in `modules.order` lines; " +
                  "also removed from basenames to name proofs and leaves.",
        ),
        "_cc_toolchain": attr.label(
            default = Label("@rules_cc//cc:current_cc_toolchain"),
            doc = "The C toolchain, for `strip` (where C toolchain resolution is off).",
        ),
    }, **MODHASH_ATTRS),
    fragments = ["cpp"],
    toolchains = use_cc_toolchain(),
)
