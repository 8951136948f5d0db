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
