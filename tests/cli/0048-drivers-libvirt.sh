# Issue 13's driver cases (tests/cli/drv.sh) on libvirt's qemu:///system
# (libvirtd started here when the machine allows): new disks in the
# storage directory never take or remove another domain's file, MACs are
# distinct, capacities are the images' virtual sizes.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/drv.sh"
DRV=libvirt
drv_setup
drv_run
