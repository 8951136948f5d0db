package leaves

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modhash/modhash/internal/plainfile"
	"github.com/modhash/modhash/merkle"
)

// A Cache remembers the leaves of modules that have not changed since they
// were hashed, so that a re-run over a kernel's thousands of unchanged
// modules reads none of them. A module's entry is its path, position,
// device, inode, size, modification time and status change time (ctime,
// which no program can set back). An entry is trusted only if all of these
// are the same; it is stored only if the module's mtime and ctime were at
// least CacheMargin older than the start of the run that hashed it, so
// that a rewrite of the same size within the file system's timestamp
// granularity (or during the read) can never look unchanged: any later
// change gets a later ctime. Signed modules (hashed with RemoveSignature)
// are never cached.
type Cache struct {
	old   map[string]cacheEntry // loaded, by path
	start time.Time             // when this run began to look at modules
	new   []cacheEntry          // for the next run, in no particular order
}

// CacheMargin is how much older than the run a module's times must be for
// its leaf to be stored: larger than any timestamp granularity (FAT's is
// two seconds) and than a clock tick.
var CacheMargin = 2 * time.Second

type cacheEntry struct {
	path               string
	pos                uint32
	dev, ino           uint64
	size, mtime, ctime int64
	leaf               merkle.Digest
}

const cacheHeader = "modhash-leaves 1\n"

// maxCache bounds the cache read back: a million modules take about 150 MB.
const maxCache = 1 << 30

// LoadCache reads a cache written by Marshal. A missing, unreadable or
// malformed cache is an empty one: the cache only ever saves work. Only
// what is not a cache at all is an error, naming the file, found without
// blocking or reading without bound: a FIFO, a device (or a link to one),
// a directory, a file larger than any cache.
func LoadCache(path string) (*Cache, error) {
	c := &Cache{old: map[string]cacheEntry{}}
	data, err := plainfile.ReadFile(path, maxCache)
	switch {
	case errors.Is(err, plainfile.ErrNotRegular):
		return nil, fmt.Errorf("leaf cache: %w", err)
	case err != nil && !os.IsNotExist(err) && !os.IsPermission(err):
		return nil, fmt.Errorf("leaf cache: %w", err)
	case err != nil || !bytes.HasPrefix(data, []byte(cacheHeader)):
		return c, nil
	}
	for _, line := range strings.Split(string(data[len(cacheHeader):]), "\n") {
		if line == "" {
			continue
		}
		e, ok := parseCacheEntry(line)
		if !ok {
			return &Cache{old: map[string]cacheEntry{}}, nil
		}
		c.old[e.path] = e
	}
	return c, nil
}

// parseCacheEntry parses "POS DEV INO SIZE MTIME CTIME LEAF PATH".
func parseCacheEntry(line string) (cacheEntry, bool) {
	var e cacheEntry
	f := strings.SplitN(line, " ", 8)
	if len(f) != 8 {
		return e, false
	}
	var n [6]uint64
	for i := range n {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return e, false
		}
		n[i] = v
	}
	if n[0] > 1<<32-1 {
		return e, false
	}
	e.pos, e.dev, e.ino = uint32(n[0]), n[1], n[2]
	e.size, e.mtime, e.ctime = int64(n[3]), int64(n[4]), int64(n[5])
	leaf, err := hex.DecodeString(f[6])
	if err != nil || len(leaf) != merkle.HashSize {
		return e, false
	}
	copy(e.leaf[:], leaf)
	p, err := strconv.Unquote(f[7])
	if err != nil || p == "" {
		return e, false
	}
	e.path = p
	return e, true
}

// Marshal returns the cache for the next run: the entries of this run's
// modules that may be trusted (see Cache), in position order.
func (c *Cache) Marshal() []byte {
	sort.Slice(c.new, func(i, j int) bool { return c.new[i].pos < c.new[j].pos })
	b := make([]byte, 0, len(cacheHeader)+len(c.new)*(100+2*merkle.HashSize))
	b = append(b, cacheHeader...)
	for _, e := range c.new {
		b = strconv.AppendUint(b, uint64(e.pos), 10)
		for _, v := range [...]uint64{e.dev, e.ino, uint64(e.size), uint64(e.mtime), uint64(e.ctime)} {
			b = append(b, ' ')
			b = strconv.AppendUint(b, v, 10)
		}
		b = append(b, ' ')
		n := len(b)
		b = append(b, make([]byte, 2*merkle.HashSize)...)
		hex.Encode(b[n:], e.leaf[:]) // (hex.AppendEncode needs Go 1.22)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.path)
		b = append(b, '\n')
	}
	return b
}

// Len returns the number of entries Marshal writes.
func (c *Cache) Len() int { return len(c.new) }

// begin is called once before the run looks at any module.
func (c *Cache) begin() { c.start = time.Now() }

// finish records the trustworthy entries of a run's leaves.
func (c *Cache) finish(inputs []Input, out []Leaf) {
	c.new = make([]cacheEntry, 0, len(out))
	for i, l := range out {
		if l.Removed != nil || l.Info == nil {
			continue
		}
		e, ok := entryOf(inputs[i], l.Info)
		if !ok || !c.trusted(e) {
			continue
		}
		e.leaf = l.Leaf
		c.new = append(c.new, e)
	}
}

// entryOf returns the cache entry describing in's file as fi shows it.
func entryOf(in Input, fi os.FileInfo) (cacheEntry, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return cacheEntry{}, false
	}
	return cacheEntry{path: in.Path, pos: in.Pos, dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime: syscall.TimespecToNsec(st.Mtim), ctime: syscall.TimespecToNsec(st.Ctim)}, true
}

// lookup returns the cached leaf of in if its file is unchanged.
func (c *Cache) lookup(in Input) (Leaf, bool) {
	e, ok := c.old[in.Path]
	if !ok || e.pos != in.Pos {
		return Leaf{}, false
	}
	fi, err := os.Stat(in.Path)
	if err != nil {
		return Leaf{}, false
	}
	now, ok := entryOf(in, fi)
	if !ok {
		return Leaf{}, false
	}
	now.leaf = e.leaf
	if now != e {
		return Leaf{}, false
	}
	return Leaf{Leaf: e.leaf, Size: e.size, Info: fi}, true
}

// trusted reports whether an entry made now may be stored.
func (c *Cache) trusted(e cacheEntry) bool {
	limit := c.start.Add(-CacheMargin).UnixNano()
	return e.mtime < limit && e.ctime < limit
}
