// Package atomicfile writes output files so that no reader, and no later
// build step, ever sees a partial one, and so that a set of outputs that
// belong together (a root and its proofs) is replaced all or nothing.
//
// A Txn stages every output under a temporary name in its destination's
// directory and renames them into place only when all are complete; when a
// rename fails it puts the old outputs back. Before anything is written it
// refuses outputs that are one of the inputs or each other (by cleaned path
// and by device and inode) and destinations that cannot be replaced (a
// directory, an unwritable directory, another user's file in a sticky
// directory). A journal next to the first output lets the next run undo
// what a killed run left. docs/outputs.md describes the guarantees.
package atomicfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The names a run uses next to an output BASE. RUN is the process id and a
// time stamp, so that two runs never share a name, and the suffixes let a
// later run recognise them as modhash's own.
const (
	newSuffix     = ".modhash-new" // .BASE.RUN.modhash-new: the staged new content
	oldSuffix     = ".modhash-old" // .BASE.RUN.modhash-old: the old content while committing
	journalSuffix = ".modhash-txn" // .BASE.modhash-txn: the journal, next to the first output
)

var runCounter atomic.Uint64

// ErrInterrupted is returned by every operation of a Txn after Interrupt.
var ErrInterrupted = errors.New("interrupted")

// fileID is a file's identity.
type fileID struct{ dev, ino uint64 }

// nameID is a directory entry's identity: the directory's fileID and the
// name in it. Two paths with the same nameID are the same output whatever
// symbolic links, "..", "." or doubled slashes they contain.
type nameID struct {
	dir  fileID
	base string
}

type output struct {
	path     string // as the caller gave it, for messages
	abs      string // absolute, cleaned
	sys      string // for system calls: abs, or relative to the working directory (a shorter walk)
	tmp, old string // set by names
	perm     os.FileMode
	existing os.FileInfo // the destination before this run (nil if none)
	touch    bool        // if unchanged, still set its modification time

	file      *os.File // open while staging a stream
	staged    bool     // tmp holds the complete new content
	unchanged bool     // the destination already holds the new content
	aside     bool     // old holds the old content (commit)
	renamed   bool     // tmp was renamed to the destination

	mkdirs  bool         // its directory may be created (CreateDirs)
	kept    bool         // not written (Keep)
	batch   bool         // declared with Outputs: may be written in place (InPlace)
	direct  bool         // new output created at its final name (InPlace)
	created bool         // direct: this run created the destination
	inPlace bool         // the destination was overwritten in place (InPlace)
	undo    undoOp       // inPlace: how to put the old bytes back
	id      fileIdentity // staged: the file renamed into place
	// dirMu serializes the names made and renamed in its directory
	// (Txn.dirMu).
	dirMu *sync.Mutex
}

// Txn is a set of outputs replaced all or nothing. Declare inputs and
// outputs first, then write each output once (WriteFile, WriteFiles or
// Create), then Commit; Abort (safe to defer) discards everything not
// committed. Write methods may be called from several goroutines.
type Txn struct {
	run  string
	cwd  string
	outs []*output

	inPath  map[string]string   // cleaned absolute path → as given
	inID    map[fileID]string   // identity → as given
	outPath map[string]int      // cleaned absolute path → output index
	outName map[nameID]int      // directory entry → output index
	outID   map[fileID]int      // identity of an existing destination → output index
	linkID  map[fileID]int      // identity of a symbolic link's target → output index
	dirs    map[string]dirCheck // checked directories by absolute path
	// dirMu: one mutex per output directory, held while a name is created
	// or renamed in it. Goroutines that create names in one directory at
	// once contend for its lock in the kernel, which spins: two
	// goroutines creating 4022 files in one directory took 3 times the
	// wall and 5 times the system time of one (modhash sign, ext4). The
	// writing, hashing and reading back stay parallel.
	dirMu map[string]*sync.Mutex

	small   bool     // InPlace: small outputs after the first skip staging
	mkdirs  bool     // create missing destination directories
	missing []string // directories to create, parents first
	created []string // directories created by this run

	prepMu   sync.Mutex // serializes prepare
	prepared bool       // locked, the journal of a killed run undone: writing may begin
	held     *held      // the locks taken by prepare

	mu        sync.Mutex // guards the fields below and the staging state of outs
	journal   *os.File
	jpath     string
	done      bool // committed or aborted
	committed bool // every output renamed; only old files left to remove
}

// InPlace makes WriteFile write the outputs declared with Outputs (after
// the first output, MaxInPlace bytes at most) without staging them under a
// temporary name: a new output is created at its final name, an existing
// one of the same size is overwritten in place after its old bytes were
// saved in the journal. It halves the file system operations of a run that
// writes thousands of proofs, and a re-run allocates no inode at all; the
// journal still undoes everything (docs/outputs.md). Outputs declared with
// Output, the first among them, are staged and renamed at Commit, after
// the others are complete: a make rule whose target is the first never
// sees it new while others are not.
func (t *Txn) InPlace() { t.small = true }

// MaxInPlace is the largest output InPlace writes without staging: the
// journal holds a copy of each old one.
const MaxInPlace = 64 << 10

// CreateDirs makes the transaction create the missing destination
// directories of the outputs declared after it (when it begins writing;
// Abort removes them again if they are empty). For the others a missing
// directory is an error.
func (t *Txn) CreateDirs() { t.mkdirs = true }

type dirCheck struct {
	id      fileID
	st      *syscall.Stat_t
	err     error
	missing bool // to be created (CreateDirs)
}

// newRunID returns a name no other run uses: PID-HEX-N, the process id, the
// time and 32 random bits, and a counter within the process.
func newRunID() string {
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("%d-%x%x-%d", os.Getpid(), time.Now().UnixNano(), r, runCounter.Add(1))
}

// New starts an empty transaction.
func New() *Txn {
	return &Txn{
		run:     newRunID(),
		inPath:  map[string]string{},
		inID:    map[fileID]string{},
		outPath: map[string]int{},
		outName: map[nameID]int{},
		outID:   map[fileID]int{},
		linkID:  map[fileID]int{},
		dirs:    map[string]dirCheck{},
		dirMu:   map[string]*sync.Mutex{},
	}
}

// Len returns the number of outputs.
func (t *Txn) Len() int { return len(t.outs) }

// Path returns output i's path as declared.
func (t *Txn) Path(i int) string { return t.outs[i].path }

// rename is rename(2). os.Rename first stats the target to refuse renaming
// onto a directory, which rename(2) refuses by itself (EISDIR).
func rename(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose path is the temporary name:
// messages name the real output instead.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
