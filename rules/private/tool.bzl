"""The modhash tool as a rule attribute, and how the rules run it.

Every rule that runs `modhash` takes the same public attribute, `modhash`:
by default the tool built from source (`//tools/modhash`, rules_go), or the
user's own build of it (any executable file or target, e.g. a prebuilt
binary checked into a large build, so that the rules do not force a rules_go
version or a Go toolchain on it). A new rule gets it with

    attrs = dict(MODHASH_ATTRS, **{...})          # actions: cfg = "exec"
    attrs = dict(MODHASH_TEST_ATTRS, **{...})     # tests: cfg = "target"

and runs it with `modhash_executable(ctx)` or, for the many small per-module
actions, `run_modhash_worker_action(ctx, ...)`.
"""

_DOC = ("The `modhash` tool. Default: built from source (`//tools/modhash`). " +
        "Give your own build (a prebuilt binary file, or any executable target) " +
        "to avoid building it; it must be the same modhash version as these " +
        "rules (it also serves the rules' persistent worker requests, " +
        "`modhash --persistent_worker`).")

def modhash_attr(cfg):
    """The `modhash` attribute: the tool, built for (or chosen for) `cfg`.

    Args:
      cfg: "exec" for rules whose actions run the tool, "target" for tests
        that run it from their runfiles.

    Returns:
      The attr.label of the tool.
    """
    return attr.label(
        default = Label("//tools/modhash"),
        executable = True,
        allow_files = True,
        cfg = cfg,
        doc = _DOC,
    )

MODHASH_ATTRS = {"modhash": modhash_attr("exec")}

MODHASH_TEST_ATTRS = {"modhash": modhash_attr("target")}

# Execution requirements of the actions that may run in a persistent,
# multiplexed modhash worker (Bazel's worker protocol, protobuf form: no flag
# needed on any Bazel from 4.2 to 9): the per-module ones (leaf hashing,
# compression: thousands of small actions, each otherwise a process and a
# sandbox) and the tree and signing actions (one each, but with thousands of
# inputs, each otherwise a link in a sandbox). These keys only allow the
# worker strategy; they do not make the actions local or uncached: remote
# execution and the remote cache treat them as before, and without a worker
# (--config=no-workers) the same command line runs as a one-shot process in
# the sandbox, with byte-identical outputs.
WORKER_EXECUTION_REQUIREMENTS = {
    "supports-multiplex-workers": "1",
    "supports-workers": "1",
}

def modhash_executable(ctx):
    """The modhash executable File of a rule with MODHASH_ATTRS."""
    return ctx.executable.modhash

def modhash_runfiles(ctx):
    """The runfiles that hold the modhash tool (for tests that run it).

    The executable itself, and what it needs: a go_binary brings its own
    runfiles, a plain file (a prebuilt binary) has none but itself.
    """
    return ctx.runfiles(files = [modhash_executable(ctx)]).merge(
        ctx.attr.modhash[DefaultInfo].default_runfiles,
    )

def run_modhash_worker_action(ctx, args, **kwargs):
    """ctx.actions.run of `modhash @FILE` that a persistent worker can serve.

    The whole command line (command name first) goes into a parameter file,
    which Bazel hands to a worker as one WorkRequest and to a one-shot
    `modhash` as `@FILE`. For remote execution the parameter file is an
    ordinary input.

    Args:
      ctx: the rule context (the rule has MODHASH_ATTRS).
      args: an Args object holding the command line, command name first.
      **kwargs: further ctx.actions.run arguments (inputs, outputs,
        mnemonic, progress_message, ...), not executable, arguments or
        execution_requirements.
    """
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    ctx.actions.run(
        executable = modhash_executable(ctx),
        arguments = [args],
        execution_requirements = WORKER_EXECUTION_REQUIREMENTS,
        **kwargs
    )
