package workspace

// Helpers for Starlark calls parsed by buildtools.

import (
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// boolKwarg reports whether keyword argument key is the literal True.
func boolKwarg(call *build.CallExpr, key string) bool {
	for _, arg := range call.List {
		a, ok := arg.(*build.AssignExpr)
		if !ok {
			continue
		}
		if id, ok := a.LHS.(*build.Ident); ok && id.Name == key {
			v, ok := a.RHS.(*build.Ident)
			return ok && v.Name == "True"
		}
	}
	return false
}

func calleeName(call *build.CallExpr) string {
	if id, ok := call.X.(*build.Ident); ok {
		return id.Name
	}
	return ""
}

// kwarg returns the string value of keyword argument key, or "".
func kwarg(call *build.CallExpr, key string) string {
	for _, arg := range call.List {
		a, ok := arg.(*build.AssignExpr)
		if !ok {
			continue
		}
		if id, ok := a.LHS.(*build.Ident); ok && id.Name == key {
			s, _ := stringValue(a.RHS)
			return s
		}
	}
	return ""
}

func stringValue(x build.Expr) (string, bool) {
	if s, ok := x.(*build.StringExpr); ok {
		return s.Value, true
	}
	return "", false
}

func trimV(v string) string { return strings.TrimPrefix(v, "v") }

// stringDefaults maps the names of a file's top-level string constants and
// of its functions' parameters with a string default to those strings: a
// set-up macro passes its argument on (go_toolchain_sdk_files(version =
// go_version)), and the version declared is the parameter's default.
func stringDefaults(f *build.File) map[string]string {
	m := map[string]string{}
	for _, stmt := range f.Stmt {
		switch x := stmt.(type) {
		case *build.AssignExpr:
			if id, ok := x.LHS.(*build.Ident); ok {
				if s, ok := stringValue(x.RHS); ok {
					m[id.Name] = s
				}
			}
		case *build.DefStmt:
			for _, p := range x.Params {
				a, ok := p.(*build.AssignExpr)
				if !ok {
					continue
				}
				if id, ok := a.LHS.(*build.Ident); ok {
					if s, ok := stringValue(a.RHS); ok {
						m[id.Name] = s
					}
				}
			}
		}
	}
	return m
}

// kwargOrDefault is kwarg, but a keyword argument whose value is a name
// found in defaults (see stringDefaults) gives that name's string.
func kwargOrDefault(call *build.CallExpr, key string, defaults map[string]string) string {
	for _, arg := range call.List {
		a, ok := arg.(*build.AssignExpr)
		if !ok {
			continue
		}
		if id, ok := a.LHS.(*build.Ident); ok && id.Name == key {
			if s, ok := stringValue(a.RHS); ok {
				return s
			}
			if v, ok := a.RHS.(*build.Ident); ok {
				return defaults[v.Name]
			}
			return ""
		}
	}
	return ""
}
