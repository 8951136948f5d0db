package atomicfile

import (
	"errors"
	"io"
	"os"
)

// The write methods of File report errors (disk full, file too large)
// against the output's name, not the temporary file's, which the user
// never asked for and which is gone once the error is reported.

// Write writes to the temporary file.
func (f *File) Write(b []byte) (int, error) {
	n, err := f.File.Write(b)
	return n, f.targetErr(err)
}

// WriteAt writes to the temporary file at off.
func (f *File) WriteAt(b []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(b, off)
	return n, f.targetErr(err)
}

// WriteString writes s to the temporary file.
func (f *File) WriteString(s string) (int, error) {
	n, err := f.File.WriteString(s)
	return n, f.targetErr(err)
}

// ReadFrom copies r into the temporary file (with copy_file_range where
// the kernel can, like os.File).
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	n, err := f.File.ReadFrom(r)
	return n, f.targetErr(err)
}

// targetErr names the output instead of its temporary file, and says what
// failed, not which system call os.File chose ("write OUT: file too
// large", not "write OUT: copy_file_range: file too large").
func (f *File) targetErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == f.File.Name() {
		cause := pe.Err
		var se *os.SyscallError
		if errors.As(cause, &se) {
			cause = se.Err
		}
		return &os.PathError{Op: pe.Op, Path: f.target, Err: cause}
	}
	return err
}
