# The bash completion (completion/ovfkit.bash, issue 16): sourced in bash,
# its function is called as bash calls it (COMP_WORDS, COMP_CWORD) and must
# offer exactly the right words: commands, subcommands, options and their
# values, the VMs of the store named on the line (a temporary store with
# two VMs; the default store, elsewhere, has none), a VM's snapshot names,
# files where files go.
. "$OVFK_SRCDIR/tests/cli/lib.sh"
need bash bash

export XDG_DATA_HOME="$T/xdg"       # the default store: empty
export PATH="$(dirname "$OVFKIT"):$PATH"
st="$T/st"
ovfkit --store "$st" vm create web --disk 1M > /dev/null
ovfkit --store "$st" vm create db --disk 1M > /dev/null
ovfkit --store "$st" snapshot create web --name before > /dev/null
ovfkit --store "$st" snapshot create web --name after > /dev/null
mkdir files files/sub && : > files/disk.vhd && : > files/data.ova

# complete WORD...: the offers for the last WORD (the one being typed), as
# bash would make them: the completion sourced, COMP_WORDS and COMP_CWORD
# set, its function called
cat > drive.bash <<'BASH'
. "$1/completion/ovfkit.bash"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_ovfkit
printf "%s\n" "${COMPREPLY[@]}" | sort
BASH
complete_words() { bash drive.bash "$OVFK_SRCDIR" "$@"; }

# expect WANT WORD...: the offers, sorted and joined by spaces, are WANT
expect() {
    want=$1; shift
    got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want" ] || fail "completing '$*': got '$got', expected '$want'"
}

# 1. commands
expect "snapshot sysprep" ovfkit s
expect "export" ovfkit --store "$st" exp
# 2. subcommands
expect "chain check compare convert create" ovfkit vhd c
expect "create delete export list revert" ovfkit snapshot ""
# 3. options and their values
expect "--skip-disk --storage --system" ovfkit import x.ova --s
expect "--store" ovfkit --sto
expect "auto bar json none" ovfkit --progress = ""      # bash splits at =
expect "json" ovfkit --progress = j
expect "dynamic fixed" ovfkit vhd create --type ""
expect "raw" ovfkit vhd convert --type r
expect "sha1 sha256 sha512" ovfkit export web --to x.ova --digest sha
# 4. VM names, from the store given on the line, and only from it
expect "db web" ovfkit --store "$st" export ""
expect "web" ovfkit --store "$st" snapshot list w
expect "" ovfkit export ""
# 5. snapshot names of the VM on the line
expect "after before" ovfkit --store "$st" snapshot revert web ""
expect "after" ovfkit --store "$st" snapshot delete web a
expect "" ovfkit --store "$st" snapshot revert db ""
# 6. files where files go: operands and option values
expect "files/data.ova files/disk.vhd files/sub" ovfkit vhd info files/
expect "files/data.ova files/disk.vhd files/sub" ovfkit import files/
expect "files/data.ova files/disk.vhd files/sub" ovfkit --store "$st" export web --to files/
expect "files/sub" ovfkit --store files/s
# and nothing where a name or a number goes
expect "" ovfkit vm create ""
expect "" ovfkit vhd create --block-size ""
