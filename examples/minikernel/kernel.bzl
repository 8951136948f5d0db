"""Tiny kbuild stand-ins for the minikernel: modules and a kernel image.

`kernel_module` compiles one C file into a relocatable object named like a
kernel module (`<dir of src>/<name>.ko`); `kernel_image` compiles C files and
links them with a linker script into a static, freestanding ELF executable,
like the kernel build's `vmlinux.unstripped`. Both use the C toolchain
(`cc_common`) for the compiler, its features and its flags.
"""

load("@rules_cc//cc:action_names.bzl", "CPP_LINK_EXECUTABLE_ACTION_NAME", "C_COMPILE_ACTION_NAME")
load("@rules_cc//cc:find_cc_toolchain.bzl", "find_cc_toolchain", "use_cc_toolchain")
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")

# Flags for kernel code: no C library, no stack protector (there is no
# __stack_chk_fail), no PIE, and debug info (so that stripping the modules
# matters) without the sandbox's absolute path in it.
KERNEL_COPTS = [
    "-ffreestanding",
    "-fno-stack-protector",
    "-fno-pie",
    "-fno-asynchronous-unwind-tables",
    "-O2",
    "-g",
    "-fdebug-prefix-map=/proc/self/cwd=.",
    "-gno-record-gcc-switches",
    "-Wextra",
    "-Wno-unused-parameter",
]

def _package_relative(ctx, f):
    prefix = ctx.label.package + "/" if ctx.label.package else ""
    path = f.short_path
    if ctx.label.workspace_root:
        path = f.path[len(ctx.label.workspace_root) + 1:]
    return path[len(prefix):] if path.startswith(prefix) else f.basename

def _cc_setup(ctx):
    cc_toolchain = find_cc_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    return cc_toolchain, feature_configuration

def _compile(ctx, cc_toolchain, feature_configuration, src, out):
    """Compiles src into the object out with the C toolchain."""
    root = ctx.label.workspace_root
    package_dir = "/".join([p for p in [root, ctx.label.package] if p])
    includes = ["/".join([p for p in [package_dir, i] if p]) for i in ctx.attr.includes]
    variables = cc_common.create_compile_variables(
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        user_compile_flags = KERNEL_COPTS + ctx.attr.copts,
        source_file = src.path,
        output_file = out.path,
        include_directories = depset(includes),
    )
    argv = cc_common.get_memory_inefficient_command_line(
        feature_configuration = feature_configuration,
        action_name = C_COMPILE_ACTION_NAME,
        variables = variables,
    )
    env = dict(cc_common.get_environment_variables(
        feature_configuration = feature_configuration,
        action_name = C_COMPILE_ACTION_NAME,
        variables = variables,
    ))

    # GCC takes the compilation directory it records from $PWD when that is
    # the working directory; with -fdebug-prefix-map it becomes ".".
    env["PWD"] = "/proc/self/cwd"
    ctx.actions.run(
        executable = cc_common.get_tool_for_action(
            feature_configuration = feature_configuration,
            action_name = C_COMPILE_ACTION_NAME,
        ),
        arguments = argv,
        env = env,
        inputs = depset([src] + ctx.files.hdrs, transitive = [cc_toolchain.all_files]),
        outputs = [out],
        mnemonic = "KernelCompile",
        progress_message = "Compiling %s" % src.short_path,
    )

def _kernel_module_impl(ctx):
    cc_toolchain, feature_configuration = _cc_setup(ctx)
    src = ctx.file.src
    rel = _package_relative(ctx, src)
    subdir = rel.rpartition("/")[0]
    out = ctx.actions.declare_file("/".join([p for p in [subdir, ctx.label.name + ".ko"] if p]))
    _compile(ctx, cc_toolchain, feature_configuration, src, out)
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

_COMMON_ATTRS = {
    "copts": attr.string_list(doc = "Extra compiler flags (after `KERNEL_COPTS`)."),
    "hdrs": attr.label_list(allow_files = [".h"], doc = "Headers the sources include."),
    "includes": attr.string_list(
        default = ["include"],
        doc = "Include directories (-I), relative to the package.",
    ),
    "_cc_toolchain": attr.label(default = Label("@rules_cc//cc:current_cc_toolchain")),
}

kernel_module = rule(
    implementation = _kernel_module_impl,
    doc = """A loadable module: `src` compiled (`-c`) into `<dir of src>/<name>.ko`,
a relocatable ELF object, the way kbuild's modules are (minus modpost).""",
    attrs = dict(_COMMON_ATTRS, src = attr.label(
        mandatory = True,
        allow_single_file = [".c"],
        doc = "The module's C source; its directory (relative to the package) is the module's.",
    )),
    fragments = ["cpp"],
    toolchains = use_cc_toolchain(),
)

def _kernel_image_impl(ctx):
    cc_toolchain, feature_configuration = _cc_setup(ctx)
    objects = []
    for src in ctx.files.srcs:
        rel = _package_relative(ctx, src)
        obj = ctx.actions.declare_file("_objs/%s/%s.o" % (ctx.label.name, rel.rpartition(".")[0]))
        _compile(ctx, cc_toolchain, feature_configuration, src, obj)
        objects.append(obj)
    out = ctx.actions.declare_file(ctx.label.name)
    args = ctx.actions.args()
    args.add_all(["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none"])
    args.add(ctx.file.linker_script, format = "-Wl,-T,%s")
    args.add("-o", out)
    args.add_all(objects)
    ctx.actions.run(
        executable = cc_common.get_tool_for_action(
            feature_configuration = feature_configuration,
            action_name = CPP_LINK_EXECUTABLE_ACTION_NAME,
        ),
        arguments = [args],
        inputs = depset(objects + [ctx.file.linker_script], transitive = [cc_toolchain.all_files]),
        outputs = [out],
        # The compiler driver looks for the linker on PATH.
        use_default_shell_env = True,
        mnemonic = "KernelLink",
        progress_message = "Linking %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

kernel_image = rule(
    implementation = _kernel_image_impl,
    doc = """A kernel image: `srcs` compiled and linked with `-nostdlib -static
-Wl,-T,<linker_script>` into the file `<name>`, like `vmlinux.unstripped`.""",
    attrs = dict(
        _COMMON_ATTRS,
        linker_script = attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The linker script (`vmlinux.lds`).",
        ),
        srcs = attr.label_list(mandatory = True, allow_files = [".c"], doc = "C sources."),
    ),
    fragments = ["cpp"],
    toolchains = use_cc_toolchain(),
)
