package merkle

import "fmt"

// A FileError is an input file that the format packages (merkle/vmlinux,
// merkle/bootimage, merkle/audit) refuse: the one shape of their errors.
// Its message names the file and the problem; errors.Is matches Kind, the
// package's sentinel for the kind of problem (vmlinux.ErrNotELF,
// bootimage.ErrLayout, ...), and Unwrap returns Err, the error that caused
// this one (a read error, a decompressor's error), when there is one.
type FileError struct {
	Path string // the file (FILE:LINE for a line of a text file)
	Kind error  // what kind of problem: a sentinel, for errors.Is
	Msg  string // the whole message, naming the file
	Err  error  // the cause, or nil
}

// Errorf is the one constructor of a FileError: the message is "PATH: "
// and the formatted problem; kind is for errors.Is, cause (or nil) for
// errors.Unwrap.
func Errorf(path string, kind, cause error, format string, args ...interface{}) error {
	return &FileError{Path: path, Kind: kind, Msg: path + ": " + fmt.Sprintf(format, args...), Err: cause}
}

func (e *FileError) Error() string { return e.Msg }

// Is reports whether target is the error's Kind.
func (e *FileError) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *FileError) Unwrap() error { return e.Err }
