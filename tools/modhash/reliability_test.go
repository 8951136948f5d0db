package main

// Hostile input, through the command line (issue 10): for every case the
// exit status, the message (naming the file), and the complete state of the
// directory afterwards, hidden files included.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/tests/elftest"
)

// listAll describes every entry below dir (hidden ones too): type, size
// and a digest of the content, one line each, sorted.
func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		line := fmt.Sprintf("%q %v", rel, fi.Mode().Type())
		if fi.Mode().IsRegular() {
			line += fmt.Sprintf(" %d %s %x", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), digestEnds(t, p, fi.Size()))
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// digestEnds hashes a file's first and last MiB (a sparse test image is
// hundreds of gigabytes; with size and mtime that tells changes apart).
func digestEnds(t *testing.T, p string, size int64) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for _, off := range []int64{0, size - int64(len(buf))} {
		if off < 0 {
			off = 0
		}
		n, _ := f.ReadAt(buf, off)
		h.Write(buf[:n])
	}
	return h.Sum(nil)
}

// newEntries returns the entries of after that are not in before, and
// whether any entry of before changed or disappeared.
func newEntries(before, after []string) (added []string, changed bool) {
	b := map[string]bool{}
	for _, l := range before {
		b[l] = true
	}
	for _, l := range after {
		if !b[l] {
			added = append(added, strings.SplitN(l, " ", 2)[0])
		}
		delete(b, l)
	}
	return added, len(b) > 0
}

// tinyELF is a minimal little-endian ELF64 kernel image: the ELF header,
// .module_hashes (36 zero bytes) at 64, the section name table at 100, the
// section header table (null, .module_hashes, .shstrtab) at 128. recOff
// places .module_hashes elsewhere, to overlap other data.
func tinyELF(recOff uint64) []byte {
	b := make([]byte, 128+3*64)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[40:], 128) // e_shoff
	le.PutUint16(b[52:], 64)  // e_ehsize
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[58:], 64) // e_shentsize
	le.PutUint16(b[60:], 3)  // e_shnum
	le.PutUint16(b[62:], 2)  // e_shstrndx
	names := "\x00.module_hashes\x00.shstrtab\x00"
	copy(b[100:], names)
	sh := func(i int, name, typ uint32, off, size uint64) {
		h := b[128+64*i:]
		le.PutUint32(h[0:], name)
		le.PutUint32(h[4:], typ)
		le.PutUint64(h[24:], off)
		le.PutUint64(h[32:], size)
	}
	sh(1, 1, 1, recOff, 36)
	sh(2, 16, 3, 100, uint64(len(names)))
	return b
}

type cliCase struct {
	name   string
	setup  func(t *testing.T) // runs in the case's directory
	fifos  []string
	args   []string
	status int
	stderr []string // each must appear on standard error
	stdout []string // each must appear on standard output
	// created: entries the command may add; nothing else may change.
	created []string
	check   func(t *testing.T, stdout string)
}

func runCLICases(t *testing.T, cases []cliCase) {
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			chdir(t, dir)
			if c.setup != nil {
				c.setup(t)
			}
			for _, f := range c.fifos {
				if err := syscall.Mkfifo(f, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := listAll(t, dir)
			type result struct {
				code           int
				stdout, stderr string
			}
			done := make(chan result, 1)
			go func() {
				var o, e bytes.Buffer
				code := run(c.args, &o, &e)
				done <- result{code, o.String(), e.String()}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				// Unblock a reader stuck on a FIFO so the goroutine ends.
				for _, f := range c.fifos {
					if fd, err := syscall.Open(f, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						syscall.Close(fd)
					}
				}
				t.Fatalf("modhash %q blocked for 30 s", c.args)
			}
			if r.code != c.status {
				t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, c.status, r.stdout, r.stderr)
			}
			for _, w := range c.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not say %q", r.stderr, w)
				}
			}
			for _, w := range c.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout %q does not say %q", r.stdout, w)
				}
			}
			added, changed := newEntries(before, listAll(t, dir))
			var want []string
			for _, c := range c.created {
				want = append(want, fmt.Sprintf("%q", c))
			}
			if changed || strings.Join(added, " ") != strings.Join(want, " ") {
				t.Errorf("directory afterwards: added %v (want %v), an existing entry changed: %v", added, want, changed)
			}
			if c.check != nil && !t.Failed() {
				c.check(t, r.stdout)
			}
		})
	}
}

// signedSet writes m.ko and s.ko (m.ko signed with its proof) and man.json,
// the manifest of the one-module tree, with the CLI itself.
func signedSet(t *testing.T) {
	t.Helper()
	writeFile(t, "m.ko", []byte("\x7fELF a module's bytes"))
	for _, args := range [][]string{
		{"leaf", "-pos", "0", "-o", "l.json", "m.ko"},
		{"tree", "-manifest", "man.json", "l.json=m.merkle"},
		{"sign", "-proof", "m.merkle", "-o", "s.ko", "m.ko"},
	} {
		if code, _, stderr := modhash(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
}

// pkcs7Module is a module with a PKCS#7 trailer: h, and sig_len bytes of
// a blob of the kernel's PKCS#7 shape when sig_len is its size, else of
// garbage.
func pkcs7Module(h merkle.SignatureHeader) []byte {
	hb := h.Marshal()
	blob := bytes.Repeat([]byte{0x30}, int(h.SigLen))
	if int(h.SigLen) == len(elftest.PKCS7Shaped) {
		blob = elftest.PKCS7Shaped
	}
	b := append([]byte("\x7fELF a module"), blob...)
	return append(append(b, hb[:]...), merkle.Marker...)
}

func write(path, s string) func(t *testing.T) {
	return func(t *testing.T) { writeFile(t, path, []byte(s)) }
}

func all(fs ...func(t *testing.T)) func(t *testing.T) {
	return func(t *testing.T) {
		for _, f := range fs {
			f(t)
		}
	}
}

func compressedSet(format, suffix string) func(t *testing.T) {
	return func(t *testing.T) {
		signedSet(t)
		if code, _, stderr := modhash(t, "compress", "-format", format, "-o", "s.ko"+suffix, "s.ko"); code != 0 {
			t.Fatal(stderr)
		}
	}
}

func TestHostileInput(t *testing.T) {
	leafJSON := func(pos uint32, name string) string {
		return string(merkle.MarshalEntry(merkle.ManifestEntry{Pos: pos, Name: name, Size: 1, Leaf: merkle.Leaf(pos, []byte(name))}))
	}
	manifest := func(t *testing.T) string { // man.json, pretty-printed
		return string(readFile(t, "man.json"))
	}
	runCLICases(t, []cliCase{
		// 2. Path identity.
		{name: "kbuild: ./sub/c.o is sub/c.o", setup: all(write("sub/c.ko", "c"), write("modules.order", "sub/c.o\n./sub/c.o\n")),
			args: []string{"kbuild", "root.c", ".ko"}, status: 2,
			stderr: []string{"modules.order:2: ./sub/c.o is listed twice (first on line 1 as sub/c.o; both are sub/c.o)"}},
		{name: "kbuild: sub//c.o is sub/c.o", setup: all(write("sub/c.ko", "c"), write("modules.order", "sub/c.o\nsub//c.o\n")),
			args: []string{"kbuild", "root.c", ".ko"}, status: 2,
			stderr: []string{"modules.order:2: sub//c.o is listed twice"}},
		{name: "leaf -order: sub/c.ko is line 2, not c.o's", setup: all(write("c.ko", "c"), write("sub/c.ko", "sub c"), write("modules.order", "c.o\nsub/c.o\n")),
			args: []string{"leaf", "-order", "modules.order", "-o", "l.json", "sub/c.ko"}, status: 0, created: []string{"l.json"},
			check: func(t *testing.T, _ string) {
				if got, want := string(readFile(t, "l.json")), leafJSON(1, "sub/c.ko"); !strings.HasPrefix(got, `{"pos":1,"name":"sub/c.ko","size":5`) {
					t.Errorf("l.json = %s, want position 1 like %s", got, want)
				}
			}},
		{name: "tree -order: a leaf named sub/c.ko is not c.ko", setup: all(write("modules.order", "c.o\nsub/c.o\n"),
			write("l0.json", leafJSON(0, "sub/c.ko")), write("l1.json", leafJSON(1, "x/sub/c.ko"))),
			args: []string{"tree", "-manifest", "m.json", "-order", "modules.order", "l0.json", "l1.json"}, status: 2,
			stderr: []string{"modules.order:1 names c.ko but the leaf for position 0 (l0.json) is sub/c.ko"}},

		// 4. ELF patching never writes a corrupt image.
		{name: "patch: .module_hashes overlaps the ELF header", setup: write("vmlinux", string(tinyELF(8))),
			args: []string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 2,
			stderr: []string{"vmlinux: .module_hashes (section 1, offset 0x8, 36 bytes) overlaps the ELF header (offset 0x0, 64 bytes): patching would corrupt the image"}},
		{name: "patch: .module_hashes overlaps the section header table", setup: write("vmlinux", string(tinyELF(128+20))),
			args: []string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 2,
			stderr: []string{"overlaps the section header table (offset 0x80, 192 bytes)"}},
		{name: "patch -v: .module_hashes overlaps the name table", setup: write("vmlinux", string(tinyELF(90))),
			args: []string{"patch", "-v", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 2,
			stderr: []string{"overlaps the data of section 2 (the section name string table)"}},
		{name: "patch in place: overlap leaves the input as it was", setup: write("vmlinux", string(tinyELF(90))),
			args: []string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "vmlinux", "vmlinux"}, status: 2,
			stderr: []string{"overlaps the data of section 2"}},
		{name: "patch: a good image is patched", setup: write("vmlinux", string(tinyELF(64))),
			args: []string{"patch", "-v", "-levels", "1", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 0, created: []string{"out"},
			stdout: []string{"out: .module_hashes section 1 at offset 0x40, little-endian ELF64 EM_X86_64: levels 1 root abab"}},
		{name: "patch: sparse image declaring 2^32 sections", setup: func(t *testing.T) {
			b := tinyELF(64)
			binary.LittleEndian.PutUint16(b[60:], 0)         // e_shnum 0: the count is in section 0
			binary.LittleEndian.PutUint64(b[128+32:], 1<<32) // section 0 sh_size
			writeFile(t, "vmlinux", b)
			if err := os.Truncate("vmlinux", 128+64<<32+4096); err != nil {
				t.Skip(err)
			}
		}, args: []string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 2,
			stderr: []string{"vmlinux: section header table of 4294967296 headers (274877906944 bytes) is larger than the"}},

		// 6. Compressed modules get the kernel's verdict.
		{name: "verify .ko.xz", setup: compressedSet("xz", ".xz"), args: []string{"verify", "-root", "man.json", "s.ko.xz"}, status: 0,
			stdout: []string{"s.ko.xz (xz-compressed, ", " bytes, checked decompressed as the kernel does): accepted (position 0)"}},
		{name: "verify .ko.gz", setup: compressedSet("gzip", ".gz"), args: []string{"verify", "-root", "man.json", "s.ko.gz"}, status: 0,
			stdout: []string{"s.ko.gz (gzip-compressed, ", "accepted (position 0)"}},
		{name: "verify .ko.zst", setup: compressedSet("zstd", ".zst"), args: []string{"verify", "-root", "man.json", "s.ko.zst"}, status: 0,
			stdout: []string{"s.ko.zst (zstd-compressed, ", "accepted (position 0)"}},
		{name: "verify -json .ko.xz", setup: compressedSet("xz", ".xz"), args: []string{"verify", "-json", "-root", "man.json", "s.ko.xz"}, status: 0,
			stdout: []string{`"compressed": "xz"`, `"outcome": "accepted"`}},
		{name: "verify .ko.xz with the xz tool's CRC64", setup: func(t *testing.T) {
			signedSet(t)
			writeFile(t, "s.ko.xz", xzCRC64(t, readFile(t, "s.ko")))
		}, args: []string{"verify", "-root", "man.json", "s.ko.xz"}, status: 1,
			stdout: []string{"s.ko.xz (xz-compressed, ", "EINVAL: the kernel's xz module decompressor refuses it: integrity check CRC64"}},

		// 7. PKCS#7: never a verdict we cannot know.
		{name: "verify PKCS#7 without CONFIG_MODULE_SIG", setup: all(signedSet, write("p.ko", string(pkcs7Module(merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: 8})))),
			args: []string{"verify", "-root", "man.json", "p.ko"}, status: 1, stdout: []string{"p.ko: ENOPKG: PKCS#7 signature"}},
		{name: "verify -module-sig PKCS#7", setup: all(signedSet, write("p.ko", string(pkcs7Module(merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: uint32(len(elftest.PKCS7Shaped))})))),
			args: []string{"verify", "-module-sig", "-root", "man.json", "p.ko", "s.ko"}, status: 1,
			stdout: []string{"p.ko: needs-keyring: PKCS#7 signature (468 bytes, issuer modhash TEST ONLY module-signing key: never trust it, serial 781f130a0a65b692c45f0c35e1eda518ec7aa986) that the kernel checks against its keyring (CONFIG_MODULE_SIG); no keys were given", "s.ko: accepted", "1 accepted, 0 refused, 1 need the kernel's keyring"}},
		{name: "verify -module-sig PKCS#7 garbage", setup: all(signedSet, write("p.ko", string(pkcs7Module(merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, SigLen: 8})))),
			args: []string{"verify", "-module-sig", "-root", "man.json", "p.ko"}, status: 1,
			stdout: []string{"p.ko: EBADMSG: PKCS#7 signature: ASN.1 decoder: data overrun"}},
		{name: "verify -module-sig malformed PKCS#7", setup: all(signedSet, write("p.ko", string(pkcs7Module(merkle.SignatureHeader{IDType: merkle.IDTypePKCS7, KeyIDLen: 4, SigLen: 8})))),
			args: []string{"verify", "-module-sig", "-root", "man.json", "p.ko"}, status: 1,
			stdout: []string{"p.ko: EBADMSG: PKCS#7 signature: signature header has non-zero fields"}},

		// 9. A FIFO where a file should be: refused at once.
		{name: "kbuild: FIFO module", setup: write("modules.order", "m.o\n"), fifos: []string{"m.ko"},
			args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: []string{"m.ko: not a regular file (a named pipe)"}},
		{name: "kbuild: FIFO modules.order", fifos: []string{"modules.order"},
			args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: []string{"modules.order: not a regular file (a named pipe)"}},
		{name: "leaf: FIFO module", fifos: []string{"m.ko"},
			args: []string{"leaf", "-pos", "0", "-o", "l.json", "m.ko"}, status: 2, stderr: []string{"m.ko: not a regular file (a named pipe)"}},
		{name: "verify: FIFO module", setup: signedSet, fifos: []string{"f.ko"},
			args: []string{"verify", "-root", "man.json", "f.ko"}, status: 2, stderr: []string{"f.ko: not a regular file (a named pipe)"}},
		{name: "verify: FIFO vmlinux", fifos: []string{"vmlinux"}, setup: write("m.ko", "m"),
			args: []string{"verify", "-vmlinux", "vmlinux", "m.ko"}, status: 2, stderr: []string{"vmlinux: not a regular file (a named pipe)"}},
		{name: "inspect: FIFO", fifos: []string{"f.ko"},
			args: []string{"inspect", "f.ko"}, status: 2, stderr: []string{"f.ko: not a regular file (a named pipe)"}},
		{name: "compress: FIFO module", fifos: []string{"f.ko"},
			args: []string{"compress", "-format", "xz", "-o", "f.ko.xz", "f.ko"}, status: 2, stderr: []string{"f.ko: not a regular file (a named pipe)"}},
		{name: "patch: FIFO image", fifos: []string{"vmlinux"},
			args: []string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "out", "vmlinux"}, status: 2,
			stderr: []string{"vmlinux: not a regular file (a named pipe)"}},
		{name: "sign: FIFO proof", setup: write("m.ko", "m"), fifos: []string{"m.merkle"},
			args: []string{"sign", "-proof", "m.merkle", "-o", "s.ko", "m.ko"}, status: 2, stderr: []string{"m.merkle: not a regular file (a named pipe)"}},
		{name: "verify: FIFO parameter file", fifos: []string{"params"},
			args: []string{"verify", "-root", "man.json", "@params"}, status: 2, stderr: []string{"params: not a regular file (a named pipe)"}},

		// 10. No crash, one table of exit statuses.
		{name: "kbuild -j 1000000000", setup: all(write("m.ko", "m"), write("modules.order", "m.o\n")),
			args: []string{"kbuild", "-j", "1000000000", "root.c", ".ko"}, status: 2,
			stderr: []string{`invalid value "1000000000" for flag -j: want a number from 1 to 1024`}},
		{name: "verify -j 0", setup: signedSet, args: []string{"verify", "-j", "0", "-root", "man.json", "s.ko"}, status: 2,
			stderr: []string{`invalid value "0" for flag -j`}},
		{name: "verify: a missing module is trouble, not a verdict", setup: signedSet, args: []string{"verify", "-root", "man.json", "s.ko", "gone.ko"}, status: 2,
			stderr: []string{"gone.ko: no such file or directory"}},

		// 12. Strict parsers with FILE:LINE.
		{name: "@FILE with CRLF", setup: all(signedSet, write("params", "s.ko\r\n")),
			args: []string{"verify", "-root", "man.json", "@params"}, status: 2, stderr: []string{"params:1: line ends in CRLF"}},
		{name: "@FILE with a blank line", setup: all(signedSet, write("params", "s.ko\n\ns.ko\n")),
			args: []string{"verify", "-root", "man.json", "@params"}, status: 2, stderr: []string{"params:2: empty line"}},
		{name: "@FILE with a NUL byte", setup: all(signedSet, write("params", "s.ko\nx\x00.ko\n")),
			args: []string{"verify", "-root", "man.json", "@params"}, status: 2, stderr: []string{"params:2: NUL byte in the line"}},
		{name: "@FILE without a last newline", setup: all(signedSet, write("params", "-root\nman.json\ns.ko")),
			args: []string{"verify", "@params"}, status: 0, stdout: []string{"s.ko: accepted"}},
		{name: "modules.order with a NUL byte", setup: all(write("a.ko", "a"), write("modules.order", "a.o\nb\x00.o\n")),
			args: []string{"kbuild", "root.c", ".ko"}, status: 2, stderr: []string{"modules.order:2: NUL byte in the line"}},
		{name: "manifest with an unknown key", setup: func(t *testing.T) {
			signedSet(t)
			writeFile(t, "bad.json", []byte(insertLine(manifest(t), 1, `  "extra": true,`)))
		}, args: []string{"verify", "-root", "man.json", "-manifest", "bad.json", "s.ko"}, status: 2,
			stderr: []string{`bad.json:2: not a module hashes manifest: unknown key "extra"`}},
		{name: "manifest with a key in the wrong case", setup: func(t *testing.T) {
			signedSet(t)
			writeFile(t, "bad.json", []byte(strings.Replace(manifest(t), `"root":`, `"Root":`, 1)))
		}, args: []string{"verify", "-root", "man.json", "-manifest", "bad.json", "s.ko"}, status: 2,
			stderr: []string{`bad.json:3: not a module hashes manifest: key "Root": keys are case-sensitive, this one is "root"`}},
		{name: "manifest as the root, key twice", setup: func(t *testing.T) {
			signedSet(t)
			m := manifest(t)
			writeFile(t, "bad.json", []byte(insertLine(m, 2, strings.Split(m, "\n")[1])))
		}, args: []string{"verify", "-root", "bad.json", "s.ko"}, status: 2,
			stderr: []string{`bad.json:3: not a module hashes manifest: key "levels" appears twice`}},
		{name: "leaf file with a key in the wrong case", setup: write("l.json", strings.Replace(leafJSON(0, "a.ko"), `"name"`, `"Name"`, 1)),
			args: []string{"tree", "-manifest", "m.json", "l.json"}, status: 2,
			stderr: []string{`l.json:1: not a leaf file: key "Name": keys are case-sensitive, this one is "name"`}},
		{name: "leaf file without its leaf", setup: write("l.json", "{\"pos\": 0,\n \"name\": \"a.ko\", \"size\": 1}\n"),
			args: []string{"tree", "-manifest", "m.json", "l.json"}, status: 2,
			stderr: []string{`l.json:1: not a leaf file: object has no key "leaf"`}},

		// 13. Messages and output.
		{name: "verify -json: a setup error is a JSON document", setup: write("m.ko", "m"),
			args: []string{"verify", "-json", "-root", "missing.bin", "m.ko"}, status: 2,
			stderr: []string{"missing.bin: no such file"},
			check: func(t *testing.T, stdout string) {
				var doc struct {
					Error  string `json:"error"`
					Status int    `json:"exit_status"`
				}
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.Status != 2 || !strings.Contains(doc.Error, "missing.bin: no such file") {
					t.Errorf("stdout %q: %+v, %v", stdout, doc, err)
				}
			}},
		{name: "verify -json: a usage error is a JSON document", args: []string{"verify", "-json", "m.ko"}, status: 2,
			stdout: []string{`"error": "modhash verify: give the kernel's root with -vmlinux or -root"`, `"exit_status": 2`}},
		{name: "verify: a name with a newline cannot forge a line", setup: func(t *testing.T) {
			signedSet(t)
			writeFile(t, "evil\nfake.ko: accepted (position 0)", []byte("unsigned"))
		}, args: []string{"verify", "-root", "man.json", "evil\nfake.ko: accepted (position 0)"}, status: 1,
			check: func(t *testing.T, stdout string) {
				lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], `"evil\nfake.ko: accepted (position 0)": ENODATA`) {
					t.Errorf("output lines %q", lines)
				}
			}},
		{name: "inspect of a directory", setup: func(t *testing.T) { os.Mkdir("d", 0o755) }, args: []string{"inspect", "d"}, status: 2,
			stderr: []string{"d: not a regular file (a directory)"}},
		{name: "inspect -json of a directory", setup: func(t *testing.T) { os.Mkdir("d", 0o755) }, args: []string{"inspect", "-json", "d"}, status: 2,
			stdout: []string{`"error": "modhash inspect: open d: not a regular file (a directory)"`}},
	})
}

// insertLine inserts line before line i (0-based) of s.
func insertLine(s string, i int, line string) string {
	l := strings.Split(s, "\n")
	return strings.Join(append(l[:i:i], append([]string{line}, l[i:]...)...), "\n")
}

func xzCRC64(t *testing.T, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("no xz tool")
	}
	cmd := exec.Command("xz", "--check=crc64", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A full disk (here: the file size limit, EFBIG) is reported against the
// output, never the temporary file, and leaves no temporary file behind.
// The limit applies to a whole process, so modhash runs in a child.
func TestWriteErrorNamesTheOutput(t *testing.T) {
	if args := os.Getenv("MODHASH_TEST_FSIZE_ARGS"); args != "" {
		signal.Ignore(syscall.SIGXFSZ)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 4096, Max: 4096}); err != nil {
			t.Fatal(err)
		}
		os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	dir := t.TempDir()
	big := make([]byte, 200000)
	rand.New(rand.NewSource(1)).Read(big)
	vm := append(tinyELF(64), big...)
	writeFile(t, filepath.Join(dir, "m.ko"), big)
	writeFile(t, filepath.Join(dir, "vmlinux"), vm)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compress", "-format", "gzip", "-o", "out.gz", "m.ko"}, "out.gz: file too large"},
		{[]string{"patch", "-levels", "0", "-root", strings.Repeat("ab", 32), "-o", "vmlinux.new", "vmlinux"}, "write vmlinux.new: "},
		{[]string{"sign", "-proof", "p.merkle", "-o", "s.ko", "m.ko"}, "s.ko: file too large"},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			tree, _ := merkle.NewTree([]merkle.Digest{merkle.Leaf(0, big)})
			writeFile(t, filepath.Join(dir, "p.merkle"), tree.Proof(0).Signature())
			before := listAll(t, dir)
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriteErrorNamesTheOutput$")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "MODHASH_TEST_FSIZE_ARGS="+strings.Join(c.args, "\n"), "MODHASH_TEST_CHDIR="+dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 2 || !strings.Contains(stderr.String(), c.want) || !strings.Contains(stderr.String(), "file too large") || strings.Contains(stderr.String(), ".tmp") {
				t.Errorf("exit %d (%v), stderr %q; want 2 and %q, no temporary name", code, err, stderr.String(), c.want)
			}
			if added, changed := newEntries(before, listAll(t, dir)); len(added) > 0 || changed {
				t.Errorf("left behind %v (changed: %v)", added, changed)
			}
		})
	}
}
