package workspace

import (
	"strings"
	"testing"
)

// repoRoot is the repository root relative to this package's directory. It
// is the same under `go test` (run in the package directory) and under
// `bazel test` (rules_go runs tests in the package directory of the runfiles
// tree; the files come from the go_test's data).
const repoRoot = "../.."

// TestRepositoryAgrees checks the real MODULE.bazel, WORKSPACE, bazel/*.bzl
// and go.mod of this repository.
func TestRepositoryAgrees(t *testing.T) {
	in, err := LoadInputs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range Check(in) {
		t.Error(err)
	}
	mod, err := ParseModuleBazel("MODULE.bazel", in.ModuleBazel)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ParseWorkspace(in.Workspace, in.Bzl)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MODULE.bazel: rules_go %s, gazelle %s, Go SDK %v; WORKSPACE: rules_go %s, gazelle %s, Go SDK %v; %d go_repository rules in %s",
		mod.RulesGo, mod.Gazelle, mod.GoSDKs, ws.RulesGo, ws.Gazelle, ws.GoSDKs, len(ws.GoDeps), GoDepsFile)
}

const (
	okModule = `module(name = "modhash")

bazel_dep(name = "rules_go", version = "0.62.0", repo_name = "io_bazel_rules_go")
bazel_dep(name = "gazelle", version = "0.54.0", repo_name = "bazel_gazelle")
bazel_dep(name = "rules_shell", version = "0.6.1", dev_dependency = True)

go_sdk = use_extension("@io_bazel_rules_go//go:extensions.bzl", "go_sdk")
go_sdk.download(name = "go_sdk", version = "1.24.13")
use_repo(go_sdk, "go_sdk")

go_deps = use_extension("@bazel_gazelle//:extensions.bzl", "go_deps")
go_deps.from_file(go_mod = "//:go.mod")
use_repo(go_deps, "com_github_example_direct")

go_deps_dev = use_extension("@bazel_gazelle//:extensions.bzl", "go_deps", dev_dependency = True)
use_repo(go_deps_dev, "com_github_example_devonly")
`
	okWorkspace = `workspace(name = "modhash")

load("//bazel:offline_deps.bzl", "go_module_source", "go_toolchain_sdk_files")

go_module_source(
    name = "io_bazel_rules_go",
    module = "github.com/bazelbuild/rules_go",
    version = "v0.34.0",
)

go_module_source(
    name = "bazel_gazelle",
    module = "github.com/bazelbuild/bazel-gazelle",
    version = "v0.26.0",
)

go_toolchain_sdk_files(
    name = "go_sdk_files",
    version = "1.19.13",
)

go_wrap_sdk(name = "go_sdk", root_file = "@go_sdk_files//:ROOT")

native_rules_shim(name = "rules_shell", lang = "shell")

go_register_toolchains()
`
	okGoDeps = `"""Go deps."""

load("@bazel_gazelle//:deps.bzl", "go_repository")

def go_dependencies():
    go_repository(
        name = "com_github_example_direct",
        importpath = "github.com/example/direct",
        sum = "h1:aaa=",
        version = "v1.2.3",
    )
    go_repository(
        name = "com_github_example_devonly",
        importpath = "github.com/example/devonly",
        sum = "h1:ccc=",
        version = "v0.3.0",
    )
    go_repository(
        name = "com_github_example_indirect",
        importpath = "github.com/example/indirect",
        sum = "h1:bbb=",
        version = "v0.1.0",
    )
`
	okOverrides = `"""Overrides."""

load("@bazel_gazelle//:deps.bzl", "go_repository")

def go_offline_overrides():
    # keep
    go_repository(
        name = "com_github_bazelbuild_buildtools",
        importpath = "github.com/bazelbuild/buildtools",
        sum = "h1:x=",
        version = "v0.0.0-20220531122519-a43aed7014c8",
    )
    # keep
    go_repository(
        name = "com_github_golang_protobuf",
        importpath = "github.com/golang/protobuf",
        sum = "h1:x=",
        version = "v1.5.2",
    )
    # keep
    go_repository(
        name = "org_golang_google_protobuf",
        importpath = "google.golang.org/protobuf",
        sum = "h1:x=",
        version = "v1.28.0",
    )
    # keep
    go_repository(
        name = "org_golang_x_sys",
        importpath = "golang.org/x/sys",
        sum = "h1:x=",
        version = "v0.0.0-20220624220833-87e55d714810",
    )
    # keep
    go_repository(
        name = "org_golang_x_tools",
        importpath = "golang.org/x/tools",
        sum = "h1:x=",
        version = "v0.1.11",
    )
    # keep
    go_repository(
        name = "org_golang_x_xerrors",
        importpath = "golang.org/x/xerrors",
        sum = "h1:x=",
        version = "v0.0.0-20200804184101-5ec99f83aff1",
    )
`
	okGoSum = `github.com/example/devonly v0.3.0 h1:ccc=
github.com/example/devonly v0.3.0/go.mod h1:CCC=
github.com/example/direct v1.2.3 h1:aaa=
github.com/example/direct v1.2.3/go.mod h1:AAA=
github.com/example/graphonly v0.9.0/go.mod h1:GGG=
github.com/example/indirect v0.1.0 h1:bbb=
github.com/example/indirect v0.1.0/go.mod h1:BBB=
`
	okGoMod = `module github.com/modhash/modhash

go 1.19

require (
	github.com/example/devonly v0.3.0
	github.com/example/direct v1.2.3
)

require (
	github.com/example/indirect v0.1.0 // indirect
)
`
)

func okInputs() Inputs {
	return Inputs{
		ModuleBazel: []byte(okModule),
		Workspace:   []byte(okWorkspace),
		Bzl: map[string][]byte{
			"bazel/go_deps.bzl":      []byte(okGoDeps),
			"bazel/go_overrides.bzl": []byte(okOverrides),
		},
		GoMod: []byte(okGoMod),
		GoSum: []byte(okGoSum),
	}
}

// TestCheckFindsDisagreements feeds Check inputs that disagree in one way
// each and expects it to say so.
func TestCheckFindsDisagreements(t *testing.T) {
	replace := func(s, old, new string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("test input does not contain %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	tests := []struct {
		name   string
		modify func(in *Inputs)
		want   []string // substrings of the errors; nil: no error
	}{
		{
			name:   "agreeing inputs",
			modify: func(in *Inputs) {},
		},
		{
			name: "replace directive honoured",
			modify: func(in *Inputs) {
				in.GoMod = append(in.GoMod, "replace github.com/example/indirect => github.com/fork/indirect v0.1.1\n"...)
				in.Bzl["bazel/go_deps.bzl"] = []byte(replace(okGoDeps, `importpath = "github.com/example/indirect",`,
					`importpath = "github.com/example/indirect",
        replace = "github.com/fork/indirect",`))
				in.Bzl["bazel/go_deps.bzl"] = []byte(replace(string(in.Bzl["bazel/go_deps.bzl"]), `"v0.1.0"`, `"v0.1.1"`))
				in.GoSum = append(in.GoSum, "github.com/fork/indirect v0.1.1/go.mod h1:FFF=\n"...)
			},
		},
		{
			name: "module of the module graph only (go.sum)",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_deps.bzl"] = []byte(okGoDeps + `    go_repository(
        name = "com_github_example_graphonly",
        importpath = "github.com/example/graphonly",
        sum = "h1:ggg=",
        version = "v0.9.0",
    )
`)
			},
		},
		{
			name: "rule-set versions differ between the set-ups (they may)",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `"rules_go", version = "0.62.0"`, `"rules_go", version = "0.60.0"`))
			},
		},
		{
			name: "rules_go too old for Bazel 9",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `"rules_go", version = "0.62.0"`, `"rules_go", version = "0.59.0"`))
			},
			want: []string{"MODULE.bazel: rules_go (io_bazel_rules_go) 0.59.0 does not support Bazel 9; use 0.60.0 or newer"},
		},
		{
			name: "gazelle too old for Bazel 9",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `version = "0.54.0"`, `version = "0.46.0"`))
			},
			want: []string{
				"MODULE.bazel: gazelle (bazel_gazelle) 0.46.0 does not support Bazel 9; use 0.47.0 or newer",
				"Gazelle 0.46.0: which Go its tools need is not known",
			},
		},
		{
			name: "gazelle without repo_name is not io_bazel_rules_go's bazel_gazelle",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `, repo_name = "bazel_gazelle"`, ``))
			},
			want: []string{
				"MODULE.bazel declares no version of gazelle",
				`bazel_dep(name = "gazelle") is repository @gazelle, which WORKSPACE/bazel/*.bzl do not declare`,
			},
		},
		{
			name: "rules_go missing from WORKSPACE",
			modify: func(in *Inputs) {
				in.Workspace = []byte(replace(okWorkspace, `name = "io_bazel_rules_go"`, `name = "rules_go_renamed"`))
			},
			want: []string{
				"WORKSPACE/bazel/*.bzl declare no version of rules_go",
				`bazel_dep(name = "rules_go") is repository @io_bazel_rules_go, which WORKSPACE/bazel/*.bzl do not declare`,
			},
		},
		{
			name: "dev bazel_dep missing from WORKSPACE",
			modify: func(in *Inputs) {
				in.Workspace = []byte(replace(okWorkspace, `native_rules_shim(name = "rules_shell", lang = "shell")`, ``))
			},
			want: []string{`bazel_dep(name = "rules_shell") is repository @rules_shell, which WORKSPACE/bazel/*.bzl do not declare: files that load @rules_shell//... would fail on Bazel 4.2`},
		},
		{
			name: "Go SDK repository named differently",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `use_repo(go_sdk, "go_sdk")`, `use_repo(go_sdk, "go_sdk_other")`))
			},
			want: []string{`MODULE.bazel: use_repo(go_sdk, "go_sdk_other"): WORKSPACE/bazel/*.bzl declare no repository go_sdk_other`},
		},
		{
			name: "Go SDK of MODULE.bazel too old for Gazelle's tools",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `version = "1.24.13"`, `version = "1.19.13"`))
			},
			want: []string{"MODULE.bazel's Go SDK 1.19.13 cannot build Gazelle 0.54.0's tools (its go.mod needs Go 1.24.12"},
		},
		{
			name: "Gazelle release of unknown Go needs",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `version = "0.54.0"`, `version = "0.99.0"`))
			},
			want: []string{"MODULE.bazel: Gazelle 0.99.0: which Go its tools need is not known; read the go line of its go.mod"},
		},
		{
			name: "rules_go that needs a newer Go SDK than WORKSPACE's",
			modify: func(in *Inputs) {
				in.Workspace = []byte(replace(okWorkspace, `version = "v0.34.0"`, `version = "v0.63.0"`))
			},
			want: []string{"WORKSPACE: rules_go 0.63.0 needs a Go SDK >= 1.20, the Go SDK is 1.19.13"},
		},
		{
			name: "second Go SDK in a .bzl file",
			modify: func(in *Inputs) {
				in.Bzl["bazel/extra.bzl"] = []byte("def f():\n    go_download_sdk(name = \"x\", version = \"1.19.12\")\n")
			},
			want: []string{"WORKSPACE/bazel/*.bzl declare several Go SDKs: 1.19.13 in WORKSPACE, 1.19.12 in bazel/extra.bzl; declare one"},
		},
		{
			name: "Go SDK version passed on from a set-up macro's parameter",
			modify: func(in *Inputs) {
				in.Bzl["bazel/setup.bzl"] = []byte("def setup(go_version = \"1.19.12\"):\n    go_toolchain_sdk_files(name = \"x\", version = go_version)\n")
			},
			want: []string{"WORKSPACE/bazel/*.bzl declare several Go SDKs: 1.19.13 in WORKSPACE, 1.19.12 in bazel/setup.bzl; declare one"},
		},
		{
			name: "go_register_toolchains(version) counts as an SDK",
			modify: func(in *Inputs) {
				in.Workspace = []byte(replace(okWorkspace, `go_register_toolchains()`, `go_register_toolchains(version = "1.18")`))
			},
			want: []string{"WORKSPACE/bazel/*.bzl declare several Go SDKs: 1.19.13 in WORKSPACE, 1.18 in WORKSPACE"},
		},
		{
			name: "no Go SDK in MODULE.bazel",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `go_sdk.download(name = "go_sdk", version = "1.24.13")`, ``))
			},
			want: []string{"MODULE.bazel declares no Go SDK"},
		},
		{
			name: "WORKSPACE's Go SDK is not go.mod's go",
			modify: func(in *Inputs) {
				in.GoMod = []byte(replace(okGoMod, "go 1.19", "go 1.21"))
			},
			want: []string{"WORKSPACE's Go SDK 1.19.13 is not go.mod's go 1.21"},
		},
		{
			name: "MODULE.bazel's Go SDK older than go.mod",
			modify: func(in *Inputs) {
				in.GoMod = []byte(replace(okGoMod, "go 1.19", "go 1.25"))
				in.Workspace = []byte(replace(okWorkspace, `version = "1.19.13"`, `version = "1.25.1"`))
			},
			want: []string{"MODULE.bazel's Go SDK 1.24.13 is older than go.mod's go 1.25"},
		},
		{
			name: "go_repository version differs from go.mod",
			modify: func(in *Inputs) {
				in.GoMod = []byte(replace(okGoMod, "direct v1.2.3", "direct v1.2.4"))
			},
			want: []string{"go_repository com_github_example_direct has github.com/example/direct@v1.2.3, go.mod wants github.com/example/direct@v1.2.4"},
		},
		{
			name: "go_repository not in go.mod",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_deps.bzl"] = []byte(okGoDeps + `    go_repository(
        name = "com_github_example_stale",
        importpath = "github.com/example/stale",
        sum = "h1:ddd=",
        version = "v1.0.0",
    )
`)
			},
			want: []string{"bazel/go_deps.bzl: go_repository com_github_example_stale (github.com/example/stale@v1.0.0) is neither a go.mod requirement nor in go.mod's module graph (go.sum)"},
		},
		{
			name: "go.mod requirement without go_repository",
			modify: func(in *Inputs) {
				in.GoMod = []byte(replace(okGoMod, "require (\n", "require (\n\tgithub.com/example/new v0.0.1 // indirect\n"))
			},
			want: []string{"go.mod requires github.com/example/new v0.0.1, but bazel/go_deps.bzl has no go_repository for it"},
		},
		{
			name: "go.mod requirement kept in go_overrides.bzl",
			modify: func(in *Inputs) {
				in.GoMod = []byte(replace(okGoMod, "require (\n", "require (\n\tgolang.org/x/sys v0.0.0-20220704084225-05e143d24a9e // indirect\n"))
			},
			want: []string{"go.mod requires golang.org/x/sys v0.0.0-20220704084225-05e143d24a9e, but it is declared in bazel/go_overrides.bzl (at v0.0.0-20220624220833-87e55d714810), where Gazelle does not update it: move it to bazel/go_deps.bzl"},
		},
		{
			name: "go_repository stale against go.sum",
			modify: func(in *Inputs) {
				in.GoSum = []byte(replace(okGoSum, "github.com/example/indirect v0.1.0 h1:bbb=\ngithub.com/example/indirect v0.1.0/go.mod h1:BBB=\n", ""))
			},
			want: []string{"go_repository com_github_example_indirect (github.com/example/indirect@v0.1.0) is neither a go.mod requirement nor in go.mod's module graph (go.sum)"},
		},
		{
			name: "sum differs from go.sum",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_deps.bzl"] = []byte(replace(okGoDeps, `sum = "h1:bbb=",`, `sum = "h1:zzz=",`))
			},
			want: []string{"go_repository com_github_example_indirect has sum h1:zzz=, go.sum has h1:bbb= for github.com/example/indirect@v0.1.0"},
		},
		{
			name: "repository needed offline missing",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_overrides.bzl"] = []byte(replace(okOverrides, `name = "org_golang_x_xerrors"`, `name = "org_golang_x_xerrors_renamed"`))
			},
			want: []string{"no go_repository org_golang_x_xerrors in bazel/*.bzl"},
		},
		{
			name: "repository declared in two files",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_overrides.bzl"] = []byte(replace(okOverrides, `name = "org_golang_x_xerrors"`, `name = "com_github_example_direct"`))
			},
			want: []string{`go_repository "com_github_example_direct" is declared in bazel/go_deps.bzl and in bazel/go_overrides.bzl`},
		},
		{
			name: "replace directive ignored by go_deps.bzl",
			modify: func(in *Inputs) {
				in.GoMod = append(in.GoMod, "replace github.com/example/direct v1.2.3 => github.com/fork/direct v1.2.5\n"...)
			},
			want: []string{"go_repository com_github_example_direct has github.com/example/direct@v1.2.3, go.mod wants github.com/fork/direct@v1.2.5"},
		},
		{
			name: "go_repository without sum",
			modify: func(in *Inputs) {
				in.Bzl["bazel/go_deps.bzl"] = []byte(replace(okGoDeps, `sum = "h1:aaa=",`, ``))
			},
			want: []string{"go_repository com_github_example_direct has no sum"},
		},
		{
			name: "direct dependency missing from use_repo",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `use_repo(go_deps, "com_github_example_direct")`, ``))
			},
			want: []string{`direct go.mod requirement github.com/example/direct needs use_repo(go_deps, "com_github_example_direct")`},
		},
		{
			name: "use_repo names an unknown repository",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `"com_github_example_direct")`, `"com_github_example_direct", "com_github_gone")`))
			},
			want: []string{`use_repo(go_deps, "com_github_gone") names no go.mod requirement`},
		},
		{
			name: "go_deps not read from go.mod",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `go_deps.from_file(go_mod = "//:go.mod")`, ``))
			},
			want: []string{`go_deps.from_file(go_mod = "//:go.mod") is missing`},
		},
		{
			name: "dev-only direct dependency in the dev use_repo is enough",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `use_repo(go_deps_dev, "com_github_example_devonly")`, ``))
			},
			want: []string{`direct go.mod requirement github.com/example/devonly needs use_repo(go_deps, "com_github_example_devonly")`},
		},
		{
			name: "several disagreements at once",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(replace(okModule, `"rules_go", version = "0.62.0"`, `"rules_go", version = "0.59.0"`))
				in.GoMod = []byte(replace(okGoMod, "indirect v0.1.0", "indirect v0.2.0"))
			},
			want: []string{
				"rules_go (io_bazel_rules_go) 0.59.0 does not support Bazel 9",
				"go_repository com_github_example_indirect has github.com/example/indirect@v0.1.0, go.mod wants github.com/example/indirect@v0.2.0",
			},
		},
		{
			name: "syntax error",
			modify: func(in *Inputs) {
				in.ModuleBazel = []byte(okModule + "bazel_dep(\n")
			},
			want: []string{"MODULE.bazel:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := okInputs()
			tt.modify(&in)
			errs := Check(in)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Check returned %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, want := range tt.want {
				if !strings.Contains(got[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], want)
				}
			}
		})
	}
}

func TestParseGoMod(t *testing.T) {
	m, err := ParseGoMod([]byte(`// comment
module "example.com/m"

go 1.19

require (
	example.com/a v1.0.0
	example.com/b v0.1.0 // indirect
)

require example.com/c v2.0.0+incompatible

replace (
	example.com/a => ../a
	example.com/b v0.1.0 => example.com/b2 v0.1.1
)

exclude example.com/d v1.0.0
`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Go != "1.19" {
		t.Errorf("Go = %q", m.Go)
	}
	wantReq := []Requirement{
		{"example.com/a", "v1.0.0", false},
		{"example.com/b", "v0.1.0", true},
		{"example.com/c", "v2.0.0+incompatible", false},
	}
	if len(m.Require) != len(wantReq) {
		t.Fatalf("Require = %v, want %v", m.Require, wantReq)
	}
	for i := range wantReq {
		if m.Require[i] != wantReq[i] {
			t.Errorf("Require[%d] = %v, want %v", i, m.Require[i], wantReq[i])
		}
	}
	wantRep := []Replacement{
		{"example.com/a", "", "../a", ""},
		{"example.com/b", "v0.1.0", "example.com/b2", "v0.1.1"},
	}
	if len(m.Replace) != len(wantRep) {
		t.Fatalf("Replace = %v, want %v", m.Replace, wantRep)
	}
	for i := range wantRep {
		if m.Replace[i] != wantRep[i] {
			t.Errorf("Replace[%d] = %v, want %v", i, m.Replace[i], wantRep[i])
		}
	}

	for _, bad := range []string{"require (\n\texample.com/a\n)\n", "require (\n\texample.com/a v1\n", "go 1.19 1.20\n"} {
		if _, err := ParseGoMod([]byte(bad)); err == nil {
			t.Errorf("ParseGoMod(%q) succeeded, want an error", bad)
		}
	}
}
