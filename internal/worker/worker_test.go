package worker

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Encodings worked out by hand from the protobuf encoding rules
// (key = field<<3 | wire type; int32 sign-extended to a 10-byte varint).
func TestResponseWireFormat(t *testing.T) {
	tests := []struct {
		name string
		resp Response
		hex  string
	}{
		{"empty", Response{}, ""},
		{"exit 1 with output and id", Response{ExitCode: 1, Output: "x", RequestID: 3}, "08 01 12 01 78 18 03"},
		{"negative exit code", Response{ExitCode: -1}, "08 ff ff ff ff ff ff ff ff ff 01"},
		{"two-byte varint id", Response{RequestID: 300}, "18 ac 02"},
		{"was_cancelled", Response{RequestID: 1, WasCancelled: true}, "18 01 20 01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.resp.Marshal()
			if want := mustHex(t, tt.hex); !bytes.Equal(got, want) {
				t.Fatalf("Marshal = % x, want % x", got, want)
			}
			back, err := UnmarshalResponse(got)
			if err != nil {
				t.Fatal(err)
			}
			if *back != tt.resp {
				t.Errorf("round trip = %+v, want %+v", *back, tt.resp)
			}
		})
	}
}

func TestUnmarshalRequest(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    *Request
		wantErr string
	}{
		{"empty", "", &Request{}, ""},
		{"arguments and id", "0a 04 6c 65 61 66 0a 02 2d 6f 18 07",
			&Request{Arguments: []string{"leaf", "-o"}, RequestID: 7}, ""},
		{"input with digest", "12 07 0a 01 61 12 02 01 02",
			&Request{Inputs: []Input{{Path: "a", Digest: []byte{1, 2}}}}, ""},
		{"cancel, verbosity, sandbox_dir", "18 02 20 01 28 0a 32 01 73",
			&Request{RequestID: 2, Cancel: true, Verbosity: 10, SandboxDir: "s"}, ""},
		// Fields a newer Bazel might add: varint 15, bytes 16, fixed64 17,
		// fixed32 18; all skipped.
		{"unknown fields skipped", "78 05 82 01 02 ff ff 89 01 0102030405060708 95 01 01020304 0a 01 78",
			&Request{Arguments: []string{"x"}}, ""},
		{"truncated bytes field", "0a 05 61", nil, "truncated"},
		{"truncated varint", "18 80", nil, "truncated"},
		{"truncated key", "80", nil, "truncated"},
		{"truncated fixed64", "89 01 0102", nil, "truncated"},
		{"group wire type", "0b", nil, "unsupported wire type 3"},
		{"field number 0", "00 01", nil, "invalid field number 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalRequest(mustHex(t, tt.hex))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	want := &Request{
		Arguments:  []string{"leaf", "-o", "bazel-out/k8-fastbuild/bin/x.json", "", "ünïcode"},
		Inputs:     []Input{{Path: "a/b.ko", Digest: []byte("0123456789abcdef0123456789abcdef")}, {Path: "c"}},
		RequestID:  -5,
		Verbosity:  10,
		SandboxDir: "sandbox/1",
	}
	var stream bytes.Buffer
	if err := WriteDelimited(&stream, want.Marshal()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequest(bufio.NewReader(&stream))
	if err != nil {
		t.Fatal(err)
	}
	// An empty argument is still an element: protobuf repeated strings keep it.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := ReadRequest(bufio.NewReader(&stream)); err != io.EOF {
		t.Errorf("after the last message: err = %v, want io.EOF", err)
	}
}

func TestReadRequestErrors(t *testing.T) {
	tests := []struct {
		name, hex, want string
	}{
		{"length without body", "05 0a", "truncated"},
		{"length cut short", "80", "truncated"},
		{"oversized", "ffffffff0f", "exceeds"},
		{"varint too long", "ffffffffffffffffffff01", "longer than 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRequest(bufio.NewReader(bytes.NewReader(mustHex(t, tt.hex))))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// stream encodes requests as Bazel writes them to the worker's stdin.
func stream(t *testing.T, reqs ...*Request) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	for _, r := range reqs {
		if err := WriteDelimited(&b, r.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
	return &b
}

func responses(t *testing.T, out []byte) []Response {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(out))
	var got []Response
	for {
		msg, err := ReadDelimited(r)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("reading responses: %v", err)
		}
		resp, err := UnmarshalResponse(msg)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *resp)
	}
}

func TestServeSingleplex(t *testing.T) {
	in := stream(t,
		&Request{Arguments: []string{"ok", "a"}},
		&Request{Arguments: []string{"fail"}},
		&Request{Arguments: []string{"ok", "b"}},
	)
	var calls [][]string
	handle := func(args []string, out io.Writer) int {
		calls = append(calls, args)
		if args[0] == "fail" {
			fmt.Fprintln(out, "modhash fail: broken")
			return 1
		}
		fmt.Fprintf(out, "did %s\n", args[1])
		return 0
	}
	var out bytes.Buffer
	if err := Serve(in, &out, handle); err != nil {
		t.Fatal(err)
	}
	want := []Response{
		{Output: "did a\n"},
		{ExitCode: 1, Output: "modhash fail: broken\n"},
		{Output: "did b\n"},
	}
	if got := responses(t, out.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("responses = %+v, want %+v", got, want)
	}
	if len(calls) != 3 {
		t.Errorf("handler called %d times, want 3", len(calls))
	}
}

// Request 1 cannot finish before request 2 has: only a worker that runs
// multiplex requests concurrently answers at all, and it answers 2 first.
func TestServeMultiplexRunsConcurrently(t *testing.T) {
	in := stream(t,
		&Request{RequestID: 1, Arguments: []string{"wait"}},
		&Request{RequestID: 2, Arguments: []string{"release"}},
	)
	release := make(chan struct{})
	handle := func(args []string, out io.Writer) int {
		switch args[0] {
		case "wait":
			select {
			case <-release:
				fmt.Fprint(out, "waited")
			case <-time.After(10 * time.Second):
				// A worker that runs requests one after another gets here.
				fmt.Fprint(out, "request 2 never ran while request 1 was running")
				return 1
			}
		case "release":
			fmt.Fprint(out, "released")
			defer close(release)
		}
		return 0
	}
	var out lockedBuffer
	if err := Serve(in, &out, handle); err != nil {
		t.Fatal(err)
	}
	got := responses(t, out.Bytes())
	if len(got) != 2 {
		t.Fatalf("got %d responses, want 2: %+v", len(got), got)
	}
	byID := map[int32]string{}
	for _, r := range got {
		byID[r.RequestID] = r.Output
	}
	if byID[1] != "waited" || byID[2] != "released" {
		t.Errorf("responses = %+v, want request 1 waited and request 2 released", got)
	}
}

func TestServeManyMultiplexRequests(t *testing.T) {
	const n = 200
	var reqs []*Request
	for i := 1; i <= n; i++ {
		reqs = append(reqs, &Request{RequestID: int32(i), Arguments: []string{fmt.Sprint(i)}})
	}
	handle := func(args []string, out io.Writer) int {
		fmt.Fprint(out, "out ", args[0])
		return len(args[0])
	}
	var out lockedBuffer
	if err := Serve(stream(t, reqs...), &out, handle); err != nil {
		t.Fatal(err)
	}
	got := responses(t, out.Bytes())
	if len(got) != n {
		t.Fatalf("got %d responses, want %d", len(got), n)
	}
	seen := map[int32]bool{}
	for _, r := range got {
		id := fmt.Sprint(r.RequestID)
		if seen[r.RequestID] || r.Output != "out "+id || r.ExitCode != int32(len(id)) {
			t.Errorf("bad or repeated response %+v", r)
		}
		seen[r.RequestID] = true
	}
}

func TestServeRefusesSandboxDir(t *testing.T) {
	called := false
	handle := func(args []string, out io.Writer) int { called = true; return 0 }
	var out bytes.Buffer
	if err := Serve(stream(t, &Request{RequestID: 4, SandboxDir: "sb/4", Arguments: []string{"leaf"}}), &out, handle); err != nil {
		t.Fatal(err)
	}
	got := responses(t, out.Bytes())
	if called || len(got) != 1 || got[0].ExitCode != 1 || got[0].RequestID != 4 ||
		!strings.Contains(got[0].Output, "multiplex sandboxing is not supported") {
		t.Errorf("called = %v, responses = %+v; want one refusal for request 4", called, got)
	}
}

func TestServeIgnoresCancel(t *testing.T) {
	handle := func(args []string, out io.Writer) int { return 0 }
	var out bytes.Buffer
	in := stream(t, &Request{RequestID: 1, Cancel: true}, &Request{RequestID: 2, Arguments: []string{"x"}})
	if err := Serve(in, &out, handle); err != nil {
		t.Fatal(err)
	}
	if got := responses(t, out.Bytes()); len(got) != 1 || got[0].RequestID != 2 {
		t.Errorf("responses = %+v, want only request 2's", got)
	}
}

func TestServeMalformedStream(t *testing.T) {
	in := bytes.NewBuffer(append(stream(t, &Request{Arguments: []string{"a"}}).Bytes(), 0x05, 0x0a))
	var out bytes.Buffer
	err := Serve(in, &out, func(args []string, out io.Writer) int { return 0 })
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if got := responses(t, out.Bytes()); len(got) != 1 {
		t.Errorf("the complete request before the bad one got %d responses, want 1", len(got))
	}
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("stdout closed") }

func TestServeWriteError(t *testing.T) {
	in := stream(t, &Request{Arguments: []string{"a"}}, &Request{Arguments: []string{"b"}})
	err := Serve(in, failingWriter{}, func(args []string, out io.Writer) int { return 0 })
	if err == nil || !strings.Contains(err.Error(), "stdout closed") {
		t.Fatalf("err = %v, want the write error", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Bytes()
}
