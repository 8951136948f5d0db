// SPDX-License-Identifier: MIT
/*
 * init for the module hashes boot tests: loads every module listed in
 * /cases (one "CASE FILE MODULE" per line, MODULE the name the kernel gives
 * it) with finit_module(2), prints one line per case with the errno, the
 * module's taint flags and what the kernel logged meanwhile, unloads what
 * loaded, prints the kernel's taint mask, then reboots (QEMU -no-reboot
 * exits).
 *
 * Built freestanding against the kernel's own nolibc (tools/include/nolibc)
 * and UAPI headers, so that one source builds for every architecture with
 * nothing but the cross compiler. Output lines, parsed by the boot test:
 *
 *   MODHASH-CASE <case> errno=<n> taint=<flags> log=<kernel log lines, joined by " | ">
 *   MODHASH-TAINT <value of /proc/sys/kernel/tainted>
 *   MODHASH-DONE
 */
#include <linux/module.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static char kmsg_buf[8192];

static void put(const char *s)
{
	write(1, s, strlen(s));
}

static void put_num(long n)
{
	char b[24];
	int i = sizeof(b);

	b[--i] = 0;
	if (n < 0) {
		put("-");
		n = -n;
	}
	do {
		b[--i] = '0' + n % 10;
		n /= 10;
	} while (n);
	put(b + i);
}

/* Prints every record that /dev/kmsg has that was not read yet. */
static void drain_kmsg(int fd, int print)
{
	int first = 1;

	for (;;) {
		ssize_t n = read(fd, kmsg_buf, sizeof(kmsg_buf) - 1);
		char *msg, *end;

		if (n <= 0)
			break;
		kmsg_buf[n] = 0;
		/* "prio,seq,ts,flags;message\n" */
		msg = strchr(kmsg_buf, ';');
		if (!msg || !print)
			continue;
		msg++;
		end = strchr(msg, '\n');
		if (end)
			*end = 0;
		if (!first)
			put(" | ");
		put(msg);
		first = 0;
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Reads a small file into buf (NUL-terminated, without a final newline). */
static void read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY, 0);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
}

static void run_case(int kmsg, const char *name, const char *file, const char *modname)
{
	int flags = 0, fd, ret, err = 0;
	char path[128], taint[32];

	if (ends_with(file, ".xz") || ends_with(file, ".gz") || ends_with(file, ".zst"))
		flags |= MODULE_INIT_COMPRESSED_FILE;
	drain_kmsg(kmsg, 0);
	taint[0] = 0;
	fd = open(file, O_RDONLY, 0);
	if (fd < 0) {
		err = errno;
	} else {
		ret = my_syscall3(__NR_finit_module, fd, "", flags);
		if (ret < 0)
			err = -ret;
		close(fd);
	}
	if (!err) {
		size_t n = strlen(modname);

		if (n > sizeof(path) - 20)
			n = sizeof(path) - 20;
		memcpy(path, "/sys/module/", 12);
		memcpy(path + 12, modname, n);
		memcpy(path + 12 + n, "/taint", 7);
		read_small(path, taint, sizeof(taint));
	}
	put("MODHASH-CASE ");
	put(name);
	put(" errno=");
	put_num(err);
	put(" taint=");
	put(taint);
	put(" log=");
	drain_kmsg(kmsg, 1);
	put("\n");
	if (!err) {
		my_syscall2(__NR_delete_module, modname, O_NONBLOCK);
		drain_kmsg(kmsg, 0);
	}
}

static char cases[16384];

int main(void)
{
	int kmsg, fd;
	ssize_t n;
	char *line, *next;

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, "");
	mkdir("/sys", 0755);
	mount("proc", "/proc", "proc", 0, "");
	mount("sysfs", "/sys", "sysfs", 0, "");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK, 0);
	/* Start after everything logged so far. */
	lseek(kmsg, 0, SEEK_END);

	fd = open("/cases", O_RDONLY, 0);
	n = fd < 0 ? 0 : read(fd, cases, sizeof(cases) - 1);
	cases[n > 0 ? n : 0] = 0;
	for (line = cases; *line; line = next) {
		char *file, *mod;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		file = strchr(line, ' ');
		if (!file)
			continue;
		*file++ = 0;
		mod = strchr(file, ' ');
		if (!mod)
			continue;
		*mod++ = 0;
		run_case(kmsg, line, file, mod);
	}

	read_small("/proc/sys/kernel/tainted", cases, 32);
	put("MODHASH-TAINT ");
	put(cases);
	put("\nMODHASH-DONE\n");
	reboot(LINUX_REBOOT_CMD_RESTART);
	return 0;
}
