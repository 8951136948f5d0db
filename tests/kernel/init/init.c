// SPDX-License-Identifier: MIT
/*
 * init for the module hashes boot tests: runs every case listed in /cases
 * (one "CASE HOW MODULE" per line, MODULE the name the kernel gives the
 * module), prints one line per case with the errno, the module's taint
 * flags and what the kernel logged meanwhile, prints the kernel's taint
 * mask, then reboots (QEMU -no-reboot exits). HOW is one of:
 *
 *   /path/file.ko[.xz]   finit_module(2) of that file; unloaded if it loaded
 *   modprobe:NAME        /sbin/modprobe NAME (an installed /lib/modules tree,
 *                        dependencies from modules.dep); errno is its exit
 *                        status, out= what it printed; nothing is unloaded
 *   mount:FSTYPE:DIR     mount(2) of a filesystem that is a module: the
 *                        kernel itself asks /sbin/modprobe for fs-FSTYPE
 *                        (request_module); errno is mount's
 *
 * Built freestanding against the kernel's own nolibc (tools/include/nolibc)
 * and UAPI headers, so that one source builds for every architecture with
 * nothing but the cross compiler. Output lines, parsed by the boot test:
 *
 *   MODHASH-CASE <case> errno=<n> taint=<flags, or - when not loaded> out=<modprobe's output> log=<kernel log lines, joined by " | ">
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

static char out_buf[4096];

/*
 * Runs /sbin/modprobe NAME with its output in out_buf (newlines as " | ")
 * and returns its exit status (or 255 when it could not run).
 */
static int modprobe(const char *name)
{
	char *argv[] = { "modprobe", (char *)name, 0 };
	char *envp[] = { "PATH=/sbin:/bin", 0 };
	int p[2], status = 0;
	size_t len = 0;
	pid_t pid;

	out_buf[0] = 0;
	if (pipe(p) < 0)
		return 255;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execve("/sbin/modprobe", argv, envp);
		exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out_buf + len, sizeof(out_buf) - 1 - len);

		if (n <= 0)
			break;
		len += n;
	}
	close(p[0]);
	out_buf[len] = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 255;
	while (len > 0 && out_buf[len - 1] == '\n')
		out_buf[--len] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static void run_case(int kmsg, const char *name, const char *how, const char *modname)
{
	int flags = 0, fd, ret, err = 0, by_file = how[0] == '/';
	char path[128], taint[32];
	size_t n = strlen(modname);

	drain_kmsg(kmsg, 0);
	out_buf[0] = 0;
	if (!strncmp(how, "modprobe:", 9)) {
		err = modprobe(how + 9);
	} else if (!strncmp(how, "mount:", 6)) {
		char *fstype = (char *)how + 6, *dir = strchr(fstype, ':');

		if (dir) {
			*dir++ = 0;
			mkdir(dir, 0755);
			if (mount(fstype, dir, fstype, 0, "") < 0)
				err = errno;
		} else {
			err = EINVAL;
		}
	} else {
		if (ends_with(how, ".xz") || ends_with(how, ".gz") || ends_with(how, ".zst"))
			flags |= MODULE_INIT_COMPRESSED_FILE;
		fd = open(how, O_RDONLY, 0);
		if (fd < 0) {
			err = errno;
		} else {
			ret = my_syscall3(__NR_finit_module, fd, "", flags);
			if (ret < 0)
				err = -ret;
			close(fd);
		}
	}
	/* Loaded or not: /sys/module/NAME/taint exists only for a loaded module. */
	if (n > sizeof(path) - 20)
		n = sizeof(path) - 20;
	memcpy(path, "/sys/module/", 12);
	memcpy(path + 12, modname, n);
	memcpy(path + 12 + n, "/taint", 7);
	fd = open(path, O_RDONLY, 0);
	if (fd < 0) {
		strcpy(taint, "-");
	} else {
		close(fd);
		read_small(path, taint, sizeof(taint));
	}
	for (n = 0; out_buf[n]; n++)
		if (out_buf[n] == '\n')
			out_buf[n] = ';';
	put("MODHASH-CASE ");
	put(name);
	put(" errno=");
	put_num(err);
	put(" taint=");
	put(taint);
	put(" out=");
	put(out_buf);
	put(" log=");
	drain_kmsg(kmsg, 1);
	put("\n");
	if (by_file && !err) {
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
