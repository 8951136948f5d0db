/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of <linux/module.h> for the minikernel's modules: .modinfo
 * strings ("key=value\0", as modpost and modinfo read them) and the
 * init/exit entry points.
 */
#ifndef _LINUX_MINIMOD_H
#define _LINUX_MINIMOD_H

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)
#define __PASTE_1(a, b) a##b
#define __PASTE(a, b) __PASTE_1(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)

#define __MODULE_INFO(tag, info)                                   \
	static const char __UNIQUE_ID(tag)[]                       \
		__attribute__((section(".modinfo"), used, aligned(1))) = \
			__stringify(tag) "=" info

#define MODULE_LICENSE(l) __MODULE_INFO(license, l)
#define MODULE_AUTHOR(a) __MODULE_INFO(author, a)
#define MODULE_DESCRIPTION(d) __MODULE_INFO(description, d)
#define MODULE_ALIAS(a) __MODULE_INFO(alias, a)
#define MODULE_NAME(n) __MODULE_INFO(name, n)

typedef int (*initcall_t)(void);
typedef void (*exitcall_t)(void);

#define module_init(fn) \
	int init_module(void) __attribute__((alias(#fn)))
#define module_exit(fn) \
	void cleanup_module(void) __attribute__((alias(#fn)))

/* Provided by the kernel image; modules only reference them. */
extern int printk(const char *fmt, ...);
extern void *kmalloc(unsigned long size, unsigned int flags);
extern void kfree(const void *p);

#define GFP_KERNEL 0u

#endif /* _LINUX_MINIMOD_H */
