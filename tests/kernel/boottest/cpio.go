package main

import (
	"bytes"
	"fmt"
)

// newcArchive builds an initramfs in the kernel's "newc" cpio format: the
// format the kernel unpacks (usr/gen_init_cpio writes it too). Entries get
// fixed owners and times, so the same files give the same archive.
type newcArchive struct {
	buf bytes.Buffer
	ino int
}

const (
	modeDir     = 0o040755
	modeFile    = 0o100644
	modeExec    = 0o100755
	modeSymlink = 0o120777 // data is the link's target
)

func (a *newcArchive) add(name string, mode int, data []byte) {
	a.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	fmt.Fprintf(&a.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		a.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	a.buf.WriteString(name)
	a.buf.WriteByte(0)
	a.pad()
	a.buf.Write(data)
	a.pad()
}

func (a *newcArchive) pad() {
	for a.buf.Len()%4 != 0 {
		a.buf.WriteByte(0)
	}
}

// bytes ends the archive with the trailer entry and returns it.
func (a *newcArchive) bytes() []byte {
	a.ino = -1 // the trailer has inode 0
	a.add("TRAILER!!!", 0, nil)
	return a.buf.Bytes()
}
