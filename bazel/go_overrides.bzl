"""go_repository stand-ins for repositories that rules_go v0.34's
go_rules_dependencies() would download as http_archive (GitHub/mirror).

WORKSPACE calls go_offline_overrides() after go_dependencies() and before
go_rules_dependencies() (so its "maybe" skips them), and names this file in a
`# gazelle:repository_macro` directive, so that Gazelle knows these
repositories when it generates BUILD files. "# keep" stops
`gazelle update-repos -prune` from deleting them.

Only repositories that go.mod does not require belong here: Gazelle leaves a
repository it finds here alone, so a go.mod requirement declared here would
be built at this file's version instead of go.mod's. Those live in
go_deps.bzl (golang.org/x/sys, github.com/bazelbuild/buildtools);
//tests/workspace:workspace_test checks both rules.
"""

load("//bazel:go_repository.bzl", "go_repository")

def go_offline_overrides():
    """Declares go_repository rules that replace rules_go/gazelle downloads."""

    # Protobuf Go runtimes, needed by buildtools (buildifier). No proto rules:
    # those would need rules_proto and protoc (http_archive downloads).
    # keep
    go_repository(
        name = "com_github_golang_protobuf",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/protobuf",
        sum = "h1:ROPKBNFfQgOUMifHyP+KYbvpjbdoFNs+aK7DXlji0Tw=",
        version = "v1.5.2",
    )

    # keep
    go_repository(
        name = "org_golang_google_protobuf",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/protobuf",
        sum = "h1:w43yiav+6bVFTBQFZX0r7ipe9JQ1QsbMgHwbBziscLw=",
        version = "v1.28.0",
    )

    # Gazelle needs golang.org/x/tools/go/vcs.
    # keep
    go_repository(
        name = "org_golang_x_tools",
        importpath = "golang.org/x/tools",
        sum = "h1:loJ25fNOEhSXfHrpoGj91eCUThwdNX6u24rO1xnNteY=",
        version = "v0.1.11",
    )

    # keep
    go_repository(
        name = "org_golang_x_xerrors",
        importpath = "golang.org/x/xerrors",
        sum = "h1:go1bK/D/BFZV2I8cIQd1NKEZ+0owSTG1fDTci4IqFcE=",
        version = "v0.0.0-20200804184101-5ec99f83aff1",
    )
