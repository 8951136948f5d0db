// Package elftest builds small kernel-like ELF images ("vmlinux" fixtures)
// with the host compiler and the Debian cross toolchains, for tests that
// patch the .module_hashes section and compare the result with what the
// target's own objcopy produces.
//
// The fixture is a few C functions, some read-only data, a data and a bss
// section, and the 36-byte module_hashes_root object in .module_hashes,
// linked with -nostdlib -static by a linker script that places
// .module_hashes among the read-only data with an AT() load address, the way
// the kernel's vmlinux.lds does.
//
// Tests find the tools with Tool: when a toolchain is missing the test is
// skipped, unless the environment variable MODHASH_REQUIRE_CROSS is set to
// anything but "" or "0" (CI sets it to 1 after running install-cross.sh in
// this directory), in which case the test fails.
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv is the environment variable that turns a missing toolchain
// from a skipped test into a failed one.
const RequireEnv = "MODHASH_REQUIRE_CROSS"

// An Arch is a target the fixture is built for.
type Arch struct {
	Triplet   string           // GNU triplet, the prefix of the tool names
	Package   string           // Debian package with the compiler
	Class     elf.Class        // expected ELF class
	ByteOrder binary.ByteOrder // expected byte order
	Machine   elf.Machine      // expected e_machine
	CFlags    []string         // extra compiler flags
}

// Host is the build machine's own target (the host gcc).
var Host = Arch{Triplet: "x86_64-linux-gnu", Package: "gcc", Class: elf.ELFCLASS64, ByteOrder: binary.LittleEndian, Machine: elf.EM_X86_64}

// Arches lists every target the cross tests cover: both classes and both
// byte orders.
var Arches = []Arch{
	Host,
	{Triplet: "aarch64-linux-gnu", Package: "gcc-aarch64-linux-gnu", Class: elf.ELFCLASS64, ByteOrder: binary.LittleEndian, Machine: elf.EM_AARCH64},
	{Triplet: "i686-linux-gnu", Package: "gcc-i686-linux-gnu", Class: elf.ELFCLASS32, ByteOrder: binary.LittleEndian, Machine: elf.EM_386},
	{Triplet: "arm-linux-gnueabihf", Package: "gcc-arm-linux-gnueabihf", Class: elf.ELFCLASS32, ByteOrder: binary.LittleEndian, Machine: elf.EM_ARM},
	{Triplet: "powerpc64-linux-gnu", Package: "gcc-powerpc64-linux-gnu", Class: elf.ELFCLASS64, ByteOrder: binary.BigEndian, Machine: elf.EM_PPC64},
	{Triplet: "s390x-linux-gnu", Package: "gcc-s390x-linux-gnu", Class: elf.ELFCLASS64, ByteOrder: binary.BigEndian, Machine: elf.EM_S390},
	// MIPS compilers default to PIC "abicalls" code, which needs a
	// dynamic linker; a kernel is built with -mno-abicalls.
	{Triplet: "mips-linux-gnu", Package: "gcc-mips-linux-gnu", Class: elf.ELFCLASS32, ByteOrder: binary.BigEndian, Machine: elf.EM_MIPS, CFlags: []string{"-mno-abicalls"}},
}

// Tool returns the path of the target's tool (gcc, objcopy, readelf, ...).
// A missing tool skips the test, or fails it when RequireEnv is set.
func (a Arch) Tool(t testing.TB, name string) string {
	t.Helper()
	return Require(t, a.Triplet+"-"+name, a.Package)
}

// Require returns the path of the program name, installed by the Debian
// package pkg. A missing program skips the test, or fails it when RequireEnv
// is set.
func Require(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	// Bazel and other sandboxes may run tests with a minimal PATH.
	if _, err := os.Stat("/usr/bin/" + name); err == nil {
		return "/usr/bin/" + name
	}
	if v := os.Getenv(RequireEnv); v != "" && v != "0" {
		t.Fatalf("%s not found (Debian package %s; run tests/elftest/install-cross.sh) and %s is set", name, pkg, RequireEnv)
	}
	t.Skipf("%s not found (Debian package %s; run tests/elftest/install-cross.sh, or set %s=1 to make this a failure)", name, pkg, RequireEnv)
	return ""
}

// Source is the C source of the fixture. RootDecl declares the
// .module_hashes object as the kernel does.
const Source = `struct module_hashes_root { unsigned int levels; unsigned char hash[32]; };
ROOT_DECL
const char linux_banner[] = "Linux version 6.99.0-modhash-test (modhash@fixture)";
static const unsigned int fib_table[] = { 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233 };
int counter = 7;
int scratch[64];
int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int lookup(int i) { return fib_table[i % 12] + counter; }
const char *banner(void) { return linux_banner; }
void _start(void)
{
	for (;;)
		scratch[counter & 63] = fib(lookup(counter)) + banner()[counter & 15];
}
`

// RootDecl is the kernel's declaration of the root record: 36 zero bytes.
const RootDecl = `const struct module_hashes_root module_hashes_root
	__attribute__((section(".module_hashes"), used)) = {0};`

// LinkerScript places .module_hashes among the read-only data with a load
// address below its virtual address, as the kernel's vmlinux.lds does.
const LinkerScript = `LOAD_OFFSET = 0x40000000;
ENTRY(_start)
SECTIONS
{
	. = 0x40100000;
	.text : AT(ADDR(.text) - LOAD_OFFSET) { *(.text .text.*) }
	. = ALIGN(4096);
	.rodata : AT(ADDR(.rodata) - LOAD_OFFSET) { *(.rodata .rodata.*) }
	.module_hashes : AT(ADDR(.module_hashes) - LOAD_OFFSET) { KEEP(*(SORT(.module_hashes))) }
	.rodata_tail : AT(ADDR(.rodata_tail) - LOAD_OFFSET) { *(.rodata1) LONG(0x6d6f6468) }
	. = ALIGN(4096);
	.data : AT(ADDR(.data) - LOAD_OFFSET) { *(.data .data.*) }
	.bss : AT(ADDR(.bss) - LOAD_OFFSET) { *(.bss .bss.*) *(COMMON) }
	/DISCARD/ : { *(.note.GNU-stack) *(.comment) }
}
`

// Options vary the fixture.
type Options struct {
	// RootDecl replaces the declaration of the .module_hashes object,
	// e.g. to make a section of the wrong size. Empty means RootDecl.
	RootDecl string
	// Name is the output file name in the directory; empty means "vmlinux".
	Name string
}

// Build compiles and links the fixture for a into dir and returns the path
// of the image. It checks that the result has the class, byte order and
// machine that a promises.
func Build(t testing.TB, a Arch, dir string, opt Options) string {
	t.Helper()
	gcc := a.Tool(t, "gcc")
	decl := opt.RootDecl
	if decl == "" {
		decl = RootDecl
	}
	name := opt.Name
	if name == "" {
		name = "vmlinux"
	}
	src := filepath.Join(dir, name+".c")
	lds := filepath.Join(dir, name+".lds")
	out := filepath.Join(dir, name)
	if err := os.WriteFile(src, []byte(strings.Replace(Source, "ROOT_DECL", decl, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lds, []byte(LinkerScript), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-O2", "-ffreestanding", "-fno-pic", "-fno-pie", "-no-pie",
		"-fno-stack-protector", "-fno-asynchronous-unwind-tables",
		"-nostdlib", "-static", "-Wl,-T," + lds, "-Wl,--build-id=none"}
	args = append(args, a.CFlags...)
	args = append(args, "-o", out, src)
	Run(t, gcc, args...)

	f, err := elf.Open(out)
	if err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	defer f.Close()
	if f.Class != a.Class || f.ByteOrder != a.ByteOrder || f.Machine != a.Machine {
		t.Fatalf("%s: built %v %v %v, want %v %v %v", out, f.Class, f.ByteOrder, f.Machine, a.Class, a.ByteOrder, a.Machine)
	}
	return out
}

// Run runs a program and returns its standard output; a failure fails the
// test with the program's standard error.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// KbuildCompressions lists the kernel image compressions (CONFIG_KERNEL_*)
// that KbuildCompress makes, by the names modcompress.DetectImage gives.
var KbuildCompressions = []string{"gzip", "xz", "zstd", "lz4", "lzma", "bzip2", "lzo"}

// KbuildCompress compresses raw as kbuild compresses a kernel image for
// the given compression (scripts/Makefile.lib: cmd_gzip, cmd_xzkern,
// cmd_zstd22, cmd_lz4, cmd_lzma, cmd_bzip2, cmd_lzo), with the Debian
// tools, including the 4-byte little-endian decompressed size that kbuild
// appends to every format but gzip (size_append). A missing tool skips the
// test, or fails it when RequireEnv is set.
func KbuildCompress(t testing.TB, raw []byte, format string) []byte {
	t.Helper()
	var prog, pkg string
	var args []string
	switch format {
	case "gzip":
		prog, pkg, args = "gzip", "gzip", []string{"-n", "-f", "-9"}
	case "xz":
		// scripts/xz_wrap.sh for x86 (Linux 6.12): the BCJ filter, CRC32,
		// one thread, a 128 MiB dictionary (older kernels: 32 MiB).
		prog, pkg, args = "xz", "xz-utils", []string{"--check=crc32", "--threads=1", "--x86", "--lzma2=,dict=128MiB"}
	case "zstd":
		prog, pkg, args = "zstd", "zstd", []string{"-22", "--ultra", "-q", "-c"}
	case "lz4":
		prog, pkg, args = "lz4", "lz4", []string{"-l", "-9", "-c"}
	case "lzma":
		prog, pkg, args = "lzma", "xz-utils", []string{"-9"}
	case "bzip2":
		prog, pkg, args = "bzip2", "bzip2", []string{"-9"}
	case "lzo":
		prog, pkg, args = "lzop", "lzop", []string{"-9"}
	default:
		t.Fatalf("KbuildCompress: unknown compression %q", format)
	}
	path := Require(t, prog, pkg)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(raw), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, stderr.String())
	}
	out := stdout.Bytes()
	if format != "gzip" {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(raw)))
	}
	return out
}

// PKCS7Shaped is a PKCS#7 module signature as scripts/sign-file writes
// it (openssl cms -sign -binary -noattr -nocerts, SHA-256, the repository's
// test key examples/linux/testkeys/TEST-ONLY-module-signing-key.pem) over
// other bytes: well-formed, it passes every check that needs no key, and
// only the keyring decides (ENOKEY without the test key, EKEYREJECTED with
// it: the digest differs).
var PKCS7Shaped = mustHex("308201d006092a864886f70d010702a08201c1308201bd020101310d300b0609608648016503040201300b06092a864886f70d0107013182019a308201960201013071305931183016060355040a0c0f6d6f6468617368206578616d706c65313d303b06035504030c346d6f64686173682054455354204f4e4c59206d6f64756c652d7369676e696e67206b65793a206e657665722074727573742069740214781f130a0a65b692c45f0c35e1eda518ec7aa986300b0609608648016503040201300d06092a864886f70d0101010500048201007b4c934fd4412da1787533558a9c0e6c7673b573229d5b203ce448d3da6499d6ffcf4ec356f3fdb5ae2c0e9bf8eb184245387b729d344370229c7c264cf8afcc5f1653117bd9e21802bfad6fd1ec1085ce9c4f07555b5096e587a2113d5f32e9e659c83103d7cb9e41a585aaf61cee294b233837fd2e011f19c4730c826531b0d711b4787a5dadb28227db0fd34f6cbdbeb93072b7005faadd348f4ca3f78fca9034c2ccf1ec863708892615d38a477566540a77e5f2b3918c7cfb4648dc88e95a3c1a906d3192061cf5c5f74867004fff974fee699ebec714d83f1c714ab453144db799d11bd5d05a723b1a761ca341807a006ddc2acb7b9ca8218c78926f0d")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
