"""Go module dependencies (from go.mod), maintained by `bazel run //:gazelle-update-repos`."""

def go_dependencies():
    pass
