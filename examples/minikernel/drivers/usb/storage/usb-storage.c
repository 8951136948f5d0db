// SPDX-License-Identifier: GPL-2.0+
/* USB mass storage: builds command block wrappers. */
#include <linux/minimod.h>

#define US_BULK_CB_SIGN 0x43425355u

struct bulk_cb_wrap {
	unsigned int signature;
	unsigned int tag;
	unsigned int data_transfer_length;
	unsigned char flags;
	unsigned char lun;
	unsigned char length;
	unsigned char cdb[16];
};

static unsigned int next_tag = 1;

static void usb_stor_build_cbw(struct bulk_cb_wrap *cbw, const unsigned char *cdb,
			       unsigned char len, unsigned int xfer)
{
	unsigned char i;

	cbw->signature = US_BULK_CB_SIGN;
	cbw->tag = next_tag++;
	cbw->data_transfer_length = xfer;
	cbw->flags = 0x80;
	cbw->lun = 0;
	cbw->length = len;
	for (i = 0; i < len && i < sizeof(cbw->cdb); i++)
		cbw->cdb[i] = cdb[i];
}

static int usb_stor_probe(void)
{
	static const unsigned char inquiry[6] = {0x12, 0, 0, 0, 36, 0};
	struct bulk_cb_wrap cbw;

	usb_stor_build_cbw(&cbw, inquiry, sizeof(inquiry), 36);
	return cbw.signature == US_BULK_CB_SIGN ? 0 : -1;
}

static int usb_storage_init(void)
{
	printk("usb-storage: USB Mass Storage support registered\n");
	return usb_stor_probe();
}

static void usb_storage_exit(void)
{
	next_tag = 1;
}

module_init(usb_storage_init);
module_exit(usb_storage_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("USB Mass Storage driver for Linux");
MODULE_ALIAS("usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*");
