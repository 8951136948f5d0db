// Package strictjson decodes the JSON files modhash reads (tree manifests,
// leaf files) strictly, with FILE:LINE in every error.
//
// encoding/json is lenient in ways that let a wrong file pass for a right
// one: it matches keys case-insensitively ("Levels" fills levels), keeps the
// last of two equal keys, leaves a missing key at its zero value (a missing
// "leaf" is an all-zero digest), takes null for any value and ignores
// nothing after the document only when asked. Decode refuses all of these
// before handing the data to encoding/json for the values themselves.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Error is a problem with the file Name at Line (0 when no line applies).
type Error struct {
	Name string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Name + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
}

// Prefix returns err with what prepended to its message when err is an
// *Error, else err: "m.json:3: not a manifest: unknown key ...".
func Prefix(err error, what string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Msg = what + ": " + c.Msg
		return &c
	}
	return err
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// Decode decodes data, the content of the file name, into v (a pointer to a
// struct). Every key of every object must be a field of the struct it
// decodes into, spelled exactly as its json tag, at most once; every field
// without omitempty must be present; no value may be null; and nothing but
// white space may follow the document.
func Decode(data []byte, name string, v interface{}) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Ptr {
		return fmt.Errorf("strictjson: Decode needs a pointer, not %v", t)
	}
	w := walker{data: data, name: name, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	if err := w.value(t.Elem()); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return w.errorf(w.dec.InputOffset(), "data after the end of the JSON document")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			what := "value"
			if te.Field != "" {
				what = fmt.Sprintf("%q", te.Field)
			}
			return w.errorf(te.Offset, "%s: want %v, got a JSON %s", what, te.Type, te.Value)
		}
		// Errors of a field's own decoder (a digest that is not hex) do not
		// carry an offset; the walk found no structural problem, so name
		// the file.
		return &Error{Name: name, Msg: err.Error()}
	}
	return nil
}

type walker struct {
	data []byte
	name string
	dec  *json.Decoder
}

func (w *walker) errorf(off int64, format string, args ...interface{}) error {
	if off > int64(len(w.data)) {
		off = int64(len(w.data))
	}
	line := 1 + bytes.Count(w.data[:off], []byte("\n"))
	return &Error{Name: w.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (w *walker) token() (json.Token, error) {
	tok, err := w.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, w.errorf(se.Offset, "not valid JSON: %v", err)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, w.errorf(int64(len(w.data)), "the JSON document ends early")
		}
		return nil, w.errorf(w.dec.InputOffset(), "not valid JSON: %v", err)
	}
	return tok, nil
}

// value reads one value that is to be decoded into a t.
func (w *walker) value(t reflect.Type) error {
	start := w.dec.InputOffset()
	tok, err := w.token()
	if err != nil {
		return err
	}
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if tok == nil {
		return w.errorf(start, "null where a value is expected")
	}
	if reflect.PtrTo(t).Implements(textUnmarshaler) {
		if _, ok := tok.(string); !ok {
			return w.errorf(start, "want a string, got %s", describe(tok))
		}
		return nil
	}
	switch tok {
	case json.Delim('{'):
		switch t.Kind() {
		case reflect.Struct:
			return w.object(t, start)
		case reflect.Map:
			return w.mapObject(t)
		case reflect.Interface:
			return w.mapObject(reflect.TypeOf(map[string]interface{}{}))
		}
		return w.errorf(start, "want %s, got an object", kindName(t))
	case json.Delim('['):
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array && t.Kind() != reflect.Interface {
			return w.errorf(start, "want %s, got an array", kindName(t))
		}
		elem := reflect.TypeOf((*interface{})(nil)).Elem()
		if t.Kind() != reflect.Interface {
			elem = t.Elem()
		}
		for w.dec.More() {
			if err := w.value(elem); err != nil {
				return err
			}
		}
		_, err := w.token() // ]
		return err
	}
	return nil // a scalar: encoding/json checks its type
}

func (w *walker) object(t reflect.Type, start int64) error {
	type field struct {
		t        reflect.Type
		required bool
	}
	fields := map[string]field{}
	var order []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fields[name] = field{f.Type, !strings.Contains(","+opts+",", ",omitempty,")}
		order = append(order, name)
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.token()
		if err != nil {
			return err
		}
		key := tok.(string) // object keys are strings
		off := w.dec.InputOffset()
		f, ok := fields[key]
		switch {
		case !ok:
			for _, n := range order {
				if strings.EqualFold(n, key) {
					return w.errorf(off, "key %q: keys are case-sensitive, this one is %q", key, n)
				}
			}
			return w.errorf(off, "unknown key %q (want %s)", key, strings.Join(quoteAll(order), ", "))
		case seen[key]:
			return w.errorf(off, "key %q appears twice in one object", key)
		}
		seen[key] = true
		if err := w.value(f.t); err != nil {
			return err
		}
	}
	if _, err := w.token(); err != nil { // }
		return err
	}
	for _, n := range order {
		if fields[n].required && !seen[n] {
			return w.errorf(start, "object has no key %q", n)
		}
	}
	return nil
}

func (w *walker) mapObject(t reflect.Type) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if seen[key] {
			return w.errorf(w.dec.InputOffset(), "key %q appears twice in one object", key)
		}
		seen[key] = true
		if err := w.value(t.Elem()); err != nil {
			return err
		}
	}
	_, err := w.token()
	return err
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%v", tok)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}
