package audit

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle"
)

// Repetitive inputs: every search over a kernel image is linear in the
// image, however often the thing searched for repeats. A search that
// rescans from every hit to the next terminator takes hours on the
// inputs below (16 MiB of "Linux version 1 ": about 10^6 hits, each
// scanning the rest of the image); the package's test timeout stops it.

// repeated returns n bytes of s repeated.
func repeated(s string, n int) []byte {
	return bytes.Repeat([]byte(s), n/len(s))
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRepetitiveBzImage: the reproducer, a bzImage of about 35 KB
// whose gzip payload is 16 MiB of "Linux version 1 ", is refused (its
// payload is no ELF vmlinux) after a linear banner search.
func TestRepetitiveBzImage(t *testing.T) {
	payload := gzipped(t, repeated("Linux version 1 ", 16<<20))
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, bzImage(payload, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadKernel(p, nil)
	if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), "not an ELF vmlinux") {
		t.Fatalf("ReadKernel: %v, want an ErrImage: not an ELF vmlinux", err)
	}
}

// TestFindBannerRepetitive: the banner found in repetitive images, and
// the rules the search keeps (the first numbered banner wins, a banner
// ends at NUL or newline or after 512 bytes).
func TestFindBannerRepetitive(t *testing.T) {
	long := strings.Repeat("x", 600)
	for _, c := range []struct {
		name           string
		raw            []byte
		banner, releas string
	}{
		{"16 MiB of unnumbered banners", repeated("Linux version 1 ", 16<<20), "Linux version " + strings.Repeat("1 Linux version ", 32)[:512], "1"},
		{"numbered after repeats", append(repeated("Linux version 2 \x00", 1<<20), "Linux version 3 #7 SMP\n"...), "Linux version 3 #7 SMP", "3"},
		{"hash without digit", append(repeated("Linux version 4 #x\x00", 1<<20), "Linux version 5 #1\x00"...), "Linux version 5 #1", "5"},
		{"16 MiB of prefixes", repeated("Linux version ", 16<<20), "", ""},
		{"long banner", []byte("Linux version 6" + long), "Linux version 6" + long[:511], "6" + long[:511]},
		{"newline", []byte("Linux version 7.1 (me) #2 SMP\nLinux version 8 #3\n"), "Linux version 7.1 (me) #2 SMP", "7.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := &Kernel{raw: c.raw}
			k.findBanner()
			if k.Banner != c.banner || k.Release != c.releas {
				t.Errorf("banner %.80q release %.20q, want %.80q %.20q", k.Banner, k.Release, c.banner, c.releas)
			}
		})
	}
}

// TestScanRepetitive: an image that is one root record over and over
// (each byte the same, so it is found at every offset) is refused as
// ambiguous without keeping a hit per offset (8 MiB of them took 400 MB).
func TestScanRepetitive(t *testing.T) {
	rec := merkle.RootRecord{Levels: 0x01010101}
	for i := range rec.Root {
		rec.Root[i] = 1
	}
	k := &Kernel{Path: "img", raw: bytes.Repeat([]byte{1}, 8<<20)}
	_, k.rawOrder = rawKind(nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := k.scan([]merkle.RootRecord{rec})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), "offsets 0x0 and 0x1") {
		t.Fatalf("scan: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("scan allocated %d bytes for an 8 MiB image", n)
	}
}

// FuzzFindBanner: on any image, repetitive ones in the corpus, the search
// finds what a plain rescan from every hit finds.
func FuzzFindBanner(f *testing.F) {
	for _, s := range []string{"Linux version 1 ", "Linux version ", "Linux version 1 #", "Linux version 1 #1\n", "Linux version 9\x00#1 "} {
		f.Add(repeated(s, 4096))
		f.Add(append(repeated(s, 2048), "Linux version 2 #3\x00"...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k := &Kernel{raw: b}
		k.findBanner()
		banner, release := plainBanner(b)
		if k.Banner != banner || k.Release != release {
			t.Fatalf("banner %q release %q, a plain search finds %q %q", k.Banner, k.Release, banner, release)
		}
	})
}

// plainBanner is the banner search done plainly: every hit scanned on
// its own (quadratic, for small inputs).
func plainBanner(data []byte) (banner, release string) {
	const prefix = "Linux version "
	for at := 0; at+len(prefix) <= len(data); at++ {
		if string(data[at:at+len(prefix)]) != prefix {
			continue
		}
		rest := data[at+len(prefix):]
		if len(rest) == 0 || rest[0] < '0' || rest[0] > '9' {
			continue
		}
		if len(rest) > 512 {
			rest = rest[:512]
		}
		if end := bytes.IndexAny(rest, "\x00\n"); end >= 0 {
			rest = rest[:end]
		}
		j := bytes.IndexByte(rest, '#')
		numbered := j >= 0 && j+1 < len(rest) && rest[j+1] >= '0' && rest[j+1] <= '9'
		if banner == "" || numbered {
			banner, release = prefix+printable(rest), printable(bytes.Fields(rest)[0])
		}
		if numbered {
			break
		}
	}
	return banner, release
}

// BenchmarkRepetitive prints the time per MiB of the worst shapes found
// for the searches over a decompressed kernel: the banner search on
// unnumbered banners (a hit every 16 bytes) and on bare prefixes, and the
// record scan on an image that holds the record at every offset, beside
// bytes.Count over the same bytes (one linear pass, the baseline).
func BenchmarkRepetitive(b *testing.B) {
	const size = 16 << 20
	rec := merkle.RootRecord{Levels: 0x01010101}
	for i := range rec.Root {
		rec.Root[i] = 1
	}
	nearMiss := rec
	nearMiss.Root[len(nearMiss.Root)-1] = 2
	for _, c := range []struct {
		name string
		raw  []byte
		run  func(k *Kernel)
	}{
		{"baseline-bytes.Count", repeated("Linux version 1 ", size), func(k *Kernel) { bytes.Count(k.raw, []byte("Linux version ")) }},
		{"banner-unnumbered", repeated("Linux version 1 ", size), func(k *Kernel) { k.findBanner() }},
		{"banner-hash-no-digit", repeated("Linux version 1 #x ", size), func(k *Kernel) { k.findBanner() }},
		{"banner-prefix-only", repeated("Linux version ", size), func(k *Kernel) { k.findBanner() }},
		{"scan-near-miss", bytes.Repeat([]byte{1}, size), func(k *Kernel) { _ = k.scan([]merkle.RootRecord{nearMiss}) }},
		{"scan-record-everywhere", bytes.Repeat([]byte{1}, size), func(k *Kernel) { _ = k.scan([]merkle.RootRecord{rec}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			start := time.Now()
			for i := 0; i < b.N; i++ {
				k := &Kernel{raw: c.raw}
				_, k.rawOrder = rawKind(nil)
				c.run(k)
			}
			perMiB := time.Since(start).Seconds() / float64(b.N) / (float64(len(c.raw)) / (1 << 20))
			b.ReportMetric(perMiB*1e3, "ms/MiB")
		})
	}
}
