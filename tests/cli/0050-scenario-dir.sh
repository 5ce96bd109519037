# The scenario suite (tests/cli/scenario.sh) on the dir store (--store DIR).
SCEN_DRIVER=dir
. "$OVFK_SRCDIR/tests/cli/scenario.sh"
