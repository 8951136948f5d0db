module github.com/modhash/modhash

go 1.19

require (
	github.com/bazelbuild/buildtools v0.0.0-20220531122519-a43aed7014c8
	github.com/klauspost/compress v1.17.4
	github.com/minio/sha256-simd v1.0.1
	github.com/pierrec/lz4/v4 v4.1.21
	github.com/ulikunitz/xz v0.5.12
	github.com/xi2/xz v0.0.0-20171230120015-48954b6210f8
)

require (
	github.com/klauspost/cpuid/v2 v2.2.3 // indirect
	golang.org/x/sys v0.0.0-20220704084225-05e143d24a9e // indirect
)
