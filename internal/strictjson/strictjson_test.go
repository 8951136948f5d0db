package strictjson

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

type digest [4]byte

func (d *digest) UnmarshalText(b []byte) error {
	if len(b) != 8 {
		return fmt.Errorf("digest %q is not 8 hex digits", b)
	}
	_, err := hex.Decode(d[:], b)
	return err
}

type entry struct {
	Pos  uint32 `json:"pos"`
	Name string `json:"name"`
	Leaf digest `json:"leaf"`
}

type doc struct {
	Levels  uint32  `json:"levels"`
	Modules []entry `json:"modules"`
	Note    string  `json:"note,omitempty"`
}

func TestDecode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"levels": 1, "modules": [{"pos": 0, "name": "a", "leaf": "00112233"}]}`, ""},
		{"{\"levels\": 1,\n \"modules\": []\n}\n\n", ""},
		{`{"levels": 1, "modules": [], "note": "x"}`, ""},
		{"{\"levels\": 1,\n\"Modules\": []}", `f.json:2: key "Modules": keys are case-sensitive, this one is "modules"`},
		{"{\"levels\": 1, \"modules\": [],\n\"extra\": 1}", `f.json:2: unknown key "extra" (want "levels", "modules", "note")`},
		{`{"levels": 1, "levels": 2, "modules": []}`, `f.json:1: key "levels" appears twice in one object`},
		{`{"modules": []}`, `f.json:1: object has no key "levels"`},
		{"{\"levels\": 1, \"modules\": [\n{\"pos\": 0, \"name\": \"a\"}]}", `f.json:2: object has no key "leaf"`},
		{`{"levels": null, "modules": []}`, `f.json:1: null where a value is expected`},
		{`{"levels": 1, "modules": []} {}`, `f.json:1: data after the end of the JSON document`},
		{`{"levels": 1, "modules": []} x`, `f.json:1: data after the end of the JSON document`},
		{"{\"levels\": 1,\n\n \"modules\": [}", `f.json:3: not valid JSON`},
		{`{"levels": 1, "modules": [`, `f.json:1: the JSON document ends early`},
		{``, `f.json:1: the JSON document ends early`},
		{"{\"levels\": -1,\n \"modules\": []}", `f.json:1: "levels": want uint32, got a JSON number -1`},
		{"{\"levels\": 1,\n \"modules\": {}}", `f.json:2: want an array, got an object`},
		{`{"levels": 1, "modules": [{"pos": 0, "name": "a", "leaf": 5}]}`, `f.json:1: want a string, got a number`},
		{`{"levels": 1, "modules": [{"pos": 0, "name": "a", "leaf": "0011"}]}`, `f.json: digest "0011" is not 8 hex digits`},
		{`[1]`, `f.json:1: want an object, got an array`},
	} {
		var d doc
		err := Decode([]byte(c.in), "f.json", &d)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	var d doc
	err := Prefix(Decode([]byte(`{"x": 1}`), "m.json", &d), "not a manifest")
	if err == nil || !strings.HasPrefix(err.Error(), `m.json:1: not a manifest: unknown key "x"`) {
		t.Fatal(err)
	}
}

// FuzzDecode: no input makes Decode panic, and every error names the file.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"levels": 1, "modules": [{"pos": 0, "name": "a", "leaf": "00112233"}]}`))
	f.Add([]byte(`{"levels": 1, "Modules": [], "levels": 2}`))
	f.Add([]byte(`{"levels": 1, "modules": null} 1`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d doc
		if err := Decode(b, "fuzz", &d); err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error %q does not name the file", err)
			}
		}
	})
}
