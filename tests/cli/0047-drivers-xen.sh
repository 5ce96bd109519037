# Issue 13's driver cases (tests/cli/drv.sh) on the xen driver: new disks
# in images/ never take, change or remove another VM's (or the user's)
# file, MACs are distinct, a disk's capacity is the image's virtual size.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/drv.sh"
need qemu-img qemu-utils
DRV=xen
drv_setup
drv_run
