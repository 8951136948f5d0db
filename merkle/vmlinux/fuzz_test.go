package vmlinux

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzFind checks that no input makes find panic, and that whatever it
// accepts is a section of the right size inside the input.
func FuzzFind(f *testing.F) {
	for _, c := range combos {
		good := synthELF(c.class, c.order, goodSections())
		f.Add(good)
		for _, e := range brokenImages(good, 3) {
			f.Add(e.b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := find(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		if s.Size != 36 || s.Offset < 0 || s.Offset+s.Size > int64(len(b)) {
			t.Fatalf("find accepted %+v in %d bytes", s, len(b))
		}
	})
}
