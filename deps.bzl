"""The WORKSPACE set-up of modhash, first stage: `modhash_dependencies()`.

```starlark
load("@modhash//:deps.bzl", "modhash_dependencies")

modhash_dependencies()

load("@modhash//:toolchains.bzl", "modhash_register_toolchains")

modhash_register_toolchains()
```

Its arguments (the Go SDK, where rules_go and Gazelle come from) are
documented in docs/workspace.md and at the macro (bazel/repositories.bzl).
"""

load("//bazel:repositories.bzl", _modhash_dependencies = "modhash_dependencies")

modhash_dependencies = _modhash_dependencies
