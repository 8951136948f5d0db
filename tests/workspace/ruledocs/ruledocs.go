// Command ruledocs writes docs/rules-reference.md, the reference of the
// public Bazel rules, from the docstrings of rules/defs.bzl and the files it
// loads: every rule's doc= and attributes (type, default, doc=), every
// provider's doc= and fields, every macro's docstring. Bazel 4.2 has no
// stardoc here, so the .bzl files are parsed with
// github.com/bazelbuild/buildtools/build (the parser buildifier uses) and the
// few expressions the rules use to build docstrings and attribute dicts
// (string literals, "+", names bound in the file or loaded from another one,
// dict(...) with **) are evaluated; anything else is an error naming the file
// and line, never a silent guess.
//
// From the repository root:
//
//	go run ./tests/workspace/ruledocs -o docs/rules-reference.md
//
// The test of this package fails when the committed file differs from what
// this writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// DefsFile is the public entry point, relative to the repository root.
const DefsFile = "rules/defs.bzl"

// OutputFile is where the reference lives, relative to the repository root.
const OutputFile = "docs/rules-reference.md"

// RegenerateCommand regenerates OutputFile, run from the repository root.
const RegenerateCommand = "go run ./tests/workspace/ruledocs -o " + OutputFile

func main() {
	root := flag.String("root", ".", "the repository root")
	out := flag.String("o", "", "write the reference to this file (default: standard output)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: ruledocs [-root DIR] [-o FILE]")
		os.Exit(2)
	}
	doc, err := Generate(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ruledocs:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(doc)
	} else {
		err = os.WriteFile(*out, doc, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ruledocs:", err)
		os.Exit(1)
	}
}

// bzlFile is one parsed .bzl file and its top-level bindings.
type bzlFile struct {
	path     string                    // relative to the repository root
	file     *build.File               // the syntax tree
	assigned map[string]build.Expr     // NAME = EXPR at top level
	defs     map[string]*build.DefStmt // def NAME(...) at top level
	loaded   map[string][2]string      // local name -> (file, name there)
}

// loader parses .bzl files of the repository on demand.
type loader struct {
	root  string
	files map[string]*bzlFile
}

func (l *loader) load(path string) (*bzlFile, error) {
	if f, ok := l.files[path]; ok {
		return f, nil
	}
	data, err := os.ReadFile(filepath.Join(l.root, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	syntax, err := build.ParseBzl(path, data)
	if err != nil {
		return nil, err
	}
	f := &bzlFile{
		path:     path,
		file:     syntax,
		assigned: map[string]build.Expr{},
		defs:     map[string]*build.DefStmt{},
		loaded:   map[string][2]string{},
	}
	for _, stmt := range syntax.Stmt {
		switch s := stmt.(type) {
		case *build.AssignExpr:
			if id, ok := s.LHS.(*build.Ident); ok && s.Op == "=" {
				f.assigned[id.Name] = s.RHS
			}
		case *build.DefStmt:
			f.defs[s.Name] = s
		case *build.LoadStmt:
			target, ok := repoPath(path, s.Module.Value)
			if !ok {
				continue // another repository's file: nothing documented comes from there
			}
			for i := range s.To {
				f.loaded[s.To[i].Name] = [2]string{target, s.From[i].Name}
			}
		}
	}
	l.files[path] = f
	return f, nil
}

// repoPath turns a load label of a file in this repository into its path
// relative to the repository root: ":x.bzl" (next to from), "//pkg:x.bzl",
// "@modhash//pkg:x.bzl".
func repoPath(from, label string) (string, bool) {
	label = strings.TrimPrefix(label, "@modhash")
	if strings.HasPrefix(label, "@") {
		return "", false
	}
	if strings.HasPrefix(label, ":") {
		return filepath.ToSlash(filepath.Join(filepath.Dir(from), label[1:])), true
	}
	if strings.HasPrefix(label, "//") {
		pkg, name, ok := strings.Cut(label[2:], ":")
		if !ok {
			return "", false
		}
		return filepath.ToSlash(filepath.Join(pkg, name)), true
	}
	return "", false
}

// binding is an expression together with the file whose names it uses.
type binding struct {
	file *bzlFile
	expr build.Expr
}

func where(f *bzlFile, e build.Expr) string {
	start, _ := e.Span()
	return fmt.Sprintf("%s:%d", f.path, start.Line)
}

// lookup resolves a top-level name of f, following loads.
func (l *loader) lookup(f *bzlFile, name string) (binding, *build.DefStmt, error) {
	for depth := 0; depth < 20; depth++ {
		if e, ok := f.assigned[name]; ok {
			return binding{f, e}, nil, nil
		}
		if d, ok := f.defs[name]; ok {
			return binding{file: f}, d, nil
		}
		src, ok := f.loaded[name]
		if !ok {
			return binding{}, nil, fmt.Errorf("%s: %s is not defined at top level or loaded from this repository", f.path, name)
		}
		next, err := l.load(src[0])
		if err != nil {
			return binding{}, nil, err
		}
		f, name = next, src[1]
	}
	return binding{}, nil, fmt.Errorf("%s: %s: too many loads", f.path, name)
}

// str evaluates a string-valued expression.
func (l *loader) str(b binding) (string, error) {
	switch e := b.expr.(type) {
	case *build.StringExpr:
		return e.Value, nil
	case *build.ParenExpr:
		return l.str(binding{b.file, e.X})
	case *build.BinaryExpr:
		if e.Op != "+" {
			break
		}
		x, err := l.str(binding{b.file, e.X})
		if err != nil {
			return "", err
		}
		y, err := l.str(binding{b.file, e.Y})
		if err != nil {
			return "", err
		}
		return x + y, nil
	case *build.Ident:
		v, _, err := l.lookup(b.file, e.Name)
		if err != nil {
			return "", err
		}
		if v.expr == nil {
			return "", fmt.Errorf("%s: %s is a function, want a string", where(b.file, e), e.Name)
		}
		return l.str(v)
	}
	return "", fmt.Errorf("%s: cannot evaluate %s as a string", where(b.file, b.expr), build.FormatString(b.expr))
}

// entry is one key of a dict literal, in source order.
type entry struct {
	key   string
	value binding
}

// dict evaluates a dict-valued expression: {...}, dict(...) with positional
// dicts, keyword arguments and **dicts, or a name bound to one of these.
func (l *loader) dict(b binding) ([]entry, error) {
	switch e := b.expr.(type) {
	case *build.ParenExpr:
		return l.dict(binding{b.file, e.X})
	case *build.Ident:
		v, _, err := l.lookup(b.file, e.Name)
		if err != nil {
			return nil, err
		}
		if v.expr == nil {
			return nil, fmt.Errorf("%s: %s is a function, want a dict", where(b.file, e), e.Name)
		}
		return l.dict(v)
	case *build.DictExpr:
		var out []entry
		for _, kv := range e.List {
			k, err := l.str(binding{b.file, kv.Key})
			if err != nil {
				return nil, err
			}
			out = append(out, entry{k, binding{b.file, kv.Value}})
		}
		return out, nil
	case *build.CallExpr:
		fn, ok := e.X.(*build.Ident)
		if !ok || fn.Name != "dict" {
			break
		}
		var out []entry
		for _, arg := range e.List {
			switch a := arg.(type) {
			case *build.AssignExpr:
				id, ok := a.LHS.(*build.Ident)
				if !ok {
					return nil, fmt.Errorf("%s: unexpected keyword argument", where(b.file, a))
				}
				out = append(out, entry{id.Name, binding{b.file, a.RHS}})
			case *build.UnaryExpr:
				if a.Op != "**" {
					return nil, fmt.Errorf("%s: unexpected argument %s", where(b.file, a), build.FormatString(a))
				}
				more, err := l.dict(binding{b.file, a.X})
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			default:
				more, err := l.dict(binding{b.file, a})
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: cannot evaluate %s as a dict", where(b.file, b.expr), build.FormatString(b.expr))
}

// kwargs returns a call's keyword arguments by name.
func kwargs(call *build.CallExpr) map[string]build.Expr {
	out := map[string]build.Expr{}
	for _, arg := range call.List {
		if a, ok := arg.(*build.AssignExpr); ok {
			if id, ok := a.LHS.(*build.Ident); ok {
				out[id.Name] = a.RHS
			}
		}
	}
	return out
}

// symbol is one public name of defs.bzl and what it is.
type symbol struct {
	name string   // public name
	file *bzlFile // where it is defined
	kind string   // "rule", "provider", "macro"
	call *build.CallExpr
	def  *build.DefStmt
}

// Generate returns the reference of the public rules of the repository at
// root.
func Generate(root string) ([]byte, error) {
	l := &loader{root: root, files: map[string]*bzlFile{}}
	defs, err := l.load(DefsFile)
	if err != nil {
		return nil, err
	}
	var symbols []symbol
	for _, stmt := range defs.file.Stmt {
		a, ok := stmt.(*build.AssignExpr)
		if !ok {
			continue
		}
		id, ok := a.LHS.(*build.Ident)
		if !ok || strings.HasPrefix(id.Name, "_") {
			continue
		}
		val, def, err := l.lookup(defs, id.Name)
		if err != nil {
			return nil, err
		}
		for def == nil {
			// Follow aliases (public = _private) to the defining expression.
			next, ok := val.expr.(*build.Ident)
			if !ok {
				break
			}
			val, def, err = l.lookup(val.file, next.Name)
			if err != nil {
				return nil, err
			}
		}
		s := symbol{name: id.Name, file: val.file, def: def}
		if def != nil {
			s.kind = "macro"
		} else if call, ok := val.expr.(*build.CallExpr); ok {
			if fn, ok := call.X.(*build.Ident); ok && (fn.Name == "rule" || fn.Name == "provider") {
				s.kind, s.call = fn.Name, call
			}
		}
		if s.kind == "" {
			return nil, fmt.Errorf("%s: %s is not a rule(...), a provider(...) or a function", where(val.file, val.expr), id.Name)
		}
		symbols = append(symbols, s)
	}
	order := map[string]int{"rule": 0, "macro": 1, "provider": 2}
	sort.SliceStable(symbols, func(i, j int) bool { return order[symbols[i].kind] < order[symbols[j].kind] })

	var out bytes.Buffer
	fmt.Fprintf(&out, "<!-- Generated from the docstrings of %s and the files it loads by\n     %s\n     Do not edit: change the docstrings and run that command. -->\n\n", DefsFile, RegenerateCommand)
	out.WriteString("# The Bazel rules: reference\n\n")
	out.WriteString("Every public rule, macro and provider of `@modhash//rules:defs.bzl`, as its\n" +
		"docstrings define it. Design and examples: [rules.md](rules.md).\n\n")
	if doc := moduleDocstring(defs.file); doc != "" {
		out.WriteString(doc + "\n\n")
	}
	out.WriteString("Contents:\n\n")
	for _, s := range symbols {
		fmt.Fprintf(&out, "- [`%s`](#%s) (%s)\n", s.name, anchor(s.name), s.kind)
	}
	for _, s := range symbols {
		out.WriteString("\n")
		var err error
		switch s.kind {
		case "rule":
			err = l.writeRule(&out, s)
		case "provider":
			err = l.writeProvider(&out, s)
		case "macro":
			err = writeMacro(&out, s)
		}
		if err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// anchor is GitHub's heading anchor of "## `name`".
func anchor(name string) string {
	return strings.ToLower(name)
}

func moduleDocstring(f *build.File) string {
	if len(f.Stmt) == 0 {
		return ""
	}
	if s, ok := f.Stmt[0].(*build.StringExpr); ok {
		return dedent(s.Value)
	}
	return ""
}

// attrTypes names attr.* functions as the reference shows them.
var attrTypes = map[string]string{
	"bool":                    "boolean",
	"int":                     "integer",
	"int_list":                "list of integers",
	"label":                   "label",
	"label_keyed_string_dict": "dict: label → string",
	"label_list":              "list of labels",
	"output":                  "output",
	"output_list":             "list of outputs",
	"string":                  "string",
	"string_dict":             "dict: string → string",
	"string_list":             "list of strings",
	"string_list_dict":        "dict: string → list of strings",
}

// implicitDefaults are the defaults of attributes declared without one.
var implicitDefaults = map[string]string{
	"bool":        "`False`",
	"int":         "`0`",
	"label":       "`None`",
	"output":      "`None`",
	"string":      "`\"\"`",
	"int_list":    "`[]`",
	"label_list":  "`[]`",
	"string_list": "`[]`",
	"output_list": "`[]`",
}

type attribute struct {
	name, typ, def, doc string
}

func (l *loader) writeRule(out *bytes.Buffer, s symbol) error {
	kw := kwargs(s.call)
	doc := ""
	if e, ok := kw["doc"]; ok {
		v, err := l.str(binding{s.file, e})
		if err != nil {
			return err
		}
		doc = dedent(v)
	}
	var attrs []attribute
	if e, ok := kw["attrs"]; ok {
		entries, err := l.dict(binding{s.file, e})
		if err != nil {
			return err
		}
		for _, en := range entries {
			if strings.HasPrefix(en.key, "_") {
				continue // private: not settable
			}
			a, err := l.attribute(en)
			if err != nil {
				return err
			}
			attrs = append(attrs, a)
		}
	}
	sort.SliceStable(attrs, func(i, j int) bool { return attrs[i].name < attrs[j].name })
	attrs = append([]attribute{{name: "name", typ: "name", def: "mandatory", doc: "A unique name for this target."}}, attrs...)

	kind := "rule"
	if t, ok := kw["test"]; ok && build.FormatString(t) == "True" {
		kind = "test rule"
	}
	fmt.Fprintf(out, "## `%s`\n\n", s.name)
	names := make([]string, len(attrs))
	for i, a := range attrs {
		names[i] = a.name
	}
	fmt.Fprintf(out, "```starlark\n%s(%s)\n```\n\n", s.name, strings.Join(names, ", "))
	fmt.Fprintf(out, "A %s, defined in `%s`.\n\n", kind, s.file.path)
	if doc != "" {
		out.WriteString(doc + "\n\n")
	}
	out.WriteString("| attribute | type | default | description |\n|---|---|---|---|\n")
	for _, a := range attrs {
		fmt.Fprintf(out, "| `%s` | %s | %s | %s |\n", a.name, a.typ, cell(a.def), cell(a.doc))
	}
	return nil
}

func (l *loader) attribute(en entry) (attribute, error) {
	en.value = l.attrCall(en.value)
	call, ok := en.value.expr.(*build.CallExpr)
	if !ok {
		return attribute{}, fmt.Errorf("%s: attribute %s is not an attr.*(...) call", where(en.value.file, en.value.expr), en.key)
	}
	dot, ok := call.X.(*build.DotExpr)
	if !ok {
		return attribute{}, fmt.Errorf("%s: attribute %s is not an attr.*(...) call", where(en.value.file, call), en.key)
	}
	a := attribute{name: en.key, typ: attrTypes[dot.Name]}
	if a.typ == "" {
		a.typ = dot.Name
	}
	kw := kwargs(call)
	if e, ok := kw["doc"]; ok {
		v, err := l.str(binding{en.value.file, e})
		if err != nil {
			return attribute{}, err
		}
		a.doc = v
	}
	if e, ok := kw["values"]; ok {
		vs, err := l.strs(binding{en.value.file, e})
		if err != nil {
			return attribute{}, err
		}
		a.doc = strings.TrimSpace(a.doc + " One of `\"" + strings.Join(vs, "\"`, `\"") + "\"`.")
	}
	switch {
	case kw["mandatory"] != nil && build.FormatString(kw["mandatory"]) == "True":
		a.def = "mandatory"
	case kw["default"] != nil:
		a.def = "`" + defaultValue(kw["default"]) + "`"
	default:
		a.def = implicitDefaults[dot.Name]
	}
	return a, nil
}

// attrCall follows a call of a helper of this repository that returns
// one attr.*(...) call (`modhash_attr("exec")`) to that call.
func (l *loader) attrCall(b binding) binding {
	call, ok := b.expr.(*build.CallExpr)
	if !ok {
		return b
	}
	fn, ok := call.X.(*build.Ident)
	if !ok {
		return b
	}
	v, def, err := l.lookup(b.file, fn.Name)
	if err != nil || def == nil {
		return b
	}
	for _, st := range def.Body {
		if r, ok := st.(*build.ReturnStmt); ok && r.Result != nil {
			return binding{v.file, r.Result}
		}
	}
	return b
}

// strs evaluates a list of strings: [...], a name bound to one, or
// sorted(X) of a list or of a dict's keys.
func (l *loader) strs(b binding) ([]string, error) {
	switch e := b.expr.(type) {
	case *build.ListExpr:
		var out []string
		for _, item := range e.List {
			v, err := l.str(binding{b.file, item})
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *build.Ident:
		v, _, err := l.lookup(b.file, e.Name)
		if err != nil {
			return nil, err
		}
		if v.expr == nil {
			return nil, fmt.Errorf("%s: %s is a function, want a list", where(b.file, e), e.Name)
		}
		return l.strs(v)
	case *build.CallExpr:
		fn, ok := e.X.(*build.Ident)
		if !ok || fn.Name != "sorted" || len(e.List) != 1 {
			break
		}
		arg := binding{b.file, e.List[0]}
		out, err := l.strs(arg)
		if err != nil {
			entries, derr := l.dict(arg)
			if derr != nil {
				return nil, err
			}
			out = nil
			for _, en := range entries {
				out = append(out, en.key)
			}
		}
		sort.Strings(out)
		return out, nil
	}
	return nil, fmt.Errorf("%s: cannot evaluate %s as a list of strings", where(b.file, b.expr), build.FormatString(b.expr))
}

// defaultValue shows a default as a user writes it: Label("//x") as "//x".
func defaultValue(e build.Expr) string {
	if call, ok := e.(*build.CallExpr); ok {
		if fn, ok := call.X.(*build.Ident); ok && fn.Name == "Label" && len(call.List) == 1 {
			if s, ok := call.List[0].(*build.StringExpr); ok {
				return fmt.Sprintf("%q", s.Value)
			}
		}
	}
	return build.FormatString(e)
}

func (l *loader) writeProvider(out *bytes.Buffer, s symbol) error {
	kw := kwargs(s.call)
	fmt.Fprintf(out, "## `%s`\n\n", s.name)
	fmt.Fprintf(out, "A provider, defined in `%s`.\n\n", s.file.path)
	if e, ok := kw["doc"]; ok {
		v, err := l.str(binding{s.file, e})
		if err != nil {
			return err
		}
		out.WriteString(dedent(v) + "\n\n")
	}
	e, ok := kw["fields"]
	if !ok {
		return nil
	}
	out.WriteString("| field | description |\n|---|---|\n")
	if list, ok := e.(*build.ListExpr); ok {
		for _, item := range list.List {
			name, err := l.str(binding{s.file, item})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "| `%s` | |\n", name)
		}
		return nil
	}
	entries, err := l.dict(binding{s.file, e})
	if err != nil {
		return err
	}
	for _, en := range entries {
		doc, err := l.str(en.value)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| `%s` | %s |\n", en.key, cell(doc))
	}
	return nil
}

func writeMacro(out *bytes.Buffer, s symbol) error {
	params := make([]string, len(s.def.Params))
	for i, p := range s.def.Params {
		params[i] = build.FormatString(p)
	}
	fmt.Fprintf(out, "## `%s`\n\n", s.name)
	fmt.Fprintf(out, "```starlark\n%s(%s)\n```\n\n", s.name, strings.Join(params, ", "))
	fmt.Fprintf(out, "A macro, defined in `%s`.\n\n", s.file.path)
	if len(s.def.Body) == 0 {
		return nil
	}
	str, ok := s.def.Body[0].(*build.StringExpr)
	if !ok {
		return fmt.Errorf("%s: macro %s has no docstring", where(s.file, s.def), s.name)
	}
	out.WriteString(macroDoc(dedent(str.Value)) + "\n")
	return nil
}

// macroDoc renders a function docstring's "Args:" section (Google style:
// "  name: text" with deeper-indented continuation lines) as a table.
func macroDoc(doc string) string {
	lines := strings.Split(doc, "\n")
	var out []string
	i := 0
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "Args:" {
			break
		}
		out = append(out, lines[i])
	}
	if i == len(lines) {
		return doc
	}
	type arg struct{ name, doc string }
	var args []arg
	argIndent := -1 // the indentation of "name: text" lines; continuations are deeper
	for i++; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if argIndent < 0 {
			argIndent = indent
		}
		text := strings.TrimSpace(line)
		if name, rest, ok := strings.Cut(text, ":"); ok && indent == argIndent && !strings.ContainsAny(name, " `") {
			args = append(args, arg{name, strings.TrimSpace(rest)})
			continue
		}
		if len(args) == 0 || indent == 0 {
			// Not part of the Args section: keep it as text.
			out = append(out, line)
			continue
		}
		args[len(args)-1].doc += " " + text
	}
	table := []string{"| argument | description |", "|---|---|"}
	for _, a := range args {
		table = append(table, fmt.Sprintf("| `%s` | %s |", a.name, cell(a.doc)))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n\n" + strings.Join(table, "\n")
}

// cell makes text fit in one Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// dedent removes a docstring's common indentation (its first line aside)
// and surrounding blank lines, as Python's inspect.cleandoc does.
func dedent(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\t", "    "), "\n")
	common := -1
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if common < 0 || n < common {
			common = n
		}
	}
	lines[0] = strings.TrimSpace(lines[0])
	for i := 1; i < len(lines); i++ {
		if len(lines[i]) >= common && common > 0 {
			lines[i] = lines[i][common:]
		}
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}
