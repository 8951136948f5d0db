// Package keyring finds the keys a kernel image trusts for module
// signatures: the certificates built into it (certs/system_certificates.S:
// system_certificate_list, system_certificate_list_size bytes, DER
// certificates one after the other, the CONFIG_MODULE_SIG_KEY certificate
// first), its revocation certificates (revocation_certificate_list) and its
// blacklisted hashes (CONFIG_SYSTEM_BLACKLIST_HASH_LIST: "tbs:HEX" and
// "bin:HEX" strings), and reads keyring files (PEM or DER) for the keys a
// kernel gets at run time. It computes on bytes; reading files is the
// caller's.
//
// Where the list is: in an ELF vmlinux with symbols, at the symbols'
// addresses; with a System.map, at its addresses; otherwise by a checked
// scan of the image: a run of DER certificates (each 30 82 HI LO, as the
// kernel's loader requires, each one parsing as X.509) followed, after
// zeros (the CONFIG_SYSTEM_EXTRA_CERTIFICATE space) and 8-byte alignment,
// by system_certificate_list_size equal to the run's length, then
// module_cert_size equal to 0 or to a prefix of the run. Exactly one such
// run must exist.
package keyring

import (
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrKeyring: a keyring file or a certificate list that is not what it
// should be.
var ErrKeyring = errors.New("unreadable keyring")

// How a list was found.
const (
	FoundELF       = "elf-symbols"
	FoundSystemMap = "system-map"
	FoundScan      = "scan"
)

// A List is what was found in a kernel image.
type List struct {
	// Certs are the DER certificates of system_certificate_list, in
	// order, as the kernel's x509_load_certificate_list splits it.
	Certs [][]byte
	// Known: the list was found (it may be empty); when false, Where
	// says why not.
	Known   bool
	FoundBy string
	Where   string
	// Dodgy is set when the kernel's loader stops early on the list
	// ("Problem parsing in-kernel X.509 certificate list").
	Dodgy string
	// ModuleCertSize is module_cert_size, when read (-1 unknown).
	ModuleCertSize int64
	// Revocation are the revocation certificates, RevocationKnown
	// whether their list was found.
	Revocation      [][]byte
	RevocationKnown bool
	// Blacklist are the "tbs:HEX" and "bin:HEX" strings in the image.
	Blacklist []string
}

// SplitList splits a certificate list as x509_load_certificate_list does:
// each certificate begins 30 82 HI LO and fits; the first that does not
// ends the list (dodgy says why).
func SplitList(list []byte) (certs [][]byte, dodgy string) {
	for p := 0; p < len(list); {
		if len(list)-p < 4 || list[p] != 0x30 || list[p+1] != 0x82 {
			return certs, fmt.Sprintf("bytes at offset %d of the list are not a certificate (30 82 ..)", p)
		}
		n := int(list[p+2])<<8 | int(list[p+3]) + 4
		if n > len(list)-p {
			return certs, fmt.Sprintf("certificate at offset %d of the list runs past its end", p)
		}
		certs = append(certs, list[p:p+n])
		p += n
	}
	return certs, ""
}

// findBlacklist returns the blacklist hash strings in the image: "tbs:"
// or "bin:", 40 to 128 lower-case hex digits, a NUL (at most 4096).
func findBlacklist(raw []byte) []string {
	var out []string
	for _, prefix := range []string{"tbs:", "bin:"} {
		for p := 0; len(out) < 4096; {
			i := bytes.Index(raw[p:], []byte(prefix))
			if i < 0 {
				break
			}
			start := p + i + len(prefix)
			end := start
			for end < len(raw) && end-start <= 128 && (raw[end] >= '0' && raw[end] <= '9' || raw[end] >= 'a' && raw[end] <= 'f') {
				end++
			}
			if n := end - start; n >= 40 && n <= 128 && end < len(raw) && raw[end] == 0 {
				out = append(out, string(raw[start-len(prefix):end]))
			}
			p = start
		}
	}
	return out
}

// FromELF reads the lists at the symbols of an ELF vmlinux; ok is false
// when the ELF has no system_certificate_list symbol (a stripped vmlinux,
// as in a bzImage).
func FromELF(raw []byte) (l *List, ok bool, err error) {
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrKeyring, err)
	}
	syms, err := f.Symbols()
	if err != nil || len(syms) == 0 {
		return nil, false, nil
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		switch s.Name {
		case "system_certificate_list", "system_certificate_list_size", "module_cert_size",
			"revocation_certificate_list", "revocation_certificate_list_size":
			addr[s.Name] = s.Value
		}
	}
	if _, ok := addr["system_certificate_list"]; !ok {
		return nil, false, nil
	}
	off := func(name string) (int64, bool, error) {
		a, ok := addr[name]
		if !ok {
			return 0, false, nil
		}
		for _, s := range f.Sections {
			if s.Type == elf.SHT_PROGBITS && a >= s.Addr && a < s.Addr+s.Size {
				return int64(s.Offset + (a - s.Addr)), true, nil
			}
		}
		return 0, false, fmt.Errorf("%w: symbol %s at 0x%x is in no section with contents", ErrKeyring, name, a)
	}
	word := 8
	if f.Class == elf.ELFCLASS32 {
		word = 4
	}
	l, err = fromOffsets(raw, f.ByteOrder, word, off)
	if err != nil {
		return nil, false, err
	}
	l.FoundBy = FoundELF
	l.Where = fmt.Sprintf("ELF symbols system_certificate_list (0x%x) and system_certificate_list_size", addr["system_certificate_list"])
	return l, true, nil
}

// FromOffsets reads the lists of a raw image at the image offsets off
// gives for a symbol (from a System.map); word is the size of unsigned
// long (8 on 64-bit kernels).
func FromOffsets(raw []byte, order binary.ByteOrder, word int, off func(string) (int64, bool, error)) (*List, error) {
	l, err := fromOffsets(raw, order, word, off)
	if err != nil {
		return nil, err
	}
	l.FoundBy = FoundSystemMap
	l.Where = "System.map symbols system_certificate_list and system_certificate_list_size"
	return l, nil
}

func fromOffsets(raw []byte, order binary.ByteOrder, word int, off func(string) (int64, bool, error)) (*List, error) {
	l := &List{ModuleCertSize: -1, Blacklist: findBlacklist(raw)}
	readWord := func(name string) (uint64, bool, error) {
		o, ok, err := off(name)
		if err != nil || !ok {
			return 0, false, err
		}
		if o < 0 || o+int64(word) > int64(len(raw)) {
			return 0, false, fmt.Errorf("%w: %s at image offset 0x%x is outside the %d-byte image", ErrKeyring, name, o, len(raw))
		}
		if word == 4 {
			return uint64(order.Uint32(raw[o:])), true, nil
		}
		return order.Uint64(raw[o:]), true, nil
	}
	list := func(start, size string) ([]byte, bool, error) {
		o, ok, err := off(start)
		if err != nil || !ok {
			return nil, false, err
		}
		n, ok, err := readWord(size)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, fmt.Errorf("%w: %s without %s", ErrKeyring, start, size)
		}
		if o < 0 || n > uint64(len(raw)) || o+int64(n) > int64(len(raw)) {
			return nil, false, fmt.Errorf("%w: %s of %d bytes at image offset 0x%x runs past the %d-byte image", ErrKeyring, start, n, o, len(raw))
		}
		return raw[o : o+int64(n)], true, nil
	}
	b, ok, err := list("system_certificate_list", "system_certificate_list_size")
	if err != nil {
		return nil, err
	}
	if !ok {
		l.Where = "no system_certificate_list symbol: the kernel has no built-in keys (no CONFIG_SYSTEM_TRUSTED_KEYRING)"
		return l, nil
	}
	l.Known = true
	l.Certs, l.Dodgy = SplitList(b)
	if n, ok, err := readWord("module_cert_size"); err != nil {
		return nil, err
	} else if ok {
		l.ModuleCertSize = int64(n)
	}
	if r, ok, err := list("revocation_certificate_list", "revocation_certificate_list_size"); err != nil {
		return nil, err
	} else if ok {
		l.RevocationKnown = true
		l.Revocation, _ = SplitList(r)
	}
	return l, nil
}

// maxExtra bounds the zeros between a list and its size
// (CONFIG_SYSTEM_EXTRA_CERTIFICATE_SIZE is 4096 by default).
const maxExtra = 1 << 20

// Scan finds system_certificate_list in an image without symbols (see the
// package comment). word is the size of unsigned long. Several candidates
// are an error; none leaves the list unknown.
func Scan(raw []byte, order binary.ByteOrder, word int) (*List, error) {
	l := &List{ModuleCertSize: -1, Blacklist: findBlacklist(raw)}
	type hit struct {
		start, end int
		certs      [][]byte
		modSize    uint64
	}
	var hits []hit
	rd := func(p int) uint64 {
		if word == 4 {
			return uint64(order.Uint32(raw[p:]))
		}
		return order.Uint64(raw[p:])
	}
	for p := 0; ; {
		i := bytes.Index(raw[p:], []byte{0x30, 0x82})
		if i < 0 {
			break
		}
		start := p + i
		p = start + 1
		if start%word != 0 || !isCert(raw, start) {
			continue
		}
		// A run of certificates from start.
		var certs [][]byte
		end := start
		for end+4 <= len(raw) && isCert(raw, end) {
			n := int(raw[end+2])<<8 | int(raw[end+3]) + 4
			certs = append(certs, raw[end:end+n])
			end += n
		}
		// After zeros, an aligned size equal to the run's length,
		// then module_cert_size.
		size := uint64(end - start)
		for q := start + (end-start+word-1)/word*word; q+2*word <= len(raw) && q-end <= maxExtra; q += word {
			if !allZero(raw[end:q]) {
				break
			}
			if rd(q) != size {
				continue
			}
			m := rd(q + word)
			if m == 0 || prefixOf(certs, m) {
				hits = append(hits, hit{start, end, certs, m})
			}
			break
		}
		if end > p {
			p = end
		}
	}
	switch len(hits) {
	case 0:
		l.Where = "not found: the scan found no run of X.509 certificates followed by its size (an empty list, or a layout the scan does not know; give -system-map, or -keyring)"
		return l, nil
	case 1:
		h := hits[0]
		l.Known, l.FoundBy, l.Certs, l.ModuleCertSize = true, FoundScan, h.certs, int64(h.modSize)
		l.Where = fmt.Sprintf("image offset 0x%x, %d bytes", h.start, h.end-h.start)
		return l, nil
	}
	return nil, fmt.Errorf("%w: %d places in the image look like the built-in certificate list (offsets 0x%x and 0x%x): give -system-map", ErrKeyring, len(hits), hits[0].start, hits[1].start)
}

func isCert(raw []byte, p int) bool {
	if len(raw)-p < 4 || raw[p] != 0x30 || raw[p+1] != 0x82 {
		return false
	}
	n := int(raw[p+2])<<8 | int(raw[p+3]) + 4
	if n > len(raw)-p {
		return false
	}
	_, err := x509.ParseCertificate(raw[p : p+n])
	return err == nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func prefixOf(certs [][]byte, m uint64) bool {
	var n uint64
	for _, c := range certs {
		if n += uint64(len(c)); n == m {
			return true
		}
	}
	return false
}

// maxCerts bounds the certificates of one keyring file.
const maxCerts = 4096

// ParseFile reads a keyring file: PEM (one or many CERTIFICATE blocks;
// other blocks, such as a private key, are skipped) or DER (one or many
// certificates one after the other). Anything else is an error.
func ParseFile(name string, b []byte) ([][]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrKeyring, name)
	}
	if bytes.Contains(b, []byte("-----BEGIN")) {
		var out [][]byte
		for rest := b; len(out) < maxCerts; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				out = append(out, blk.Bytes)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: %s holds no PEM CERTIFICATE block", ErrKeyring, name)
		}
		return out, nil
	}
	var out [][]byte
	for p := 0; p < len(b); {
		if len(out) == maxCerts {
			return nil, fmt.Errorf("%w: %s holds more than %d certificates", ErrKeyring, name, maxCerts)
		}
		var n int
		switch {
		case len(b)-p >= 4 && b[p] == 0x30 && b[p+1] == 0x82:
			n = int(b[p+2])<<8 | int(b[p+3]) + 4
		case len(b)-p >= 3 && b[p] == 0x30 && b[p+1] == 0x81:
			n = int(b[p+2]) + 3
		default:
			return nil, fmt.Errorf("%w: %s: bytes at offset %d are neither PEM nor a DER certificate", ErrKeyring, name, p)
		}
		if n > len(b)-p {
			return nil, fmt.Errorf("%w: %s: the certificate at offset %d runs past the end of the file", ErrKeyring, name, p)
		}
		if _, err := x509.ParseCertificate(b[p : p+n]); err != nil {
			return nil, fmt.Errorf("%w: %s: certificate at offset %d: %v", ErrKeyring, name, p, err)
		}
		out = append(out, b[p:p+n])
		p += n
	}
	return out, nil
}
