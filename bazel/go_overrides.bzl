"""go_repository stand-ins for repositories that rules_go v0.34's
go_rules_dependencies() would download as http_archive (GitHub/mirror).

WORKSPACE calls go_offline_overrides() before go_rules_dependencies() (so its
"maybe" skips them) and names this file in a
`# gazelle:repository_macro` directive, so that Gazelle knows these
repositories when it generates BUILD files (go/vcs imports x/sys/execabs).
"# keep" stops `gazelle update-repos -prune` from deleting them.

buildtools (buildifier) is rebuilt with Gazelle-generated BUILD files and
proto rules disabled: its own BUILD files need rules_proto and protoc
(http_archive downloads); the checked-in *.pb.go files are used instead.
"""

load("@bazel_gazelle//:deps.bzl", "go_repository")

def go_offline_overrides():
    """Declares go_repository rules that replace rules_go/gazelle downloads."""

    # Same version as gazelle v0.26.0 pins (a43aed7014c8 = 2022-05-31).
    # Gazelle writes fresh BUILD files (build_file_name = "BUILD"), then the
    # upstream BUILD.bazel files (which would win over BUILD) are deleted.
    # keep
    go_repository(
        name = "com_github_bazelbuild_buildtools",
        build_file_generation = "on",
        build_file_name = "BUILD",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/bazelbuild/buildtools",
        patch_cmds = ["find . -name BUILD.bazel -delete"],
        sum = "h1:fmdo+fvvWlhldUcqkhAMpKndSxMN3vH5l7yow5cEaiQ=",
        version = "v0.0.0-20220531122519-a43aed7014c8",
    )

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

    # keep
    go_repository(
        name = "org_golang_x_sys",
        importpath = "golang.org/x/sys",
        sum = "h1:rHZQSjJdAI4Xf5Qzeh2bBc5YJIkPFVM6oDtMFYmgws0=",
        version = "v0.0.0-20220624220833-87e55d714810",
    )

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
