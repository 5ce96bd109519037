# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for ovfkit(1): commands, subcommands, options, option
# values, VM names (`ovfkit vm list`, with the --store/--connect given on
# the line), snapshot names (`ovfkit snapshot list VM`), files where files
# go.  The words come from the program itself (`ovfkit help --commands`,
# `--options`, `--operands`: the man page sources), so a new command or
# option needs nothing here.  Installed by `make install` as
# BASHCOMPDIR/ovfkit; try it with `. completion/ovfkit.bash`.

# _ovfkit_kind PLACEHOLDER: what a value of that kind is completed with:
# "vm", "snap", "dir", "file", "words A B..." or nothing
_ovfkit_kind()
{
    local p=$1 w words=()
    case $p in
    *VM*) echo vm; return ;;
    *SNAP*) echo snap; return ;;
    URI*) echo "words qemu:///system qemu:///session test:///default xen:"
        return ;;
    esac
    if [[ -n $p && $p != *[A-Z]* && $p != *'|'* ]]; then
        echo "words $p"     # the one value: --progress=json
        return
    fi
    if [[ $p == *'|'* ]]; then
        local IFS='|'
        for w in $p; do
            [[ $w == *[A-Z]* ]] || words+=("$w")
        done
        unset IFS
        if ((${#words[@]})); then
            echo "words ${words[*]%%,*}"
            return
        fi
    fi
    case $p in
    *FILE* | *PKG* | *DISK* | *SRC* | *DST* | *PARENT* | *CHILD* | *.pem | \
        *.json | *.ova | *.ovf | A | B | F) echo file ;;
    *DIR*) echo dir ;;
    esac
}

# _ovfkit_add WORD...: the words that start with $cur into COMPREPLY,
# shell-quoted (names may hold spaces), without what bash already has
# before a : or = in the word
_ovfkit_add()
{
    local w q
    for w in "$@"; do
        [[ $w == "$cur"* ]] || continue
        printf -v q '%q' "$w"
        [[ $cur == *[:=]* ]] && q=${q#"${cur%"${cur##*[:=]}"}"}
        COMPREPLY+=("$q")
    done
}

# _ovfkit_value KIND: complete a value of KIND (see _ovfkit_kind)
_ovfkit_value()
{
    local kind=$1 line
    local -a names=()
    case $kind in
    vm)
        while read -r line; do
            names+=("${line%% *}")
        done < <("$prog" "${glob[@]}" vm list 2>/dev/null | tail -n +2)
        _ovfkit_add "${names[@]}"
        ;;
    snap)
        [[ -n ${operands[0]-} ]] || return
        while read -r line; do
            names+=("$line")
        done < <("$prog" "${glob[@]}" --json snapshot list "${operands[0]}" \
                 2>/dev/null |
                 sed -n 's/^ *"name": "\(.*\)",\{0,1\}$/\1/p')
        _ovfkit_add "${names[@]}"
        ;;
    file)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    words\ *)
        # shellcheck disable=SC2086
        _ovfkit_add ${kind#words }
        ;;
    esac
}

# _ovfkit_arg OPTLIST OPT: the argument placeholder of OPT in OPTLIST
# ("--name<TAB>ARG" lines), "" for a flag; status 1 when OPT is not there
_ovfkit_arg()
{
    local line
    while IFS= read -r line; do
        if [[ ${line%%$'\t'*} == "$2" ]]; then
            printf '%s\n' "${line#*$'\t'}"
            return 0
        fi
    done <<< "$1"
    return 1
}

_ovfkit()
{
    local prog=${COMP_WORDS[0]} cur="" i w arg
    local -a words=() glob=() operands=()
    local cmd="" sub="" path="" subs="" gopts copts="" expect=""
    COMPREPLY=()
    [[ $prog == */* ]] || prog=$(type -P "$prog") || return 0

    # bash splits "--connect qemu:///system" and "OLD=NEW" at : and =
    # (COMP_WORDBREAKS): join those pieces again
    local cword=0
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        if ((i > 0)) && [[ $w == [:=]* || ${words[-1]} == *[:=] ]] &&
            [[ ${words[-1]} != "" ]] && ((i <= COMP_CWORD)); then
            words[-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    cur=${words[cword]-}

    gopts=$("$prog" help --options 2>/dev/null)
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -n $expect ]]; then
            [[ -z $cmd && $expect == --@(store|connect) ]] &&
                glob+=("$expect" "$w")
            expect=""
            continue
        fi
        if [[ -z $cmd ]]; then
            if [[ $w == -* ]]; then
                [[ $w == --@(store|connect)=* ]] && glob+=("$w")
                arg=$(_ovfkit_arg "$gopts" "$w") && [[ -n $arg ]] &&
                    expect=$w
                continue
            fi
            cmd=$w
            subs=$("$prog" help --commands "$cmd" 2>/dev/null)
            path=$cmd
            [[ -z $subs ]] && copts=$("$prog" help --options $path 2>/dev/null)
            continue
        fi
        if [[ -n $subs && -z $sub ]]; then
            sub=$w
            path="$cmd $sub"
            copts=$("$prog" help --options $path 2>/dev/null)
            continue
        fi
        if [[ $w == -* ]]; then
            [[ $w == --@(store|connect)=* ]] && glob+=("$w")
            arg=$(_ovfkit_arg "$copts" "${w%%=*}") && [[ -n $arg ]] &&
                [[ $w != *=* ]] && expect=$w
            continue
        fi
        operands+=("$w")
    done

    # the value of an option
    if [[ -n $expect ]]; then
        if [[ -z $cmd ]]; then
            arg=$(_ovfkit_arg "$gopts" "$expect")
        else
            arg=$(_ovfkit_arg "$copts" "$expect")
        fi
        _ovfkit_value "$(_ovfkit_kind "$arg")"
        return 0
    fi
    if [[ $cur == --*=* ]]; then
        arg=$(_ovfkit_arg "${copts:-$gopts}" "${cur%%=*}")
        [[ -z $cmd ]] && arg=$(_ovfkit_arg "$gopts" "${cur%%=*}")
        cur=${cur#*=}       # bash completes what follows the =
        _ovfkit_value "$(_ovfkit_kind "$arg")"
        return 0
    fi
    # the command, its subcommand
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            _ovfkit_add $(cut -f1 <<< "$gopts") --help --version
        else
            _ovfkit_add $("$prog" help --commands 2>/dev/null)
        fi
        return 0
    fi
    if [[ -n $subs && -z $sub ]]; then
        _ovfkit_add $subs
        return 0
    fi
    if [[ $cmd == help ]]; then
        _ovfkit_add $("$prog" help --commands ${operands[0]-} 2>/dev/null)
        return 0
    fi
    # an option, or an operand of the synopsis
    if [[ $cur == -* ]]; then
        _ovfkit_add $(cut -f1 <<< "$copts") --help
        return 0
    fi
    local -a ph
    read -r -a ph <<< "$("$prog" help --operands $path 2>/dev/null)"
    ((${#ph[@]})) || return 0
    i=${#operands[@]}
    if ((i >= ${#ph[@]})); then
        [[ ${ph[-1]} == *... ]] || return 0
        i=$((${#ph[@]} - 1))
    fi
    _ovfkit_value "$(_ovfkit_kind "${ph[i]}")"
    return 0
}

complete -F _ovfkit ovfkit
