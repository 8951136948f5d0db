"""go_repository, declared only if the workspace has no repository of that name.

bazel/go_deps.bzl and bazel/go_overrides.bzl load go_repository from here,
so that modhash_register_toolchains() leaves a consumer's own declaration of
a module (golang.org/x/sys, say) alone instead of failing with "Cannot
redefine repository". Gazelle keeps a load of go_repository from a file of
its own (it adds no second one).
"""

load("@bazel_gazelle//:deps.bzl", _go_repository = "go_repository")

def go_repository(name, **kwargs):
    """Gazelle's go_repository(name, ...), unless name is declared already."""
    if native.existing_rule(name) == None:
        _go_repository(name = name, **kwargs)
