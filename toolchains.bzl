"""The WORKSPACE set-up of modhash, second stage: `modhash_register_toolchains()`.

Load it after calling `modhash_dependencies()` from `@modhash//:deps.bzl`
(it loads rules_go and Gazelle, which that declares); see docs/workspace.md.
"""

load("//bazel:toolchains.bzl", _modhash_register_toolchains = "modhash_register_toolchains")

modhash_register_toolchains = _modhash_register_toolchains
