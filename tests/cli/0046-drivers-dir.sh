# Issue 13's driver cases (tests/cli/drv.sh) on the dir store: disks of
# several VMs never clobber or remove each other's, MACs are distinct in
# a VM and in the inventory, capacities are what was asked.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
. "$OVFK_SRCDIR/tests/cli/drv.sh"
DRV=dir
drv_setup
drv_run
