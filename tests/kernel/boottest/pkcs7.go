package main

import (
	"fmt"
	"os"

	"github.com/modhash/modhash/merkle"
)

// pkcs7Cases are the cases of a kernel that also has CONFIG_MODULE_SIG: an
// external module signed with the kernel's key (scripts/sign-file) must
// load, one signed with another key is refused for its unavailable key, one
// whose signature value is corrupted is refused as a bad signature
// (EKEYREJECTED, fatal), one whose PKCS#7 blob is garbage is refused before
// any key is looked at (EBADMSG, fatal), and the same module unsigned is
// refused as unsigned. modhash verify -module-sig cannot know the keyring:
// it must say needs-keyring where the kernel's verdict depends on the key,
// and the kernel's exact verdict where it does not.
func pkcs7Cases(signedPath, otherPath string) ([]testCase, error) {
	signed, err := os.ReadFile(signedPath)
	if err != nil {
		return nil, err
	}
	other, err := os.ReadFile(otherPath)
	if err != nil {
		return nil, err
	}
	d := signed
	tr, err := merkle.ParseTrailer(d, int64(len(d)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", signedPath, err)
	}
	h := tr.Header
	blobEnd := len(d) - merkle.TrailerTailSize
	blobStart := int(tr.ModuleSize)
	if h.IDType != merkle.IDTypePKCS7 || blobStart <= 0 {
		return nil, fmt.Errorf("%s: not a module with a PKCS#7 signature", signedPath)
	}
	name := moduleName(signedPath)
	corrupted := append([]byte(nil), d...)
	corrupted[blobEnd-5] ^= 0x01 // inside the RSA signature value, the blob's last element
	garbage := append([]byte(nil), d...)
	for i := blobStart; i < blobEnd; i++ {
		garbage[i] = byte(0xa5 ^ i)
	}
	unsigned := append([]byte(nil), d[:blobStart]...)
	c := func(n string, data []byte, want merkle.Outcome, kernel, why string) testCase {
		return testCase{name: "pkcs7:" + n, file: "/m/pkcs7/" + n + ".ko", module: name, data: data,
			want: want, keyring: kernel, wantWhy: why}
	}
	return []testCase{
		c("test-key", d, merkle.NeedsKeyring, "accepted", "signed by scripts/sign-file with the kernel's (test) key"),
		c("other-key", other, merkle.NeedsKeyring, merkle.ENOKEY.String(), "signed with a key the kernel does not have"),
		c("corrupted", corrupted, merkle.NeedsKeyring, "EKEYREJECTED", "one bit of the RSA signature value flipped"),
		c("garbage", garbage, merkle.EBADMSG, "", "the PKCS#7 blob overwritten with garbage: no key is looked at"),
		c("unsigned", unsigned, merkle.ENODATA, "", "the same module without its signature"),
	}, nil
}
