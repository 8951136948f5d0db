package chain

import (
	"io"

	"github.com/modhash/modhash/internal/modcompress"
	"github.com/modhash/modhash/merkle/leaves"
)

// Compress writes out as module (signature included) compressed in format
// (a key of modcompress.Formats), as kbuild's modules_install does.
func Compress(module, out, format string, inputs []string) error {
	txn, err := newTxn(inputs)
	if err != nil {
		return err
	}
	defer txn.Abort()
	if err := txn.Input(module); err != nil {
		return err
	}
	if _, err := txn.Output(out, 0o644); err != nil {
		return err
	}
	in, err := leaves.OpenModule(module, true)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := txn.Create(0)
	if err != nil {
		return err
	}
	// The whole file, signature included (OpenModule only checks it).
	in.Size = in.Info.Size()
	cr := &countingReader{r: io.NewSectionReader(in.File, 0, in.Size)}
	if err := modcompress.Compress(f, cr, format); err != nil {
		return err
	}
	if err := in.CheckUnchanged(cr.n); err != nil {
		return err
	}
	return txn.Commit(1)
}

// countingReader counts the bytes read, to check that the whole module was.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
