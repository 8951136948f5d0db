// Package worker implements Bazel's persistent worker protocol (the protocol
// buffer form, which every Bazel from 0.x to 9 speaks without flags), so
// that a build runs thousands of small actions in one long-lived process
// instead of one process and one sandbox each.
//
// Bazel starts the worker once with --persistent_worker and then writes
// WorkRequest messages to its stdin and reads WorkResponse messages from its
// stdout, each preceded by its length as a varint (protobuf's delimited
// format). Requests with request_id 0 come one at a time (singleplex);
// non-zero ids come from a multiplex worker and may overlap: Serve then
// handles them concurrently and answers in completion order.
//
// The two messages are small, so they are encoded here by hand (field
// numbers from Bazel's src/main/protobuf/worker_protocol.proto) instead of
// depending on a protobuf library. See docs/workers.md.
package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Request is a WorkRequest.
type Request struct {
	Arguments []string
	Inputs    []Input
	RequestID int32
	// Cancel asks to cancel request RequestID. Bazel only sends it to
	// workers whose actions declare supports-worker-cancellation, which
	// the modhash rules do not.
	Cancel    bool
	Verbosity int32
	// SandboxDir is where a sandboxed multiplex worker must resolve
	// relative paths (Bazel 6+, supports-multiplex-sandboxing only).
	SandboxDir string
}

// Input is one WorkRequest.inputs entry: a path and its digest.
type Input struct {
	Path   string
	Digest []byte
}

// Response is a WorkResponse.
type Response struct {
	ExitCode     int32
	Output       string
	RequestID    int32
	WasCancelled bool
}

// Field numbers of worker_protocol.proto.
const (
	reqArguments  = 1
	reqInputs     = 2
	reqRequestID  = 3
	reqCancel     = 4
	reqVerbosity  = 5
	reqSandboxDir = 6

	inputPath   = 1
	inputDigest = 2

	respExitCode     = 1
	respOutput       = 2
	respRequestID    = 3
	respWasCancelled = 4
)

// Protobuf wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// maxMessage bounds one message (a request carries an action's arguments
// and input list; 64 MiB is far above what Bazel sends for any action).
const maxMessage = 64 << 20

// ErrTruncated reports a message cut short by the end of the stream.
var ErrTruncated = errors.New("worker protocol: truncated message")

// ReadRequest reads one length-delimited WorkRequest. It returns io.EOF
// when the stream ends cleanly between messages (Bazel closed stdin).
func ReadRequest(r *bufio.Reader) (*Request, error) {
	size, err := readVarint(r)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	if size > maxMessage {
		return nil, fmt.Errorf("worker protocol: request of %d bytes exceeds the %d byte limit", size, maxMessage)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, ErrTruncated
	}
	return UnmarshalRequest(buf)
}

// UnmarshalRequest decodes a WorkRequest message (without length prefix).
// Unknown fields are skipped, as protobuf requires, so newer Bazels that
// add fields keep working.
func UnmarshalRequest(b []byte) (*Request, error) {
	req := &Request{}
	err := eachField(b, func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == reqArguments && wire == wireBytes:
			req.Arguments = append(req.Arguments, string(data))
		case num == reqInputs && wire == wireBytes:
			var in Input
			err := eachField(data, func(num int, wire int, _ uint64, data []byte) error {
				switch {
				case num == inputPath && wire == wireBytes:
					in.Path = string(data)
				case num == inputDigest && wire == wireBytes:
					in.Digest = append([]byte(nil), data...)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("inputs: %w", err)
			}
			req.Inputs = append(req.Inputs, in)
		case num == reqRequestID && wire == wireVarint:
			req.RequestID = int32(v)
		case num == reqCancel && wire == wireVarint:
			req.Cancel = v != 0
		case num == reqVerbosity && wire == wireVarint:
			req.Verbosity = int32(v)
		case num == reqSandboxDir && wire == wireBytes:
			req.SandboxDir = string(data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// Marshal encodes a WorkRequest (used by tests and by anything that drives
// a worker, such as a test harness standing in for Bazel).
func (req *Request) Marshal() []byte {
	var b []byte
	for _, a := range req.Arguments {
		b = appendBytesField(b, reqArguments, []byte(a))
	}
	for _, in := range req.Inputs {
		var m []byte
		if in.Path != "" {
			m = appendBytesField(m, inputPath, []byte(in.Path))
		}
		if len(in.Digest) > 0 {
			m = appendBytesField(m, inputDigest, in.Digest)
		}
		b = appendBytesField(b, reqInputs, m)
	}
	if req.RequestID != 0 {
		b = appendVarintField(b, reqRequestID, uint64(int64(req.RequestID)))
	}
	if req.Cancel {
		b = appendVarintField(b, reqCancel, 1)
	}
	if req.Verbosity != 0 {
		b = appendVarintField(b, reqVerbosity, uint64(int64(req.Verbosity)))
	}
	if req.SandboxDir != "" {
		b = appendBytesField(b, reqSandboxDir, []byte(req.SandboxDir))
	}
	return b
}

// Marshal encodes a WorkResponse (without length prefix). Fields with
// their default value are omitted, as proto3 does.
func (resp *Response) Marshal() []byte {
	var b []byte
	if resp.ExitCode != 0 {
		// int32 is sign-extended to 64 bits on the wire.
		b = appendVarintField(b, respExitCode, uint64(int64(resp.ExitCode)))
	}
	if resp.Output != "" {
		b = appendBytesField(b, respOutput, []byte(resp.Output))
	}
	if resp.RequestID != 0 {
		b = appendVarintField(b, respRequestID, uint64(int64(resp.RequestID)))
	}
	if resp.WasCancelled {
		b = appendVarintField(b, respWasCancelled, 1)
	}
	return b
}

// UnmarshalResponse decodes a WorkResponse message (without length prefix).
func UnmarshalResponse(b []byte) (*Response, error) {
	resp := &Response{}
	err := eachField(b, func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == respExitCode && wire == wireVarint:
			resp.ExitCode = int32(v)
		case num == respOutput && wire == wireBytes:
			resp.Output = string(data)
		case num == respRequestID && wire == wireVarint:
			resp.RequestID = int32(v)
		case num == respWasCancelled && wire == wireVarint:
			resp.WasCancelled = v != 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// WriteDelimited writes msg preceded by its length as a varint.
func WriteDelimited(w io.Writer, msg []byte) error {
	b := appendVarint(make([]byte, 0, len(msg)+binaryMaxVarint), uint64(len(msg)))
	b = append(b, msg...)
	_, err := w.Write(b)
	return err
}

// ReadDelimited reads one length-delimited message.
func ReadDelimited(r *bufio.Reader) ([]byte, error) {
	size, err := readVarint(r)
	if err != nil {
		return nil, err
	}
	if size > maxMessage {
		return nil, fmt.Errorf("worker protocol: message of %d bytes exceeds the %d byte limit", size, maxMessage)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, ErrTruncated
	}
	return buf, nil
}

// Handler runs one request's arguments and returns its exit code; whatever
// it writes to out becomes the response's output (Bazel prints it with the
// action, as it would print a process's stdout and stderr).
type Handler func(args []string, out io.Writer) int

// Serve answers requests from in on out until in ends, and returns nil
// then. It returns an error for a malformed stream or a failed write: the
// worker should then exit non-zero, and Bazel reports the worker as broken
// and, if configured to, retries the action without it.
//
// Multiplex requests (non-zero request_id) run concurrently; responses are
// written whole, one at a time. A singleplex request (request_id 0) is
// answered before the next request is read. A request with a sandbox_dir is
// refused (exit code 1 with an explanation): the rules never declare
// supports-multiplex-sandboxing, so Bazel sends none.
func Serve(in io.Reader, out io.Writer, handle Handler) error {
	r := bufio.NewReader(in)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var writeErr error
	respond := func(resp *Response) {
		mu.Lock()
		defer mu.Unlock()
		if writeErr == nil {
			writeErr = WriteDelimited(out, resp.Marshal())
		}
	}
	run := func(req *Request) {
		resp := &Response{RequestID: req.RequestID}
		if req.SandboxDir != "" {
			resp.ExitCode = 1
			resp.Output = fmt.Sprintf("modhash worker: request %d has sandbox_dir %q; multiplex sandboxing is not supported\n", req.RequestID, req.SandboxDir)
		} else {
			var buf syncBuffer
			resp.ExitCode = int32(handle(req.Arguments, &buf))
			resp.Output = buf.String()
		}
		respond(resp)
	}
	for {
		req, err := ReadRequest(r)
		if err == io.EOF {
			wg.Wait()
			return writeErr
		}
		if err != nil {
			wg.Wait()
			return err
		}
		mu.Lock()
		failed := writeErr
		mu.Unlock()
		if failed != nil {
			wg.Wait()
			return failed
		}
		if req.Cancel {
			// Not advertised (no supports-worker-cancellation): nothing to
			// cancel; the request it names is answered when it finishes.
			continue
		}
		if req.RequestID == 0 {
			run(req)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(req)
		}()
	}
}

// syncBuffer collects a request's output; handlers may write to it from
// several goroutines (modhash hashes in parallel).
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// --- protobuf wire format --------------------------------------------------

const binaryMaxVarint = 10

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarintField(b []byte, num int, v uint64) []byte {
	b = appendVarint(b, uint64(num)<<3|wireVarint)
	return appendVarint(b, v)
}

func appendBytesField(b []byte, num int, data []byte) []byte {
	b = appendVarint(b, uint64(num)<<3|wireBytes)
	b = appendVarint(b, uint64(len(data)))
	return append(b, data...)
}

// readVarint reads a varint from r: io.EOF if r ends before its first
// byte, ErrTruncated if it ends inside it.
func readVarint(r io.ByteReader) (uint64, error) {
	var v uint64
	for i := 0; i < binaryMaxVarint; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i == 0 && err == io.EOF {
				return 0, io.EOF
			}
			if err == io.EOF {
				return 0, ErrTruncated
			}
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("worker protocol: varint longer than 10 bytes")
}

// decodeVarint decodes a varint at the start of b and returns it and its
// length (0 if b is truncated or the varint is too long).
func decodeVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < binaryMaxVarint && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// eachField calls f for every field of the message b: varint fields with
// their value, length-delimited ones with their bytes; fixed 32- and 64-bit
// fields are skipped. Groups (wire types 3 and 4) are not used by the
// worker protocol and are rejected.
func eachField(b []byte, f func(num int, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := decodeVarint(b)
		if n == 0 {
			return ErrTruncated
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		if num <= 0 {
			return fmt.Errorf("worker protocol: invalid field number %d", num)
		}
		switch wire {
		case wireVarint:
			v, n := decodeVarint(b)
			if n == 0 {
				return ErrTruncated
			}
			b = b[n:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case wireBytes:
			size, n := decodeVarint(b)
			if n == 0 || size > uint64(len(b)-n) {
				return ErrTruncated
			}
			data := b[n : n+int(size)]
			b = b[n+int(size):]
			if err := f(num, wire, 0, data); err != nil {
				return err
			}
		case wire64:
			if len(b) < 8 {
				return ErrTruncated
			}
			b = b[8:]
		case wire32:
			if len(b) < 4 {
				return ErrTruncated
			}
			b = b[4:]
		default:
			return fmt.Errorf("worker protocol: unsupported wire type %d (field %d)", wire, num)
		}
	}
	return nil
}
