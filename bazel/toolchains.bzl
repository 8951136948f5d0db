"""modhash_register_toolchains(): the second stage of the WORKSPACE set-up.

Public through //:toolchains.bzl. Runs after modhash_dependencies() (or
the workspace's own rules_go and Gazelle) has declared @io_bazel_rules_go
and @bazel_gazelle, whose set-up macros it calls.
"""

load("@bazel_gazelle//:deps.bzl", "gazelle_dependencies")
load("@io_bazel_rules_go//go:def.bzl", "RULES_GO_VERSION")
load("@io_bazel_rules_go//go:deps.bzl", "go_register_toolchains", "go_rules_dependencies", "go_wrap_sdk")
load(":go_deps.bzl", "go_dependencies")
load(":go_overrides.bzl", "go_offline_overrides")
load(":versions.bzl", "MIN_RULES_GO_VERSION", "check_version")

_SDK_KINDS = ("_go_download_sdk", "_go_host_sdk", "_go_local_sdk", "_go_wrap_sdk")

def modhash_register_toolchains(go_repository_config = "@modhash//:WORKSPACE"):
    """Declares the Go SDK toolchain, the tool's Go modules and Gazelle's repositories.

    In this order, each only where the workspace has not declared it: @go_sdk
    from modhash_dependencies(go_version = ...); a go_repository (module
    mode, through the `go` command's GOPROXY) for every module of modhash's
    go.mod graph, and for those rules_go and Gazelle would download from
    GitHub (golang.org/x/tools, x/xerrors, the protobuf runtimes); then
    rules_go's go_rules_dependencies() and go_register_toolchains(), and
    Gazelle's gazelle_dependencies(). A workspace that calls those itself
    before this keeps its own choices. Fails when rules_go is older than
    0.34.0 or no Go SDK is declared.

    Args:
      go_repository_config: the WORKSPACE file from which Gazelle learns the
        known go_repository rules (its repository_macro directives) when it
        writes the BUILD files of go_repository rules; used only if this
        macro calls gazelle_dependencies(). The default, modhash's own,
        knows modhash's Go modules and needs no BUILD file in your
        workspace's root; "@//:WORKSPACE" is yours (which then needs a BUILD
        file at the root). If you have go_repository rules of your own, call
        gazelle_dependencies() yourself before this.
    """
    check_version("rules_go", "@io_bazel_rules_go", RULES_GO_VERSION, MIN_RULES_GO_VERSION)

    existing = native.existing_rules()
    has_sdk = "go_sdk" in existing or len([r for r in existing.values() if r["kind"] in _SDK_KINDS]) > 0
    if not has_sdk:
        if "go_sdk_files" not in existing:
            fail("modhash_register_toolchains: no Go SDK is declared: call " +
                 "modhash_dependencies() with a go_version, or declare one " +
                 "(e.g. go_register_toolchains(version = \"1.19.13\")) before this")
        go_wrap_sdk(
            name = "go_sdk",
            root_file = "@go_sdk_files//:ROOT",
        )

    # The modules of go.mod's graph (Gazelle keeps go_deps.bzl), then
    # go_repository stand-ins for rules_go's http_archive downloads: declared
    # before go_rules_dependencies() so that its "maybe" skips them.
    go_dependencies()
    go_offline_overrides()

    go_rules_dependencies()
    go_register_toolchains()

    # gazelle_dependencies() declares its go_repository tooling without
    # "maybe": call it only once. go_sdk must be named: go_sdk_files would
    # otherwise also be taken for an SDK ("gazelle found more than one
    # suitable Go SDK").
    if "bazel_gazelle_go_repository_cache" not in existing:
        gazelle_dependencies(
            go_repository_default_config = go_repository_config,
            go_sdk = "go_sdk",
        )
