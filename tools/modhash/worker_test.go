package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modhash/modhash/internal/worker"
)

// workerRun sends reqs to an in-process worker, as Bazel would over a pipe,
// and returns the responses by request id.
func workerRun(t *testing.T, reqs ...*worker.Request) map[int32]worker.Response {
	t.Helper()
	return workerRunWith(t, []string{"--persistent_worker"}, reqs...)
}

// workerRunWith starts the worker with startup arguments args.
func workerRunWith(t *testing.T, args []string, reqs ...*worker.Request) map[int32]worker.Response {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errBuf bytes.Buffer
	done := make(chan int)
	go func() {
		code := serveWorker(args, inR, outW, &errBuf)
		outW.Close()
		done <- code
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, r := range reqs {
			if err := worker.WriteDelimited(inW, r.Marshal()); err != nil {
				t.Error(err)
			}
		}
		inW.Close()
	}()
	got := map[int32]worker.Response{}
	r := bufio.NewReader(outR)
	for {
		msg, err := worker.ReadDelimited(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading responses: %v", err)
		}
		resp, err := worker.UnmarshalResponse(msg)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[resp.RequestID]; dup {
			t.Errorf("two responses for request %d", resp.RequestID)
		}
		got[resp.RequestID] = *resp
	}
	wg.Wait()
	if code := <-done; code != 0 {
		t.Fatalf("worker exit status %d: %s", code, errBuf.String())
	}
	return got
}

// The worker writes exactly the bytes the one-shot command writes, for
// every request of a multiplexed stream, and reports failures per request.
func TestWorkerOutputsEqualOneShot(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	const n = 12
	for _, d := range []string{"one", "work"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var reqs []*worker.Request
	for i := 0; i < n; i++ {
		mod := fmt.Sprintf("m/mod%d.ko", i)
		writeFile(t, mod, bytes.Repeat([]byte{byte(i), 0x7f, 'E', 'L', 'F'}, 1000+i*777))
		oneShot := []string{"leaf", "-o", fmt.Sprintf("one/%d.json", i), "-pos", fmt.Sprint(i), "-name", mod, mod}
		if code, _, stderr := modhash(t, append([]string(nil), oneShot...)...); code != 0 {
			t.Fatalf("one-shot leaf %d: exit %d: %s", i, code, stderr)
		}
		args := append([]string(nil), oneShot...)
		args[2] = fmt.Sprintf("work/%d.json", i)
		reqs = append(reqs, &worker.Request{RequestID: int32(i + 1), Arguments: args})
	}
	// Compression through the worker too, and two failing requests.
	writeFile(t, "c/in.ko", bytes.Repeat([]byte("module bytes "), 5000))
	if code, _, stderr := modhash(t, "compress", "-format", "xz", "-o", "one/in.ko.xz", "c/in.ko"); code != 0 {
		t.Fatalf("one-shot compress: %s", stderr)
	}
	reqs = append(reqs,
		&worker.Request{RequestID: 100, Arguments: []string{"compress", "-format", "xz", "-o", "work/in.ko.xz", "c/in.ko"}},
		&worker.Request{RequestID: 101, Arguments: []string{"leaf", "-o", "work/missing.json", "-pos", "0", "m/missing.ko"}},
		&worker.Request{RequestID: 102, Arguments: []string{"leaf", "-pos", "0", "m/mod0.ko"}},
	)
	got := workerRun(t, reqs...)
	if len(got) != len(reqs) {
		t.Fatalf("got %d responses, want %d", len(got), len(reqs))
	}
	for i := 0; i < n; i++ {
		if r := got[int32(i+1)]; r.ExitCode != 0 || r.Output != "" {
			t.Errorf("request %d: exit %d, output %q", i+1, r.ExitCode, r.Output)
		}
		one, work := readFile(t, fmt.Sprintf("one/%d.json", i)), readFile(t, fmt.Sprintf("work/%d.json", i))
		if !bytes.Equal(one, work) {
			t.Errorf("leaf %d: worker wrote %q, one-shot %q", i, work, one)
		}
	}
	if !bytes.Equal(readFile(t, "one/in.ko.xz"), readFile(t, "work/in.ko.xz")) {
		t.Errorf("compressed module differs between worker and one-shot")
	}
	// Status 2: the command could not do its job (docs/exit-codes.md).
	if r := got[101]; r.ExitCode != 2 || !strings.Contains(r.Output, "m/missing.ko") {
		t.Errorf("missing module: exit %d, output %q; want 2 naming the file", r.ExitCode, r.Output)
	}
	if _, err := os.Stat("work/missing.json"); !os.IsNotExist(err) {
		t.Errorf("failed request left work/missing.json behind (err %v)", err)
	}
	if r := got[102]; r.ExitCode != 2 || !strings.Contains(r.Output, "-o is required") {
		t.Errorf("usage error: exit %d, output %q; want 2 with the usage message", r.ExitCode, r.Output)
	}
}

// "modhash @FILE" runs the command line in FILE: what the rules' actions
// run when no worker is used.
func TestWholeCommandLineInParamFile(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "a.ko")
	writeFile(t, mod, bytes.Repeat([]byte("x"), 4096))
	params := filepath.Join(dir, "leaf.params")
	writeFile(t, params, []byte(strings.Join([]string{"leaf", "-o", filepath.Join(dir, "p.json"), "-pos", "3", mod}, "\n")+"\n"))
	if code, _, stderr := modhash(t, "@"+params); code != 0 {
		t.Fatalf("modhash @params: exit %d: %s", code, stderr)
	}
	if code, _, stderr := modhash(t, "leaf", "-o", filepath.Join(dir, "d.json"), "-pos", "3", mod); code != 0 {
		t.Fatalf("modhash leaf: exit %d: %s", code, stderr)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "p.json")), readFile(t, filepath.Join(dir, "d.json"))) {
		t.Errorf("@params and the plain command line wrote different leaves")
	}
	code, _, stderr := modhash(t, "@"+filepath.Join(dir, "nope.params"))
	if code != 2 || !strings.Contains(stderr, "nope.params") {
		t.Errorf("missing params file: exit %d, stderr %q; want 2 naming the file", code, stderr)
	}
}

// A worker started as "modhash leaf --persistent_worker" (an action
// "modhash leaf @FILE") puts "leaf" before every request's arguments.
func TestWorkerStartupArgs(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	writeFile(t, "a.ko", bytes.Repeat([]byte("abc"), 3000))
	if code, _, stderr := modhash(t, "leaf", "-o", "one.json", "-pos", "1", "a.ko"); code != 0 {
		t.Fatal(stderr)
	}
	got := workerRunWith(t, []string{"leaf", "--persistent_worker"},
		&worker.Request{RequestID: 1, Arguments: []string{"-o", "work.json", "-pos", "1", "a.ko"}})
	if r := got[1]; r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Output)
	}
	if !bytes.Equal(readFile(t, "one.json"), readFile(t, "work.json")) {
		t.Errorf("worker with startup argument leaf wrote another leaf than modhash leaf")
	}
}

func TestIsWorker(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		want    bool
		startup []string
	}{
		{[]string{"--persistent_worker"}, true, nil},
		{[]string{"tree", "--persistent_worker"}, true, []string{"tree"}},
		{[]string{"sign", "--persistent_worker", "--extra"}, true, []string{"sign", "--extra"}},
		{nil, false, nil},
		{[]string{"leaf", "-o", "x", "m.ko"}, false, nil},
	} {
		if got := isWorker(tt.args); got != tt.want {
			t.Errorf("isWorker(%q) = %v, want %v", tt.args, got, tt.want)
		}
		if got := startupArgs(tt.args); tt.want && strings.Join(got, " ") != strings.Join(tt.startup, " ") {
			t.Errorf("startupArgs(%q) = %q, want %q", tt.args, got, tt.startup)
		}
	}
}
