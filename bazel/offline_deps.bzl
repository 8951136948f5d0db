"""Offline-friendly repository rules for Bazel 4.2.x (Debian bazel-bootstrap).

Everything is obtained either from Debian packages (bazel-skylib,
bazel-platforms) or through the `go` command (Go module proxy):

  * go_module_source: `go mod download -json <module>@<version>`, then copies
    the module's directory into the external repository (used for rules_go
    and gazelle, which ship their BUILD files in their Go modules).
  * go_toolchain_sdk_files: the Go distribution published as the Go module
    golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>; copied and made
    executable (files in the module cache are read-only, never executable).
  * system_bazel_repository: a Bazel repository installed by a Debian package.
  * native_rules_shim: tiny rules_cc / rules_java stand-ins that forward to the
    native rules, to satisfy Bazel 4.2's built-in WORKSPACE suffix (which would
    otherwise download rules_cc / rules_java archives).
  * local_coverage_tools: stand-in for @remote_coverage_tools (a Java tool
    archive that `bazel test` needs to exist and `bazel coverage` may run).

No absolute path of this machine is needed in WORKSPACE.
"""

# Environment variables that influence `go mod download`; a change re-runs the
# repository rules that use them.
_GO_ENVIRON = [
    "PATH",
    "GOPROXY",
    "GOMODCACHE",
    "GOPATH",
    "GONOPROXY",
    "GONOSUMDB",
    "GOPRIVATE",
    "GOSUMDB",
    "GOFLAGS",
    "GOINSECURE",
]

def _go_mod_download(rctx, module, version, expected_sum = ""):
    """Runs `go mod download -json module@version` and returns the parsed JSON."""
    go = rctx.which("go")
    if go == None:
        fail("`go` was not found on PATH; it is needed to download %s@%s through the Go module proxy" % (module, version))
    rctx.report_progress("go mod download %s@%s" % (module, version))
    res = rctx.execute(
        [go, "mod", "download", "-json", "%s@%s" % (module, version)],
        # No go.mod exists in the repository directory; GOTOOLCHAIN=local keeps
        # a newer `go` from trying to switch toolchains, GO111MODULE=on keeps an
        # old one in module mode.
        environment = {"GO111MODULE": "on", "GOTOOLCHAIN": "local"},
        timeout = 1800,
        quiet = True,
    )
    if not res.stdout.strip():
        fail("go mod download %s@%s failed (exit %d):\n%s" % (module, version, res.return_code, res.stderr))
    info = json.decode(res.stdout)
    if info.get("Error"):
        fail("go mod download %s@%s failed: %s\n%s" % (module, version, info["Error"], res.stderr))
    if res.return_code != 0:
        fail("go mod download %s@%s failed (exit %d):\n%s" % (module, version, res.return_code, res.stderr))
    if expected_sum and info.get("Sum") != expected_sum:
        fail("checksum mismatch for %s@%s: expected %s, go reported %s" % (module, version, expected_sum, info.get("Sum")))
    if not info.get("Dir"):
        fail("go mod download %s@%s did not report a Dir:\n%s" % (module, version, res.stdout))
    return info

def _run(rctx, args, what):
    res = rctx.execute(args, timeout = 1800)
    if res.return_code != 0:
        fail("%s failed (exit %d): %s\n%s%s" % (what, res.return_code, " ".join(args), res.stdout, res.stderr))
    return res

def _copy_tree(rctx, src):
    # Copy (not symlink) so the repository survives `go clean -modcache` and so
    # files can be made writable/executable without touching the module cache.
    _run(rctx, ["cp", "-R", src + "/.", "."], "copying " + src)
    _run(rctx, ["chmod", "-R", "u+w", "."], "chmod u+w")

# Module zips keep no file modes: make scripts (files starting with "#!")
# executable again, e.g. rules_go's lcov_merger.sh used by `bazel coverage`.
_RESTORE_SCRIPT_MODES = """
grep -rlIZ -m1 '^#!' . | while IFS= read -r -d '' f; do
  if [ "$(head -c2 "$f")" = '#!' ]; then chmod a+x "$f"; fi
done
"""

# --------------------------------------------------------------------------
# go_module_source

def _go_module_source_impl(rctx):
    info = _go_mod_download(rctx, rctx.attr.module, rctx.attr.version, rctx.attr.sum)
    _copy_tree(rctx, info["Dir"])
    _run(rctx, ["bash", "-c", _RESTORE_SCRIPT_MODES], "restoring script modes")
    if rctx.attr.vendor:
        # Module zips drop vendored packages (only vendor/modules.txt stays).
        # Gazelle's go_repository_tools builds in GOPATH mode and needs them.
        rctx.report_progress("go mod vendor in %s" % rctx.attr.module)
        res = rctx.execute(
            [rctx.which("go"), "mod", "vendor"],
            environment = {"GO111MODULE": "on", "GOTOOLCHAIN": "local", "GOWORK": "off"},
            timeout = 1800,
            quiet = True,
        )
        if res.return_code != 0:
            fail("go mod vendor failed for %s@%s:\n%s" % (rctx.attr.module, rctx.attr.version, res.stderr))

    # Make sure the repository name in WORKSPACE matches the one we use.
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    for cmd in rctx.attr.patch_cmds:
        res = rctx.execute(["bash", "-euc", cmd], timeout = 600)
        if res.return_code != 0:
            fail("patch command failed in %s: %s\n%s%s" % (rctx.name, cmd, res.stdout, res.stderr))

go_module_source = repository_rule(
    implementation = _go_module_source_impl,
    doc = "An external repository whose content is a Go module obtained with `go mod download`.",
    attrs = {
        "module": attr.string(mandatory = True, doc = "Go module path"),
        "patch_cmds": attr.string_list(doc = "bash commands run in the repository root after copying"),
        "sum": attr.string(doc = "Expected go.sum hash (h1:...) of the module zip"),
        "vendor": attr.bool(doc = "Run `go mod vendor` to restore vendor/ (dropped from module zips)"),
        "version": attr.string(mandatory = True, doc = "Go module version, e.g. v0.34.0"),
    },
    environ = _GO_ENVIRON,
)

# --------------------------------------------------------------------------
# go_toolchain_sdk_files

def _host_goos_goarch(rctx):
    os = rctx.os.name.lower()
    if os.startswith("linux"):
        goos = "linux"
    elif os.startswith("mac"):
        goos = "darwin"
    else:
        fail("unsupported host OS for go_toolchain_sdk_files: " + rctx.os.name)
    res = rctx.execute(["uname", "-m"])
    machine = res.stdout.strip()
    goarch = {
        "aarch64": "arm64",
        "amd64": "amd64",
        "arm64": "arm64",
        "x86_64": "amd64",
    }.get(machine)
    if not goarch:
        fail("unsupported host CPU for go_toolchain_sdk_files: " + machine)
    return goos, goarch

def _go_toolchain_sdk_files_impl(rctx):
    goos, goarch = rctx.attr.goos, rctx.attr.goarch
    if not goos or not goarch:
        goos, goarch = _host_goos_goarch(rctx)
    platform = "%s_%s" % (goos, goarch)
    module_version = "v0.0.1-go%s.%s-%s" % (rctx.attr.version, goos, goarch)
    info = _go_mod_download(rctx, "golang.org/toolchain", module_version, rctx.attr.sums.get(platform, ""))
    _copy_tree(rctx, info["Dir"])

    # The module cache never stores executable bits.
    _run(rctx, ["chmod", "-R", "a+x", "bin", "pkg/tool/" + platform], "chmod a+x")

    # Sanity check: the SDK must run and report the expected version.
    res = _run(rctx, ["./bin/go", "version"], "go version")
    if ("go%s " % rctx.attr.version) not in res.stdout:
        fail("unexpected Go SDK version: " + res.stdout)

    # go_wrap_sdk(root_file = "@<name>//:ROOT") uses the directory of this file
    # as GOROOT.
    rctx.file("ROOT", "")
    rctx.file("BUILD.bazel", 'exports_files(["ROOT"])\n')
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

go_toolchain_sdk_files = repository_rule(
    implementation = _go_toolchain_sdk_files_impl,
    doc = "A Go SDK (GOROOT) from the Go module golang.org/toolchain.",
    attrs = {
        "goarch": attr.string(),
        "goos": attr.string(),
        "sums": attr.string_dict(doc = "platform (linux_amd64) -> expected h1: module sum"),
        "version": attr.string(mandatory = True, doc = "Go version, e.g. 1.19.13"),
    },
    environ = _GO_ENVIRON,
)

# --------------------------------------------------------------------------
# system_bazel_repository

def _system_bazel_repository_impl(rctx):
    src = rctx.path(rctx.attr.path)
    if not src.exists:
        fail("%s not found: install the Debian package %s (apt-get install %s)" % (
            rctx.attr.path,
            rctx.attr.package,
            rctx.attr.package,
        ))
    for entry in src.readdir():
        if entry.basename in ("WORKSPACE", "WORKSPACE.bazel", "MODULE.bazel"):
            continue
        rctx.symlink(entry, entry.basename)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

system_bazel_repository = repository_rule(
    implementation = _system_bazel_repository_impl,
    doc = "A Bazel repository installed on the machine by a (Debian) package.",
    attrs = {
        "package": attr.string(mandatory = True),
        "path": attr.string(mandatory = True),
    },
    local = True,
)

# --------------------------------------------------------------------------
# native_rules_shim

_CC_RULES = [
    "cc_binary",
    "cc_import",
    "cc_library",
    "cc_proto_library",
    "cc_shared_library",
    "cc_test",
    "cc_toolchain",
    "cc_toolchain_suite",
    "fdo_prefetch_hints",
    "fdo_profile",
    "objc_import",
    "objc_library",
]

_JAVA_RULES = [
    "java_binary",
    "java_import",
    "java_library",
    "java_lite_proto_library",
    "java_package_configuration",
    "java_plugin",
    "java_proto_library",
    "java_runtime",
    "java_test",
    "java_toolchain",
]

_SHELL_RULES = [
    "sh_binary",
    "sh_library",
    "sh_test",
]

# Files that rules_cc and rules_shell have on Bazel 7 to 9 and that this
# workspace loads, as thin forwards to what Bazel 4.2 has built in. The
# labels, names and signatures are those of the real rule sets (rules_cc
# 0.2, rules_shell 0.6), so that one BUILD or .bzl file loads on both; this
# file is the Bazel 4 side of that difference (MODULE.bazel the other).
_CC_EXTRA_FILES = {
    "cc/BUILD.bazel": """exports_files(glob(["*.bzl"]))

# rules_cc: the C toolchain of the target configuration.
alias(
    name = "current_cc_toolchain",
    actual = "@bazel_tools//tools/cpp:current_cc_toolchain",
    visibility = ["//visibility:public"],
)
""",
    "cc/action_names.bzl": """\"\"\"Shim of rules_cc's cc/action_names.bzl (Bazel 4.2: in @bazel_tools).\"\"\"

load(
    "@bazel_tools//tools/build_defs/cc:action_names.bzl",
    _CPP_LINK_EXECUTABLE_ACTION_NAME = "CPP_LINK_EXECUTABLE_ACTION_NAME",
    _C_COMPILE_ACTION_NAME = "C_COMPILE_ACTION_NAME",
)

CPP_LINK_EXECUTABLE_ACTION_NAME = _CPP_LINK_EXECUTABLE_ACTION_NAME
C_COMPILE_ACTION_NAME = _C_COMPILE_ACTION_NAME
""",
    "cc/common/BUILD.bazel": 'exports_files(glob(["*.bzl"]))\n',
    "cc/common/builtin.bzl": """\"\"\"The builtin cc_common, under another name (it cannot be re-exported as itself).\"\"\"

CC_COMMON = cc_common
""",
    "cc/common/cc_common.bzl": """\"\"\"Shim of rules_cc's cc/common/cc_common.bzl (Bazel 4.2: a builtin).\"\"\"

load(":builtin.bzl", "CC_COMMON")

cc_common = CC_COMMON
""",
    "cc/find_cc_toolchain.bzl": """\"\"\"Shim of rules_cc's cc/find_cc_toolchain.bzl for Bazel 4.2.\"\"\"

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

CC_TOOLCHAIN_TYPE = "@bazel_tools//tools/cpp:toolchain_type"

def find_cc_toolchain(ctx, mandatory = True):
    \"\"\"The C toolchain of ctx (its rule has a _cc_toolchain attribute).\"\"\"
    return find_cpp_toolchain(ctx)

def use_cc_toolchain(mandatory = False):
    \"\"\"The toolchains = [...] value for rules that call find_cc_toolchain.\"\"\"
    return [CC_TOOLCHAIN_TYPE]
""",
}

def _native_rules_shim_impl(rctx):
    lang = rctx.attr.lang
    rules = {"cc": _CC_RULES, "java": _JAVA_RULES, "shell": _SHELL_RULES}[lang]
    header = '"""Shim: forwards %s rules to the native rules built into Bazel."""' % lang
    if lang == "shell":
        # rules_shell has one file per rule: //shell:sh_binary.bzl, ...
        for r in rules:
            rctx.file("shell/%s.bzl" % r, "\n".join([
                header,
                "",
                "def %s(**kwargs):" % r,
                "    native.%s(**kwargs)" % r,
                "",
            ]))
        rctx.file("shell/BUILD.bazel", 'exports_files(glob(["*.bzl"]))\n')
    else:
        lines = [header, ""]
        for r in rules:
            lines.append("def %s(**kwargs):" % r)
            lines.append("    native.%s(**kwargs)" % r)
            lines.append("")
        rctx.file("%s/defs.bzl" % lang, "\n".join(lines))
        rctx.file("%s/BUILD.bazel" % lang, 'exports_files(["defs.bzl"])\n')
    if lang == "cc":
        for path, content in _CC_EXTRA_FILES.items():
            rctx.file(path, content)
    rctx.file("BUILD.bazel", "")
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

native_rules_shim = repository_rule(
    implementation = _native_rules_shim_impl,
    doc = "rules_cc / rules_java / rules_shell stand-in forwarding to the native rules.",
    attrs = {"lang": attr.string(mandatory = True, values = ["cc", "java", "shell"])},
)

# --------------------------------------------------------------------------
# local_coverage_tools

_COVERAGE_REPORT_GENERATOR = """#!/usr/bin/env bash
# Offline stand-in for Bazel's Java CoverageOutputGenerator (normally fetched
# as @remote_coverage_tools). Bazel runs it only for --combined_report=lcov:
# it concatenates the per-test LCOV files listed in --reports_file (LCOV
# tracefiles may be concatenated; genhtml/lcov merge repeated records).
set -euo pipefail
reports_file=""
output_file=""
for arg in "$@"; do
  case "$arg" in
    --reports_file=*) reports_file="${arg#*=}" ;;
    --output_file=*) output_file="${arg#*=}" ;;
  esac
done
if [[ -z "$reports_file" || -z "$output_file" ]]; then
  echo "coverage_report_generator: need --reports_file and --output_file" >&2
  exit 1
fi
: > "$output_file"
while IFS= read -r f; do
  [[ -n "$f" && -s "$f" ]] || continue
  cat "$f" >> "$output_file"
done < "$reports_file"
"""

_LCOV_MERGER = """#!/usr/bin/env bash
# Offline stand-in for Bazel's Java lcov merger. Test rules that do not bring
# their own _lcov_merger (rules_go's go_test does) get this one: it
# concatenates the LCOV files (*.dat) found in --coverage_dir into
# --output_file.
set -euo pipefail
coverage_dir=""
output_file=""
for arg in "$@"; do
  case "$arg" in
    --coverage_dir=*) coverage_dir="${arg#*=}" ;;
    --output_file=*) output_file="${arg#*=}" ;;
  esac
done
[[ -n "$output_file" ]] || exit 0
: > "$output_file"
if [[ -n "$coverage_dir" && -d "$coverage_dir" ]]; then
  find "$coverage_dir" -name '*.dat' -type f -print0 | sort -z | xargs -0 -r cat >> "$output_file"
fi
"""

_COVERAGE_BUILD = """package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "coverage_report_generator",
    srcs = ["coverage_report_generator.sh"],
)

sh_binary(
    name = "lcov_merger",
    srcs = ["lcov_merger.sh"],
)

alias(
    name = "Main",
    actual = ":lcov_merger",
)
"""

def _local_coverage_tools_impl(rctx):
    rctx.file("coverage_report_generator.sh", _COVERAGE_REPORT_GENERATOR, executable = True)
    rctx.file("lcov_merger.sh", _LCOV_MERGER, executable = True)
    rctx.file("BUILD.bazel", _COVERAGE_BUILD)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

local_coverage_tools = repository_rule(
    implementation = _local_coverage_tools_impl,
    doc = "Replaces @remote_coverage_tools (a Java tool downloaded by Bazel 4.2's WORKSPACE suffix).",
)
