# The scenario suite (tests/cli/scenario.sh) on Xen configuration files
# (--connect xen:DIR); its networks are bridges made here, so it needs root.
SCEN_DRIVER=xen
. "$OVFK_SRCDIR/tests/cli/scenario.sh"
