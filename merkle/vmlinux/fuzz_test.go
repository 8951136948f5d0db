package vmlinux

import (
	"bytes"
	"debug/elf"
	"errors"
	"testing"
)

// FuzzFind checks that no input makes find panic or allocate more than the
// budget, and that whatever it accepts is a section of the right size
// inside the input that shares no byte with the ELF header, the section
// header table or any other section's data (checked independently with
// debug/elf where it can parse the input): patching it cannot corrupt the
// image.
func FuzzFind(f *testing.F) {
	for _, c := range combos {
		good := synthELF(c.class, c.order, goodSections())
		f.Add(good)
		for _, e := range brokenImages(good, 3) {
			f.Add(e.b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := find(bytes.NewReader(b), int64(len(b)), minBudget, "fuzz")
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
		rec := span{uint64(s.Offset), uint64(s.Size)}
		hdr := uint64(52)
		if s.Class == elf.ELFCLASS64 {
			hdr = 64
		}
		if rec.overlaps(span{0, hdr}) {
			t.Fatalf("section at 0x%x overlaps the ELF header", s.Offset)
		}
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i, sec := range ef.Sections {
			if i == 0 || i == s.Index || sec.Type == elf.SHT_NOBITS {
				continue
			}
			if rec.overlaps(span{sec.Offset, sec.FileSize}) {
				t.Fatalf("section %d at 0x%x overlaps section %d (%s) at 0x%x, %d bytes", s.Index, s.Offset, i, sec.Name, sec.Offset, sec.FileSize)
			}
		}
	})
}
