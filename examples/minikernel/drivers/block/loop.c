// SPDX-License-Identifier: GPL-2.0
/* A loopback block device: maps sectors to a backing buffer. */
#include <linux/minimod.h>

#define LOOP_SECTOR 512u

struct loop_device {
	unsigned char *backing;
	unsigned long sectors;
	int number;
};

static struct loop_device lo0;

static int loop_transfer(struct loop_device *lo, unsigned long sector,
			 unsigned char *buf, int write)
{
	unsigned char *p;
	unsigned int i;

	if (sector >= lo->sectors)
		return -1;
	p = lo->backing + sector * LOOP_SECTOR;
	for (i = 0; i < LOOP_SECTOR; i++) {
		if (write)
			p[i] = buf[i];
		else
			buf[i] = p[i];
	}
	return 0;
}

static int loop_add(struct loop_device *lo, int number, unsigned long sectors)
{
	lo->backing = kmalloc(sectors * LOOP_SECTOR, GFP_KERNEL);
	if (!lo->backing)
		return -1;
	lo->sectors = sectors;
	lo->number = number;
	return 0;
}

static int loop_init(void)
{
	unsigned char sector[LOOP_SECTOR] = {0};

	if (loop_add(&lo0, 0, 4))
		return -1;
	printk("loop: module loaded\n");
	return loop_transfer(&lo0, 0, sector, 1);
}

static void loop_exit(void)
{
	kfree(lo0.backing);
}

module_init(loop_init);
module_exit(loop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Loopback block device");
MODULE_ALIAS("devname:loop-control");
