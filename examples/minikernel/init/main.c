// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in kernel image: never run, only linked so that it has the ELF
 * layout of vmlinux.unstripped (text, read-only data with .module_hashes,
 * data, bss).
 */
#include <linux/module_hashes.h>

static char log_buf[256];
static unsigned long log_len;
static char heap[4096];
static unsigned long heap_used;

int printk(const char *fmt, ...)
{
	unsigned long n = 0;

	while (fmt[n] && log_len < sizeof(log_buf))
		log_buf[log_len++] = fmt[n++];
	return (int)n;
}

void *kmalloc(unsigned long size, unsigned int flags)
{
	void *p;

	(void)flags;
	size = (size + 15) & ~15ul;
	if (size > sizeof(heap) - heap_used)
		return 0;
	p = heap + heap_used;
	heap_used += size;
	return p;
}

void kfree(const void *p)
{
	(void)p;
}

/* Reads the root so that the kernel "uses" it, as module loading does. */
unsigned int module_hashes_levels(void)
{
	return module_hashes_root.levels;
}

void start_kernel(void)
{
	printk("minikernel: module hashes levels ");
	for (;;)
		;
}

void _start(void)
{
	start_kernel();
}
