"""Analysis tests of //rules:defs.bzl (skylib analysistest and asserts).

They check what the rules declare, without running any action: provider
contents and order, output names, actions and their command lines (param
files, the tool in the exec configuration), and analysis-time failures.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules:defs.bzl", "ModuleHashesInfo")
load(":analysis_testing.bzl", "make", "target_actions", "target_bin_dir_path")

def _basenames(files):
    return [f.basename for f in files]

def _paths_under(files, prefix):
    """Paths of files relative to prefix (`<package>/<target>/`), or full ones."""
    return [f.short_path[len(prefix):] if f.short_path.startswith(prefix) else f.short_path for f in files]

def _actions(env, mnemonic):
    return [a for a in target_actions(env) if a.mnemonic == mnemonic]

def _mnemonic_counts(env):
    counts = {}
    for a in target_actions(env):
        counts[a.mnemonic] = counts.get(a.mnemonic, 0) + 1
    return counts

def _file_writes(env):
    """{short_path: the FileWrite action that writes it} of the target's files."""
    writes = {}
    for a in _actions(env, "FileWrite"):
        for f in a.outputs.to_list():
            writes[f.short_path] = a
    return writes

def _flag_value(argv, flag):
    for i in range(len(argv) - 1):
        if argv[i] == flag:
            return argv[i + 1]
    return None

def _leaf_jobs(a):
    """[(pos, module path, leaf path, name)] of a ModuleHashLeaf action (`leaf -pos FIRST MODULE=OUT=NAME...`)."""
    i = a.argv.index("-pos")
    first = int(a.argv[i + 1])
    return [
        (first + k, job.split("=", 2)[0], job.split("=", 2)[1], job.split("=", 2)[2])
        for k, job in enumerate(a.argv[i + 2:])
    ]

def _strip_jobs(a):
    """[(module path, stripped path)] of a ModuleHashStrip action: its MODULE OUT pairs after the flags."""
    argv = a.argv

    # bash -c SCRIPT [""] TOOL NFLAGS FLAGS... MODULE OUT...
    i = [k for k, x in enumerate(argv) if "nflags" in x][0] + 1
    if argv[i] == "":
        i += 1
    rest = argv[i + 2 + int(argv[i + 1]):]
    return [(rest[k], rest[k + 1]) for k in range(0, len(rest), 2)]

# --- provider contents, attribute order, compression -------------------------

def _provider_contents_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]
    prefix = target.label.package + "/" + target.label.name + "/"

    asserts.equals(env, ["ext2.ko", "dummy.ko", "crc32c.ko"], _basenames(info.modules), "modules, in attribute order")
    asserts.equals(env, info.modules, info.hashed_modules, "without strip the modules themselves are hashed")
    asserts.equals(env, prefix + "manifest.json", info.manifest.short_path)
    asserts.equals(env, prefix + "root.bin", info.root_record.short_path)
    asserts.equals(env, "big", info.byte_order)
    asserts.equals(env, ".ko", info.suffix)
    asserts.equals(env, None, info.modules_order)
    asserts.equals(env, ["leaves/ext2.json", "leaves/dummy.json", "leaves/crc32c.json"], _paths_under(info.leaves, prefix))
    asserts.equals(env, ["proofs/ext2.merkle", "proofs/dummy.merkle", "proofs/crc32c.merkle"], _paths_under(info.proofs, prefix))
    asserts.equals(env, ["signed/ext2.ko", "signed/dummy.ko", "signed/crc32c.ko"], _paths_under(info.signed_modules, prefix))
    asserts.equals(
        env,
        ["compressed/ext2.ko.gz", "compressed/dummy.ko.gz", "compressed/crc32c.ko.gz"],
        _paths_under(info.compressed_modules, prefix),
    )

    # Default outputs: manifest, root record, installable (compressed) modules.
    asserts.equals(
        env,
        [info.manifest, info.root_record] + info.compressed_modules,
        target[DefaultInfo].files.to_list(),
    )
    groups = target[OutputGroupInfo]
    asserts.equals(env, info.proofs, groups.proofs.to_list())
    asserts.equals(env, info.leaves, groups.leaves.to_list())
    asserts.equals(env, info.signed_modules, groups.signed.to_list())
    asserts.equals(env, info.compressed_modules, groups.compressed.to_list())

    asserts.equals(
        env,
        {"FileWrite": 3, "ModuleHashCompress": 3, "ModuleHashLeaf": 2, "ModuleHashProofs": 1, "ModuleHashSign": 1, "ModuleHashTree": 1},
        _mnemonic_counts(env),
        "batch_size 2: two leaf actions for three modules",
    )

    # Without modules_order, position = index in modules; names are the
    # workspace paths; batches of batch_size consecutive modules.
    positions = {}
    batches = []
    for a in _actions(env, "ModuleHashLeaf"):
        asserts.equals(env, None, _flag_value(a.argv, "-order"), "no -order without modules_order")
        jobs = _leaf_jobs(a)
        batches.append([pos for pos, _, _, _ in jobs])
        asserts.equals(env, sorted([out for _, _, out, _ in jobs]), sorted([f.path for f in a.outputs.to_list()]))
        for pos, module, out, name in jobs:
            positions[out.split("/")[-1]] = pos
            asserts.true(env, name.startswith("examples/minikernel/") and module.endswith("/" + name), "the name is the workspace path: %s of %s" % (name, module))
    asserts.equals(env, {"crc32c.json": 2, "dummy.json": 1, "ext2.json": 0}, positions)
    asserts.equals(env, [[0, 1], [2]], sorted(batches))

    for a in _actions(env, "ModuleHashCompress"):
        asserts.equals(env, "gzip", _flag_value(a.argv, "-format"))
    return analysistest.end(env)

provider_contents_test = make(_provider_contents_test_impl)

# --- the example: modules_order, strip, check ---------------------------------

def _example_chain_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]
    prefix = target.label.package + "/" + target.label.name + "/"

    order = ["dummy", "loop", "evdev", "usb-storage", "ext2", "vfat", "ipv6", "crc32c"]
    asserts.equals(env, [m + ".ko" for m in order], _basenames(info.modules))
    asserts.equals(env, ["stripped/%s.ko" % m for m in order], _paths_under(info.hashed_modules, prefix))
    asserts.equals(env, ["proofs/%s.merkle" % m for m in order], _paths_under(info.proofs, prefix))
    asserts.equals(env, ["signed/%s.ko" % m for m in order], _paths_under(info.signed_modules, prefix))
    asserts.equals(env, [], info.compressed_modules)
    asserts.equals(env, "modules.order", info.modules_order.basename)
    asserts.equals(
        env,
        {
            "FileWrite": 3,  # tree.params, proofs.params, sign.params
            "ModuleHashLeaf": 1,  # batch_size 64
            "ModuleHashProofs": 1,
            "ModuleHashSign": 1,
            "ModuleHashStrip": 1,
            "ModuleHashTree": 1,
        },
        _mnemonic_counts(env),
    )
    asserts.equals(
        env,
        [f.short_path for f in [info.manifest, info.root_record] + info.signed_modules],
        [f.short_path for f in target[DefaultInfo].files.to_list()],
        "default outputs: manifest, root record, signed modules",
    )

    # The strip action: the C toolchain's strip, strip_flags, each module
    # to its stripped copy.
    for a in _actions(env, "ModuleHashStrip"):
        asserts.true(env, "--strip-debug" in a.argv, str(a.argv))
        asserts.equals(
            env,
            [(m.path, h.path) for m, h in zip(info.modules, info.hashed_modules)],
            _strip_jobs(a),
        )
        asserts.equals(env, sorted([f.path for f in info.hashed_modules]), sorted([f.path for f in a.outputs.to_list()]))

    # The leaf action hashes the stripped copies at their indexes in
    # `modules`; modules.order is not an input (the tree checks the leaves
    # against it).
    leaf_positions = []
    for a in _actions(env, "ModuleHashLeaf"):
        asserts.equals(env, None, _flag_value(a.argv, "-order"))
        for pos, module, _, name in _leaf_jobs(a):
            asserts.true(env, module.startswith(target_bin_dir_path(env) + "/" + prefix + "stripped/"), "hashes the stripped module: " + module)
            asserts.true(env, not name.startswith("examples/"), "the name is relative to the directory of modules.order: " + name)
            asserts.true(env, name.endswith("/" + module.split("/")[-1]), "the name names the module: " + name)
            leaf_positions.append((str(pos), module.split("/")[-1]))
        inputs = _basenames(a.inputs.to_list())
        asserts.false(env, "modules.order" in inputs, "modules.order is not a leaf input: " + str(inputs))
    asserts.equals(
        env,
        [(str(i), m + ".ko") for i, m in enumerate(order)],
        sorted(leaf_positions),
        "leaf positions are the indexes in modules",
    )

    tree = _actions(env, "ModuleHashTree")[0]
    asserts.true(env, info.modules_order in tree.inputs.to_list(), "modules.order is an input of the tree")
    asserts.equals(
        env,
        sorted([f.path for f in [info.manifest, info.root_record]]),
        sorted([f.path for f in tree.outputs.to_list()]),
    )
    proofs = _actions(env, "ModuleHashProofs")[0]
    asserts.equals(env, sorted([f.path for f in info.proofs]), sorted([f.path for f in proofs.outputs.to_list()]))

    # Signing computes the proofs from the leaves: the proof files are not
    # its inputs, so they are built only when asked for; nor is the tree
    # action's manifest, so that signing does not wait for it. It checks
    # the leaves against modules.order itself.
    sign = _actions(env, "ModuleHashSign")[0]
    asserts.equals(env, sorted([f.path for f in info.signed_modules]), sorted([f.path for f in sign.outputs.to_list()]))
    sign_inputs = sign.inputs.to_list()
    for f in info.hashed_modules + info.leaves + [info.modules_order]:
        asserts.true(env, f in sign_inputs, "sign input " + f.short_path)
    for f in info.proofs + [info.manifest, info.root_record]:
        asserts.false(env, f in sign_inputs, "a sign input: " + f.short_path)
    return analysistest.end(env)

example_chain_test = make(_example_chain_test_impl)

# --- batches --------------------------------------------------------------------

def _first_module(jobs):
    return jobs[0][0]

def _batches_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]
    hashed = [f.path for f in info.hashed_modules]
    modules = [f.path for f in info.modules]

    # batch_size 3 over 8 modules: positions 0-2, 3-5, 6-7, for the strip
    # and the leaf actions alike; every module in exactly one batch.
    strips = sorted([_strip_jobs(a) for a in _actions(env, "ModuleHashStrip")], key = _first_module)
    asserts.equals(env, [[(modules[i], hashed[i]) for i in r] for r in [[0, 1, 2], [3, 4, 5], [6, 7]]], strips)
    leaves = sorted([_leaf_jobs(a) for a in _actions(env, "ModuleHashLeaf")])
    asserts.equals(env, [[0, 1, 2], [3, 4, 5], [6, 7]], [[j[0] for j in b] for b in leaves])
    asserts.equals(env, hashed, [j[1] for b in leaves for j in b])
    asserts.equals(env, [f.path for f in info.leaves], [j[2] for b in leaves for j in b])
    for a in _actions(env, "ModuleHashLeaf") + _actions(env, "ModuleHashStrip"):
        asserts.equals(env, len(a.outputs.to_list()), len([f for f in a.inputs.to_list() if f.path in hashed + modules]), "%s: one module input per output" % a.mnemonic)

    # sign_batch_size 3: three signing actions, each over the whole tree
    # (every leaf, listed once in sign-leaves.list, and modules.order), each
    # signing its own modules only.
    prefix = target.label.package + "/" + target.label.name + "/"
    writes = _file_writes(env)
    leaves_list_write = writes.get(prefix + "sign-leaves.list")
    asserts.equals(env, "".join([f.path + "\n" for f in info.leaves]), leaves_list_write.content if leaves_list_write else None)
    signs = _actions(env, "ModuleHashSign")
    asserts.equals(env, 3, len(signs))
    jobs = []
    for a in signs:
        inputs = a.inputs.to_list()
        for f in info.leaves + [info.modules_order]:
            asserts.true(env, f in inputs, "sign input " + f.short_path)
        own = [f for f in inputs if f.path in hashed]
        asserts.equals(env, len(a.outputs.to_list()), len(own), "one module input per output")
        params = [f.short_path for f in inputs if f.short_path.startswith(prefix + "sign-") and f.short_path.endswith(".params")]
        asserts.equals(env, 1, len(params), str(params))
        params_write = writes.get(params[0])
        lines = (params_write.content if params_write else "").rstrip("\n").split("\n")
        leaves_list = [f.path for f in inputs if f.short_path == prefix + "sign-leaves.list"]
        asserts.equals(env, ["-leaves", "-tree-leaves"] + leaves_list + ["-order", info.modules_order.path], lines[:5])
        jobs.append([line.split("=")[0] for line in lines if line.count("=") == 2])
    asserts.equals(env, [hashed[0:3], hashed[3:6], hashed[6:8]], [j for _, j in sorted([(hashed.index(j[0]), j) for j in jobs])])
    return analysistest.end(env)

batches_test = make(_batches_test_impl)

# --- param files and the tool's configuration ---------------------------------

def _param_files_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]
    prefix = target.label.package + "/" + target.label.name + "/"
    bin_dir = target_bin_dir_path(env)
    writes = _file_writes(env)
    for mnemonic, command, params in [
        ("ModuleHashTree", "tree", "tree.params"),
        ("ModuleHashProofs", "tree", "proofs.params"),
        ("ModuleHashSign", "sign", "sign.params"),
    ]:
        actions = _actions(env, mnemonic)
        asserts.equals(env, 1, len(actions), mnemonic)
        if not actions:
            continue
        a = actions[0]
        at = "@%s/%s%s" % (bin_dir, prefix, params)

        # The per-module arguments are only in the parameter file.
        asserts.true(env, command in a.argv, "%s runs modhash %s: %s" % (mnemonic, command, a.argv))
        asserts.equals(env, at, a.argv[-1], "%s reads its arguments from %s" % (mnemonic, params))
        for f in info.proofs + info.signed_modules + info.leaves + info.hashed_modules:
            asserts.false(env, f.path in " ".join(a.argv), "%s: %s on the command line" % (mnemonic, f.short_path))
        asserts.true(env, prefix + params in [f.short_path for f in a.inputs.to_list()], "%s: %s is an input" % (mnemonic, params))
        asserts.true(env, prefix + params in writes, "%s is written by a FileWrite action" % params)

    # The tree keeps the modules attribute's order: it fails unless that is
    # the tree order, so that every list of ModuleHashesInfo is in it.
    tree = writes.get(prefix + "tree.params")
    asserts.true(env, tree and tree.content != None and tree.content.startswith("-in-order\n"), "tree.params starts with -in-order")

    # Multiline format: one argument per line.
    sign = writes.get(prefix + "sign.params")
    asserts.true(env, sign and sign.content != None, "sign.params content is known at analysis")
    if sign and sign.content != None:
        lines = sign.content.rstrip("\n").split("\n")
        asserts.equals(env, ["-leaves", "-order", info.modules_order.path, "-suffix", ".ko"], lines[:5])
        asserts.equals(
            env,
            ["%s=%s=%s" % (m.path, leaf.path, s.path) for m, leaf, s in zip(info.hashed_modules, info.leaves, info.signed_modules)],
            lines[5:],
        )
    return analysistest.end(env)

param_files_test = make(_param_files_test_impl)

def _tool_exec_cfg_test_impl(ctx):
    env = analysistest.begin(ctx)
    bin_dir = target_bin_dir_path(env)
    modhash = [a for a in target_actions(env) if a.mnemonic in ["ModuleHashLeaf", "ModuleHashTree", "ModuleHashSign", "ModuleHashPatch"]]
    asserts.true(env, len(modhash) > 0, "no modhash actions")
    for a in modhash:
        tool = a.argv[0]
        asserts.true(env, tool.endswith("/modhash"), "%s runs modhash: %s" % (a.mnemonic, tool))
        asserts.false(env, tool.startswith(bin_dir + "/"), "%s: modhash %s is built for the target (%s), not the exec configuration" % (a.mnemonic, tool, bin_dir))
        asserts.true(env, "-exec-" in tool or "/host/" in tool, "%s: modhash %s is not in an exec configuration" % (a.mnemonic, tool))
    return analysistest.end(env)

tool_exec_cfg_test = make(_tool_exec_cfg_test_impl)

# --- the modhash attribute and the persistent worker ---------------------------

_MODHASH_MNEMONICS = ["ModuleHashLeaf", "ModuleHashTree", "ModuleHashProofs", "ModuleHashSign", "ModuleHashCompress", "ModuleHashPatch"]

def _own_tool_test_impl(ctx):
    env = analysistest.begin(ctx)
    modhash = [a for a in target_actions(env) if a.mnemonic in _MODHASH_MNEMONICS]
    asserts.true(env, len(modhash) > 0, "no modhash actions")
    for a in modhash:
        tool = a.argv[0]
        asserts.true(env, tool.endswith("/tests/rules/prebuilt/modhash"), "%s runs the modhash given in the attribute, not %s" % (a.mnemonic, tool))
        asserts.true(env, "-exec-" in tool or "/host/" in tool, "%s: the given modhash %s is not taken in the exec configuration" % (a.mnemonic, tool))
        asserts.true(env, tool in [f.path for f in a.inputs.to_list()], "%s: %s is an input" % (a.mnemonic, tool))
        asserts.false(env, "tools/modhash/modhash_/modhash" in " ".join([f.path for f in a.inputs.to_list()]), "%s: the source-built modhash is an input too" % a.mnemonic)
    return analysistest.end(env)

own_tool_test = make(_own_tool_test_impl)

def _own_tool_runfiles_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    asserts.true(env, "tests/rules/prebuilt/modhash" in runfiles, "runfiles lack the given modhash: %s" % runfiles)
    asserts.false(env, "tools/modhash/modhash_/modhash" in runfiles, "runfiles hold the source-built modhash too: %s" % runfiles)
    return analysistest.end(env)

own_tool_runfiles_test = make(_own_tool_runfiles_test_impl)

# The per-module actions run "modhash COMMAND ..." (as a worker request: the
# command name is the first line of the parameter file). Which runner Bazel picks (worker or sandbox),
# and that every action stays remotable and cacheable, is in the execution
# log: tests/worker/worker_test.sh checks it (Bazel 4.2's Action has no
# execution_info field to check it here).
def _worker_requirements_test_impl(ctx):
    env = analysistest.begin(ctx)
    seen = {}
    for a in target_actions(env):
        if a.mnemonic not in _MODHASH_MNEMONICS:
            continue
        seen[a.mnemonic] = True
        if a.mnemonic in ["ModuleHashLeaf", "ModuleHashCompress"]:
            asserts.true(env, a.argv[1] in ["leaf", "compress"], "%s: %s" % (a.mnemonic, a.argv))
    asserts.equals(env, ["ModuleHashCompress", "ModuleHashLeaf", "ModuleHashProofs", "ModuleHashSign", "ModuleHashTree"], sorted(seen.keys()))
    return analysistest.end(env)

worker_requirements_test = make(_worker_requirements_test_impl)

# --- an empty tree -------------------------------------------------------------

def _empty_tree_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ModuleHashesInfo]
    asserts.equals(env, [], info.modules)
    asserts.equals(env, [], info.proofs)
    asserts.equals(env, [], info.signed_modules)
    asserts.equals(env, [], info.leaves)
    asserts.equals(env, [info.manifest, info.root_record], target[DefaultInfo].files.to_list())
    asserts.equals(env, {"FileWrite": 1, "ModuleHashTree": 1}, _mnemonic_counts(env), "only the tree (levels 0, zero root)")
    return analysistest.end(env)

empty_tree_test = make(_empty_tree_test_impl)

# --- module_hashes_vmlinux and module_hashes_test -----------------------------

def _vmlinux_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    actions = target_actions(env)
    asserts.equals(env, ["ModuleHashPatch"], [a.mnemonic for a in actions])
    patch = actions[0]
    out = target[DefaultInfo].files.to_list()
    asserts.equals(env, 1, len(out))
    asserts.equals(env, target.label.name, out[0].basename, "the output is named like the target")
    asserts.equals(env, "patch", patch.argv[1])
    asserts.true(env, _flag_value(patch.argv, "-manifest").endswith("/module_hashes/manifest.json"), str(patch.argv))
    asserts.true(env, patch.argv[-1].endswith("/vmlinux.unstripped"), str(patch.argv))
    asserts.equals(env, out[0].path, _flag_value(patch.argv, "-o"))
    return analysistest.end(env)

vmlinux_test = make(_vmlinux_test_impl)

def _image_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    actions = target_actions(env)
    asserts.equals(env, ["ModuleHashImage"], [a.mnemonic for a in actions])
    image = actions[0]
    out = target[DefaultInfo].files.to_list()
    asserts.equals(env, 1, len(out))
    asserts.equals(env, target.label.name, out[0].basename, "the output is named like the target")
    asserts.equals(env, "image", image.argv[1])
    asserts.equals(env, out[0].path, _flag_value(image.argv, "-o"))
    asserts.true(env, _flag_value(image.argv, "-vmlinux").endswith(ctx.attr.vmlinux), str(image.argv))
    asserts.true(env, image.argv[-1].endswith(ctx.attr.image), str(image.argv))
    manifest = _flag_value(image.argv, "-manifest")
    inputs = [f.path for f in image.inputs.to_list()]
    if ctx.attr.with_root:
        asserts.true(env, manifest != None and manifest.endswith("/module_hashes/manifest.json"), str(image.argv))
        asserts.true(env, manifest in inputs, "the manifest is not an input: %s" % inputs)
    else:
        asserts.equals(env, None, manifest, "no root: the root comes from the vmlinux")
    for arg in [image.argv[-1], _flag_value(image.argv, "-vmlinux")]:
        asserts.true(env, arg in inputs, "%s is not an input: %s" % (arg, inputs))
    return analysistest.end(env)

image_test = make(_image_test_impl, attrs = {
    "image": attr.string(doc = "How the image argument ends."),
    "vmlinux": attr.string(doc = "How the -vmlinux argument ends."),
    "with_root": attr.bool(doc = "The target has `root`: -manifest is passed."),
})

def _test_rule_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    for want in [
        "examples/minikernel/module_hashes_vmlinux",
        "examples/minikernel/module_hashes/manifest.json",
        "examples/minikernel/module_hashes/signed/dummy.ko",
        "examples/minikernel/module_hashes/signed/crc32c.ko",
        "tools/modhash/modhash_/modhash",
    ]:
        asserts.true(env, want in runfiles, "runfiles lack %s: %s" % (want, runfiles))
    asserts.true(env, target[DefaultInfo].files_to_run.executable != None)
    return analysistest.end(env)

test_rule_test = make(_test_rule_test_impl)

# --- analysis-time failures ----------------------------------------------------

def _failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.message)
    return analysistest.end(env)

failure_test = make(
    _failure_test_impl,
    expect_failure = True,
    attrs = {"message": attr.string(mandatory = True, doc = "Text the error must contain.")},
)
