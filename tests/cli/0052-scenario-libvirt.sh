# The scenario suite (tests/cli/scenario.sh) on libvirt's qemu:///system,
# libvirtd started here when the machine allows it (skipped, with the
# reason, when it cannot start).
SCEN_DRIVER=libvirt
. "$OVFK_SRCDIR/tests/cli/scenario.sh"
