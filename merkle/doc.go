// Package merkle implements the Linux kernel's module hashes format
// (CONFIG_MODULE_HASHES): the leaf and node hashes, the Merkle tree over all
// modules in modules.order order, the proof appended to each module with its
// signature header and marker, the 36-byte root record embedded in vmlinux,
// and a verifier that repeats the kernel's load-time check step by step.
//
// Everything here must match what the kernel accepts byte for byte; the
// format is defined in docs/format.md, and the tests check every
// known-answer vector. No other package of this project re-implements
// any part of the format.
//
// A tree over three modules:
//
//	root   = node(n01, node(l2, l2))     levels = 2
//	n01    = node(l0, l1)
//	l<pos> = SHA-256(0x01 || be32(pos) || module bytes)
//	node   = SHA-256(0x02 || left || right)
//
// The proof for module 2 is pos=2, then l2 (its own leaf: it is the odd last
// one), then n01.
package merkle
