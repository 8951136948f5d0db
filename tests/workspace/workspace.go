// Package workspace checks that the repository's two Bazel set-ups and go.mod
// agree on what must agree:
//
//   - MODULE.bazel (bzlmod, Bazel 7-9 with internet access; audited, not run),
//   - WORKSPACE and bazel/*.bzl (offline Bazel 4.2.3, see bazel/offline_deps.bzl),
//   - go.mod (the Go module, maintained with the go command).
//
// The set-ups pin different rule-set versions on purpose (those that support
// Bazel 4.2 in WORKSPACE, those that support Bazel 7-9 in MODULE.bazel). What
// must agree:
//
//   - repository names: BUILD and .bzl files load the same @names under both,
//     so every bazel_dep (by its repo_name) and every repository MODULE.bazel
//     takes from an extension is declared in WORKSPACE too;
//   - go.mod's requirements: every go_repository in bazel/go_deps.bzl is a
//     go.mod requirement (or in its module graph) at the same version and sum,
//     every requirement has one, and use_repo(go_deps, ...) in MODULE.bazel
//     names only go.mod requirements and all direct ones;
//   - the Go SDK: WORKSPACE's is go.mod's `go` version (the oldest Go the code
//     promises to build with is the one Bazel tests it with); MODULE.bazel's
//     is at least that, and new enough for its Gazelle's tools and its
//     rules_go; each set-up declares one;
//   - MODULE.bazel's rules_go and Gazelle are releases that support Bazel 9.
//
// Files are parsed with github.com/bazelbuild/buildtools/build, the parser
// buildifier uses.
package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// GoDepsFile is the file (relative to the repository root) that
// `bazel run //:gazelle-update-repos` writes from go.mod.
const GoDepsFile = "bazel/go_deps.bzl"

// Repository names under which both set-ups know rules_go and Gazelle
// (MODULE.bazel maps them with repo_name).
const (
	rulesGoRepo = "io_bazel_rules_go"
	gazelleRepo = "bazel_gazelle"
)

// Facts about rule-set releases that the checks rely on; the sources are in
// docs/bazel-compatibility.md.
var (
	// rules_go before 0.60.0 refers to the builtin CcInfo, which Bazel 9
	// removed.
	minRulesGoBzlmod = "0.60.0"
	// Gazelle 0.47.0 is the first release tested on Bazel 9.
	minGazelleBzlmod = "0.47.0"
	// rules_go releases from `from` on need a Go SDK >= goVersion.
	rulesGoMinGo = []struct{ from, goVersion string }{
		{"0.63.0", "1.20"},
	}
	// The `go` version of Gazelle's own go.mod, by Gazelle release: with
	// bzlmod, go_deps builds Gazelle's tools with the root module's first
	// Go SDK, which must be at least that. (WORKSPACE's Gazelle 0.26 builds
	// them from vendor/ with the WORKSPACE SDK.) Add a release here after
	// reading its go.mod.
	gazelleToolsGo = map[string]string{
		"0.47.0": "1.22.9",
		"0.50.0": "1.24.12",
		"0.54.0": "1.24.12",
	}
)

// Inputs holds the contents of the files that are compared.
type Inputs struct {
	ModuleBazel []byte
	Workspace   []byte
	// Bzl maps a path relative to the repository root (bazel/go_deps.bzl,
	// bazel/offline_deps.bzl, ...) to its content.
	Bzl   map[string][]byte
	GoMod []byte
	GoSum []byte
}

// LoadInputs reads MODULE.bazel, WORKSPACE, bazel/*.bzl and go.mod from the
// repository root dir.
func LoadInputs(root string) (Inputs, error) {
	var in Inputs
	var err error
	read := func(rel string) []byte {
		if err != nil {
			return nil
		}
		var data []byte
		data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		return data
	}
	in.ModuleBazel = read("MODULE.bazel")
	in.Workspace = read("WORKSPACE")
	in.GoMod = read("go.mod")
	in.GoSum = read("go.sum")
	if err != nil {
		return in, err
	}
	paths, err := filepath.Glob(filepath.Join(root, "bazel", "*.bzl"))
	if err != nil {
		return in, err
	}
	in.Bzl = make(map[string][]byte)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return in, err
		}
		in.Bzl["bazel/"+filepath.Base(p)] = data
	}
	if _, ok := in.Bzl[GoDepsFile]; !ok {
		return in, fmt.Errorf("%s not found under %s (is it in the test's data?)", GoDepsFile, root)
	}
	return in, nil
}

// GoRepository is one go_repository(...) call.
type GoRepository struct {
	File       string
	Name       string
	ImportPath string
	Version    string
	Sum        string
	Replace    string
}

// Declared is what one set-up (bzlmod or WORKSPACE) declares.
type Declared struct {
	// Versions without a leading "v"; "" when not declared.
	RulesGo, Gazelle string
	// Every Go SDK version the set-up declares, with the file declaring it.
	GoSDKs []Located
	// WORKSPACE only: go_repository rules of bazel/go_deps.bzl, and of all
	// files, by name.
	GoDeps, AllGoRepos map[string]GoRepository
	// MODULE.bazel only: whether go_deps.from_file(go_mod = "//:go.mod")
	// is used, and the repositories named in use_repo(go_deps, ...) (dev or
	// not).
	GoDepsFromGoMod bool
	GoDepsUseRepo   []string
	// MODULE.bazel only: bazel_dep(...) calls, and the repositories named in
	// use_repo(go_sdk, ...).
	Deps       []BazelDep
	GoSDKRepos []string
	// WORKSPACE only: every repository name declared (any call with a
	// name = "..." argument in WORKSPACE or bazel/*.bzl), with its file.
	Repos map[string]string
}

// BazelDep is one bazel_dep(...) of MODULE.bazel.
type BazelDep struct {
	Name, Version, RepoName string
	Dev                     bool
}

// Located is a value and the file it was found in.
type Located struct {
	Value, File string
}

// ParseModuleBazel extracts what MODULE.bazel declares.
func ParseModuleBazel(filename string, data []byte) (*Declared, error) {
	f, err := build.ParseDefault(filename, data)
	if err != nil {
		return nil, err
	}
	d := &Declared{}
	// Variables bound to use_extension(...): name -> extension name.
	ext := map[string]string{}
	for _, stmt := range f.Stmt {
		if a, ok := stmt.(*build.AssignExpr); ok {
			lhs, ok1 := a.LHS.(*build.Ident)
			call, ok2 := a.RHS.(*build.CallExpr)
			if ok1 && ok2 && calleeName(call) == "use_extension" && len(call.List) >= 2 {
				bzlFile, _ := stringValue(call.List[0])
				extName, _ := stringValue(call.List[1])
				switch {
				case extName == "go_sdk" && strings.HasSuffix(bzlFile, "//go:extensions.bzl"):
					ext[lhs.Name] = "go_sdk"
				case extName == "go_deps" && strings.HasSuffix(bzlFile, "//:extensions.bzl"):
					ext[lhs.Name] = "go_deps"
				}
			}
			continue
		}
		call, ok := stmt.(*build.CallExpr)
		if !ok {
			continue
		}
		switch fn := call.X.(type) {
		case *build.Ident:
			switch fn.Name {
			case "bazel_dep":
				name, version, repoName := kwarg(call, "name"), kwarg(call, "version"), kwarg(call, "repo_name")
				if repoName == "" {
					repoName = name
				}
				d.Deps = append(d.Deps, BazelDep{name, version, repoName, boolKwarg(call, "dev_dependency")})
				switch repoName {
				case rulesGoRepo:
					d.RulesGo = trimV(version)
				case gazelleRepo:
					d.Gazelle = trimV(version)
				}
			case "use_repo":
				if len(call.List) == 0 {
					continue
				}
				v, ok := call.List[0].(*build.Ident)
				if !ok {
					continue
				}
				for _, arg := range call.List[1:] {
					s, ok := stringValue(arg)
					if !ok {
						continue
					}
					switch ext[v.Name] {
					case "go_deps":
						d.GoDepsUseRepo = append(d.GoDepsUseRepo, s)
					case "go_sdk":
						d.GoSDKRepos = append(d.GoSDKRepos, s)
					}
				}
			}
		case *build.DotExpr:
			v, ok := fn.X.(*build.Ident)
			if !ok {
				continue
			}
			switch {
			case ext[v.Name] == "go_sdk" && fn.Name == "download":
				d.GoSDKs = append(d.GoSDKs, Located{kwarg(call, "version"), filename})
			case ext[v.Name] == "go_deps" && fn.Name == "from_file":
				d.GoDepsFromGoMod = kwarg(call, "go_mod") == "//:go.mod"
			}
		}
	}
	return d, nil
}

// ParseWorkspace extracts what WORKSPACE and the .bzl files declare.
// bzl maps repository-relative paths to contents.
func ParseWorkspace(workspace []byte, bzl map[string][]byte) (*Declared, error) {
	d := &Declared{GoDeps: map[string]GoRepository{}, AllGoRepos: map[string]GoRepository{}, Repos: map[string]string{}}
	files := map[string][]byte{"WORKSPACE": workspace}
	for p, data := range bzl {
		files[p] = data
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	rulesGo, gazelle := map[string]bool{}, map[string]bool{}
	for _, p := range names {
		var f *build.File
		var err error
		if p == "WORKSPACE" {
			f, err = build.ParseWorkspace(p, files[p])
		} else {
			f, err = build.ParseBzl(p, files[p])
		}
		if err != nil {
			return nil, err
		}
		defaults := stringDefaults(f)
		var walkErr error
		build.Walk(f, func(x build.Expr, _ []build.Expr) {
			call, ok := x.(*build.CallExpr)
			if !ok {
				return
			}
			name, version := kwarg(call, "name"), kwargOrDefault(call, "version", defaults)
			if name != "" && calleeName(call) != "workspace" {
				if _, seen := d.Repos[name]; !seen {
					d.Repos[name] = p
				}
			}
			switch {
			case name == rulesGoRepo:
				rulesGo[trimV(version)] = true
			case name == gazelleRepo:
				gazelle[trimV(version)] = true
			}
			switch calleeName(call) {
			case "go_toolchain_sdk_files", "go_download_sdk", "go_register_toolchains":
				// go_register_toolchains(version = ...) also downloads an SDK.
				if version != "" || calleeName(call) != "go_register_toolchains" {
					d.GoSDKs = append(d.GoSDKs, Located{version, p})
				}
			case "go_repository":
				r := GoRepository{
					File:       p,
					Name:       name,
					ImportPath: kwarg(call, "importpath"),
					Version:    version,
					Sum:        kwarg(call, "sum"),
					Replace:    kwarg(call, "replace"),
				}
				if prev, dup := d.AllGoRepos[name]; dup && walkErr == nil {
					walkErr = fmt.Errorf("go_repository %q is declared in %s and in %s", name, prev.File, p)
				}
				d.AllGoRepos[name] = r
				if p == GoDepsFile {
					d.GoDeps[name] = r
				}
			}
		})
		if walkErr != nil {
			return nil, walkErr
		}
	}
	var err error
	if d.RulesGo, err = single("rules_go", rulesGo); err != nil {
		return nil, err
	}
	if d.Gazelle, err = single("gazelle", gazelle); err != nil {
		return nil, err
	}
	return d, nil
}

func single(what string, versions map[string]bool) (string, error) {
	var vs []string
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("WORKSPACE/bazel: %s declared with several versions: %q", what, vs)
}

// offlineRepos are repositories that rules_go's go_rules_dependencies()
// would download from GitHub; Gazelle and buildifier need them, so
// bazel/go_deps.bzl or bazel/go_overrides.bzl must declare them as
// go_repository (fetched through the Go module proxy).
var offlineRepos = []string{
	"com_github_bazelbuild_buildtools",
	"com_github_golang_protobuf",
	"org_golang_google_protobuf",
	"org_golang_x_sys",
	"org_golang_x_tools",
	"org_golang_x_xerrors",
}

// Check compares the inputs and returns every disagreement found (nil when
// they agree).
func Check(in Inputs) []error {
	var errs []error
	fail := func(format string, args ...interface{}) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	mod, err := ParseModuleBazel("MODULE.bazel", in.ModuleBazel)
	if err != nil {
		return []error{err}
	}
	ws, err := ParseWorkspace(in.Workspace, in.Bzl)
	if err != nil {
		return []error{err}
	}
	gomod, err := ParseGoMod(in.GoMod)
	if err != nil {
		return []error{err}
	}
	gosum, err := ParseGoSum(in.GoSum)
	if err != nil {
		return []error{err}
	}

	// rules_go and Gazelle: both set-ups have them under the same
	// repository names; MODULE.bazel's support Bazel 9.
	for _, c := range []struct{ what, mod, ws, min string }{
		{"rules_go (" + rulesGoRepo + ")", mod.RulesGo, ws.RulesGo, minRulesGoBzlmod},
		{"gazelle (" + gazelleRepo + ")", mod.Gazelle, ws.Gazelle, minGazelleBzlmod},
	} {
		switch {
		case c.mod == "":
			fail("MODULE.bazel declares no version of %s", c.what)
		case !versionAtLeast(c.mod, c.min):
			fail("MODULE.bazel: %s %s does not support Bazel 9; use %s or newer", c.what, c.mod, c.min)
		}
		if c.ws == "" {
			fail("WORKSPACE/bazel/*.bzl declare no version of %s", c.what)
		}
	}

	// Go SDK: one per set-up; WORKSPACE's is go.mod's go version,
	// MODULE.bazel's at least that and what its Gazelle and rules_go need.
	modSDK, wsSDK := "", ""
	for _, c := range []struct {
		where string
		sdks  []Located
		out   *string
	}{
		{"MODULE.bazel", mod.GoSDKs, &modSDK},
		{"WORKSPACE/bazel/*.bzl", ws.GoSDKs, &wsSDK},
	} {
		versions := map[string]bool{}
		var list []string
		for _, s := range c.sdks {
			if s.Value == "" {
				fail("%s: a Go SDK is declared without a version", s.File)
				continue
			}
			if !versions[s.Value] {
				versions[s.Value] = true
				list = append(list, s.Value+" in "+s.File)
			}
		}
		switch {
		case len(c.sdks) == 0 && c.where == "MODULE.bazel":
			fail("MODULE.bazel declares no Go SDK (go_sdk.download(version = ...))")
		case len(c.sdks) == 0:
			fail("WORKSPACE/bazel/*.bzl declare no Go SDK")
		case len(versions) > 1:
			fail("%s declare several Go SDKs: %s; declare one", c.where, strings.Join(list, ", "))
		case len(versions) == 1:
			*c.out = c.sdks[0].Value
		}
	}
	if wsSDK != "" && gomod.Go != "" && majorMinor(wsSDK) != majorMinor(gomod.Go) {
		fail("WORKSPACE's Go SDK %s is not go.mod's go %s: the oldest Go the code promises to build with is the one Bazel 4.2 tests it with", wsSDK, gomod.Go)
	}
	if modSDK != "" && gomod.Go != "" && !versionAtLeast(modSDK, gomod.Go) {
		fail("MODULE.bazel's Go SDK %s is older than go.mod's go %s", modSDK, gomod.Go)
	}
	if modSDK != "" && mod.Gazelle != "" {
		if need, ok := gazelleToolsGo[mod.Gazelle]; !ok {
			fail("MODULE.bazel: Gazelle %s: which Go its tools need is not known; read the go line of its go.mod and add it to gazelleToolsGo in tests/workspace/workspace.go", mod.Gazelle)
		} else if !versionAtLeast(modSDK, need) {
			fail("MODULE.bazel's Go SDK %s cannot build Gazelle %s's tools (its go.mod needs Go %s; go_deps builds them with the root module's first Go SDK)", modSDK, mod.Gazelle, need)
		}
	}
	for _, c := range []struct{ where, rulesGo, sdk string }{
		{"MODULE.bazel", mod.RulesGo, modSDK},
		{"WORKSPACE", ws.RulesGo, wsSDK},
	} {
		for _, r := range rulesGoMinGo {
			if c.rulesGo != "" && c.sdk != "" && versionAtLeast(c.rulesGo, r.from) && !versionAtLeast(c.sdk, r.goVersion) {
				fail("%s: rules_go %s needs a Go SDK >= %s, the Go SDK is %s", c.where, c.rulesGo, r.goVersion, c.sdk)
			}
		}
	}

	// Repository names: what BUILD and .bzl files load must exist in both.
	for _, dep := range mod.Deps {
		if _, ok := ws.Repos[dep.RepoName]; !ok {
			fail("MODULE.bazel: bazel_dep(name = %q) is repository @%s, which WORKSPACE/bazel/*.bzl do not declare: files that load @%s//... would fail on Bazel 4.2", dep.Name, dep.RepoName, dep.RepoName)
		}
	}
	for _, name := range mod.GoSDKRepos {
		if _, ok := ws.Repos[name]; !ok {
			fail("MODULE.bazel: use_repo(go_sdk, %q): WORKSPACE/bazel/*.bzl declare no repository %s", name, name)
		}
	}

	// go.mod <-> bazel/go_deps.bzl. `gazelle update-repos -from_file=go.mod`
	// writes a go_repository for every module of the module graph (go list
	// -m all), so go_deps.bzl may hold more than go.mod's require lines:
	// those must be in go.sum.
	required := map[string]Requirement{}
	for _, r := range gomod.Require {
		required[r.Path] = r
	}
	byImportPath := map[string]GoRepository{}
	for _, r := range sortedRepos(ws.GoDeps) {
		byImportPath[r.ImportPath] = r
		gotPath := r.ImportPath
		if r.Replace != "" {
			gotPath = r.Replace
		}
		if req, ok := required[r.ImportPath]; ok {
			wantPath, wantVersion := req.Path, req.Version
			if rep := replacementFor(gomod.Replace, req); rep != nil {
				wantPath, wantVersion = rep.NewPath, rep.NewVersion
			}
			if gotPath != wantPath || r.Version != wantVersion {
				fail("%s: go_repository %s has %s@%s, go.mod wants %s@%s; run: bazel run //:gazelle-update-repos", r.File, r.Name, gotPath, r.Version, wantPath, wantVersion)
				continue
			}
		}
		zip, ok := gosum[gotPath+"@"+r.Version]
		switch {
		case !ok:
			fail("%s: go_repository %s (%s@%s) is neither a go.mod requirement nor in go.mod's module graph (go.sum); run: bazel run //:gazelle-update-repos", r.File, r.Name, gotPath, r.Version)
		case r.Sum == "":
			fail("%s: go_repository %s has no sum", r.File, r.Name)
		case zip != "" && zip != r.Sum:
			fail("%s: go_repository %s has sum %s, go.sum has %s for %s@%s", r.File, r.Name, r.Sum, zip, gotPath, r.Version)
		}
	}
	for _, req := range gomod.Require {
		if _, ok := byImportPath[req.Path]; ok {
			continue
		}
		if r, ok := findImportPath(ws.AllGoRepos, req.Path); ok {
			fail("go.mod requires %s %s, but it is declared in %s (at %s), where Gazelle does not update it: move it to %s, then run: bazel run //:gazelle-update-repos", req.Path, req.Version, r.File, r.Version, GoDepsFile)
		} else {
			fail("go.mod requires %s %s, but %s has no go_repository for it; run: bazel run //:gazelle-update-repos", req.Path, req.Version, GoDepsFile)
		}
	}
	for _, name := range offlineRepos {
		if _, ok := ws.AllGoRepos[name]; !ok {
			fail("no go_repository %s in bazel/*.bzl: Gazelle and buildifier need it, and rules_go would download it from GitHub; declare it (# keep) in bazel/go_overrides.bzl", name)
		}
	}

	// MODULE.bazel's go_deps extension reads go.mod itself; check what it
	// exposes with use_repo.
	if !mod.GoDepsFromGoMod {
		fail(`MODULE.bazel: go_deps.from_file(go_mod = "//:go.mod") is missing`)
	}
	used := map[string]bool{}
	for _, name := range mod.GoDepsUseRepo {
		used[name] = true
		if _, ok := ws.GoDeps[name]; !ok {
			fail("MODULE.bazel: use_repo(go_deps, %q) names no go.mod requirement (not in %s)", name, GoDepsFile)
		}
	}
	for _, req := range gomod.Require {
		if r, ok := byImportPath[req.Path]; ok && !req.Indirect && !used[r.Name] {
			fail("MODULE.bazel: direct go.mod requirement %s needs use_repo(go_deps, %q)", req.Path, r.Name)
		}
	}
	return errs
}

func replacementFor(reps []Replacement, req Requirement) *Replacement {
	var found *Replacement
	for i := range reps {
		r := &reps[i]
		if r.OldPath != req.Path {
			continue
		}
		if r.OldVersion == req.Version {
			return r
		}
		if r.OldVersion == "" {
			found = r
		}
	}
	return found
}

// findImportPath returns the first repository (by name) for path.
func findImportPath(repos map[string]GoRepository, path string) (GoRepository, bool) {
	for _, r := range sortedRepos(repos) {
		if r.ImportPath == path {
			return r, true
		}
	}
	return GoRepository{}, false
}

func sortedRepos(m map[string]GoRepository) []GoRepository {
	rs := make([]GoRepository, 0, len(m))
	for _, r := range m {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	return rs
}

// versionAtLeast reports whether version a (1.19.13, 0.62.0) >= b (1.19).
func versionAtLeast(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}

// majorMinor returns "1.19" for "1.19.13" and for "1.19".
func majorMinor(v string) string {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 2 {
		return v
	}
	return p[0] + "." + p[1]
}
