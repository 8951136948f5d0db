"""The modules of the real-kernel example's configs/common.config.

In the order kbuild's modules.order lists them; kernel_build fails if the
build makes another set.
"""

MODULES = [
    "lib/test_module.ko",
    "lib/crc-ccitt.ko",
    "lib/crc16.ko",
    "lib/crc-itu-t.ko",
    "lib/crc64.ko",
    "lib/crc4.ko",
    "lib/crc7.ko",
    "lib/crc8.ko",
]
