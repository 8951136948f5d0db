// Command ldscript prints the linker script of the tests/elftest fixture
// (elftest.LinkerScript), so that shell benchmarks link their vmlinux the
// same way: tests/bench/patch_bench.sh.
package main

import (
	"fmt"

	"github.com/modhash/modhash/tests/elftest"
)

func main() { fmt.Print(elftest.LinkerScript) }
