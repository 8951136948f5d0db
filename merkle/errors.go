package merkle

// A FileError is an input file that the format packages (merkle/vmlinux,
// merkle/bootimage, merkle/audit) refuse: the one shape of their errors.
// Its message names the file and the problem; errors.Is matches Kind, the
// package's sentinel for the kind of problem (vmlinux.ErrNotELF,
// bootimage.ErrLayout, ...), and Unwrap returns Err, the error that caused
// this one (a read error, a decompressor's error), when there is one.
type FileError struct {
	Path string // the file
	Kind error  // what kind of problem: a sentinel, for errors.Is
	Msg  string // the whole message, naming the file
	Err  error  // the cause, or nil
}

func (e *FileError) Error() string { return e.Msg }

// Is reports whether target is the error's Kind.
func (e *FileError) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *FileError) Unwrap() error { return e.Err }
