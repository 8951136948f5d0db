// SPDX-License-Identifier: GPL-2.0
/* Input event device: a ring buffer of input events. */
#include <linux/minimod.h>

struct input_event {
	unsigned short type;
	unsigned short code;
	int value;
};

#define EVDEV_BUF 64u

static struct input_event ring[EVDEV_BUF];
static unsigned int head, tail;

static void evdev_pass_event(unsigned short type, unsigned short code, int value)
{
	ring[head % EVDEV_BUF] = (struct input_event){type, code, value};
	head++;
	if (head - tail > EVDEV_BUF)
		tail = head - EVDEV_BUF;
}

static int evdev_fetch_next_event(struct input_event *ev)
{
	if (tail == head)
		return 0;
	*ev = ring[tail % EVDEV_BUF];
	tail++;
	return 1;
}

static int evdev_init(void)
{
	struct input_event ev;

	evdev_pass_event(1, 30, 1);
	return evdev_fetch_next_event(&ev) ? 0 : -1;
}

static void evdev_exit(void)
{
	head = tail = 0;
}

module_init(evdev_init);
module_exit(evdev_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("minikernel");
MODULE_DESCRIPTION("Input driver event char devices");
