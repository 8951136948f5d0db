package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
	"github.com/modhash/modhash/merkle/keyring"
	"github.com/modhash/modhash/merkle/modsig"
)

// MaxKeyringFile bounds a -keyring file.
const MaxKeyringFile = 16 << 20

// Keys are the keys a kernel trusts for PKCS#7 module signatures: those
// built into its image and those of -keyring files.
type Keys struct {
	// List is what was found in the image (nil when no image was read).
	List *keyring.List
	// Builtin are the built-in certificates the kernel loads; Refused
	// those it would not load, with why.
	Builtin []*modsig.Cert
	Refused []string
	// Files are the -keyring files and their certificates.
	Files map[string][]*modsig.Cert
	// OnDemand are the hashes not built in that the kernel loads as
	// modules from the module directory (modules.alias).
	OnDemand []string
	// Keyring is what the PKCS#7 check uses; nil when no key is known
	// (the list was not found and no -keyring was given).
	Keyring *modsig.Keyring
}

// addModuleHashes marks as available the hashes the kernel does not have
// built in but loads on demand (crypto_alloc_shash's request_module of
// "crypto-NAME") from the module directory: as its modules.alias says,
// or without one (a package not yet installed: depmod makes it) by the
// generic module's file name (sha512_generic.ko gives sha384 and sha512).
func (ks *Keys) addModuleHashes(dir string, mods []string) error {
	kr := ks.Keyring
	if kr == nil || kr.Hashes == nil {
		return nil
	}
	b, err := plainfile.ReadFile(filepath.Join(dir, "modules.alias"), 64<<20)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	have := func(h string) bool { return bytes.Contains(b, []byte("\nalias crypto-"+h+" ")) }
	if b == nil {
		names := map[string]bool{}
		for _, m := range mods {
			names[stripModule(filepath.Base(m))] = true
		}
		generic := map[string]string{"sha1": "sha1_generic", "sha224": "sha256_generic", "sha256": "sha256_generic", "sha384": "sha512_generic", "sha512": "sha512_generic"}
		have = func(h string) bool { return names[generic[h]] }
	}
	for _, h := range []string{"sha1", "sha224", "sha256", "sha384", "sha512"} {
		if !kr.Hashes[h] && have(h) {
			kr.Hashes[h] = true
			ks.OnDemand = append(ks.OnDemand, h)
		}
	}
	return nil
}

// KeyringFile is the keyring label of a -keyring file's keys.
func KeyringFile(path string) string { return "secondary (-keyring " + path + ")" }

// LoadKeys reads the built-in keys of kernel k (nil for none) as its image
// holds them (found through its ELF symbols, sysmap, or a checked scan)
// and the certificates of each keyring file.
func LoadKeys(k *Kernel, sysmap *SystemMap, files []string) (*Keys, error) {
	ks := &Keys{Files: map[string][]*modsig.Cert{}}
	kr := &modsig.Keyring{}
	if k != nil {
		l, err := k.certList(sysmap)
		if err != nil {
			return nil, err
		}
		ks.List = l
		if len(l.Hashes) > 0 {
			kr.Hashes = map[string]bool{}
			for _, h := range l.Hashes {
				kr.Hashes[h] = true
			}
		}
		if len(l.Blacklist) > 0 || len(l.Revocation) > 0 {
			kr.Blacklist = &modsig.Blacklist{Hashes: map[string]bool{}}
			for _, h := range l.Blacklist {
				kr.Blacklist.Hashes[h] = true
			}
			for _, der := range l.Revocation {
				if c, err := modsig.ParseCert(der); err == nil {
					kr.Blacklist.Revoked = append(kr.Blacklist.Revoked, c)
				}
			}
		}
		for i, der := range l.Certs {
			c, err := kr.Add(der, "builtin")
			if err != nil {
				ks.Refused = append(ks.Refused, fmt.Sprintf("built-in certificate %d: %s (the kernel does not load it)", i+1, err))
				continue
			}
			ks.Builtin = append(ks.Builtin, c)
		}
	}
	for _, f := range files {
		b, err := plainfile.ReadFile(f, MaxKeyringFile)
		if err != nil {
			return nil, fmt.Errorf("-keyring %s: %w", f, err)
		}
		ders, err := keyring.ParseFile(f, b)
		if err != nil {
			return nil, err
		}
		for i, der := range ders {
			c, err := kr.Add(der, KeyringFile(f))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: certificate %d: %s", keyring.ErrKeyring, f, i+1, err)
			}
			ks.Files[f] = append(ks.Files[f], c)
		}
	}
	if (ks.List != nil && ks.List.Known) || len(files) > 0 {
		ks.Keyring = kr
	}
	return ks, nil
}

// certList finds the built-in certificate list of the kernel's image.
func (k *Kernel) certList(sysmap *SystemMap) (*keyring.List, error) {
	order, word := k.rawOrder, 8
	if order == nil {
		order = binary.LittleEndian
	}
	if k.Inner == KindELF {
		l, ok, err := keyring.FromELF(k.raw)
		if err != nil {
			return nil, merkle.Errorf(k.Path, ErrImage, nil, "%v", err)
		}
		if ok {
			return l, nil
		}
		if len(k.raw) > 4 && k.raw[4] == 1 { // ELFCLASS32
			word = 4
		}
		if k.raw[5] == 2 { // ELFDATA2MSB
			order = binary.BigEndian
		}
	} else if sysmap != nil {
		if _, ok := sysmap.Symbols["system_certificate_list"]; ok {
			l, err := keyring.FromOffsets(k.raw, order, word, func(sym string) (int64, bool, error) {
				if _, ok := sysmap.Symbols[sym]; !ok {
					return 0, false, nil
				}
				off, err := sysmap.Offset(sym, len(k.raw))
				return off, err == nil, err
			})
			if err != nil {
				return nil, merkle.Errorf(k.Path, ErrImage, nil, "%v", err)
			}
			return l, nil
		}
	}
	l, err := keyring.Scan(k.raw, order, word)
	if err != nil {
		return nil, merkle.Errorf(k.Path, ErrImage, nil, "%v", err)
	}
	return l, nil
}

var foundBy = map[string]string{
	keyring.FoundELF:       "the ELF symbols",
	keyring.FoundSystemMap: "System.map",
	keyring.FoundScan:      "a scan of the image for a run of X.509 certificates followed by its size",
}

// Describe says where the keys came from, for people.
func (ks *Keys) Describe() string {
	var s string
	switch {
	case ks.List == nil:
		s = "no kernel image read"
	case !ks.List.Known:
		s = "built-in certificate list " + ks.List.Where
	default:
		s = fmt.Sprintf("%d built-in certificates (%s; found by %s)", len(ks.Builtin), ks.List.Where, foundBy[ks.List.FoundBy])
	}
	n := 0
	for _, cs := range ks.Files {
		n += len(cs)
	}
	if len(ks.Files) > 0 {
		s += fmt.Sprintf("; %d from %d -keyring files", n, len(ks.Files))
	}
	if ks.List != nil && len(ks.List.Hashes) > 0 {
		s += "; digests built in: " + strings.Join(ks.List.Hashes, ", ")
		if len(ks.OnDemand) > 0 {
			s += "; loaded as modules on demand: " + strings.Join(ks.OnDemand, ", ")
		}
	}
	return s
}

// The System.map symbols of the certificate lists, kept by ParseSystemMap.
func init() {
	for _, s := range []string{"system_certificate_list", "system_certificate_list_size", "module_cert_size",
		"revocation_certificate_list", "revocation_certificate_list_size"} {
		wanted[s] = true
	}
}

// NoKeys says why no key is known ("" when there are keys).
func (ks *Keys) NoKeys() string {
	if ks.Keyring != nil {
		return ""
	}
	if ks.List == nil {
		return "no kernel image to read them from, no -keyring"
	}
	return "the kernel image's built-in certificate list: " + ks.List.Where + "; no -keyring"
}
