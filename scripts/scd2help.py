#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/scd2help.py - the command-line help, made from the man pages.

    scripts/scd2help.py doc/*.1.scd > build/cli/help_text.c

The man page sources (scdoc, doc/*.1.scd) are the one place a command is
described: `make` turns them into roff with scdoc, and into the table of
cli/help.h with this script, so `ovfkit help`, `--help`, the man pages and
the bash completion (which asks `ovfkit help --options ...`) cannot drift.

Every `## NAME` under a page's `# COMMANDS` section is one help entry
(NAME: "vhd create", "export", "ovfkit" for the global options), made of
paragraphs (separated by blank lines):

  - the first: the synopsis, one `*ovfkit ...*` line per form (`++` ends
    all but the last);
  - prose, printed as written (lines of at most 76 characters);
  - items: a term line (`*--type* fixed|dynamic`) and one tab-indented
    line describing it; terms that start with `-` are the options;
  - a label, a one-line paragraph ending in `:` ("Example:", "Exit
    status:"), which heads the items or the literal block (```) after it.

It fails (exit 1, naming the file and line) on an entry without a
synopsis, an item described on more than one line, or an entry without an
example, so a command cannot be documented by halves.
"""
import os
import re
import sys
import textwrap


def strip(s):
    """scdoc markup to plain text: *bold*, _underline_, \\x, ++."""
    s = re.sub(r"\+\+$", "", s.rstrip())
    out, i, under = [], 0, False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == "*":
            i += 1
            continue
        if c == "_":
            # as scdoc: _ toggles underlining after a non-alphanumeric,
            # or ends it before one; inside a word (MY_VM) it is a _
            last = s[i - 1] if i else " "
            nxt = s[i + 1] if i + 1 < len(s) else " "
            if not last.isalnum() or (under and not nxt.isalnum()):
                under = not under
                i += 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') \
        .replace("\n", "\\n\"\n        \"") + '"'


class Entry:
    def __init__(self, name, page, where):
        self.name, self.page, self.where = name, page, where
        self.paras = []     # [(first line number, [lines])]


def die(where, msg):
    sys.stderr.write("%s: %s\n" % (where, msg))
    sys.exit(1)


EXIT_CODES = []     # (code, command or None, meaning), in order


def read_exit_codes(path, lines):
    """The items of the page's EXIT STATUS section: cli_exit_codes.  A
    label paragraph ("*vhd check* (qemu-img check's codes):") names the
    command the items after it are special to."""
    group, section = None, None
    paras, cur = [], []
    for n, line in enumerate(lines, 1):
        if line.startswith("# "):
            section = line[2:].strip()
            continue
        if section != "EXIT STATUS" or line.startswith(";"):
            continue
        if line.strip():
            cur.append((n, line))
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    for para in paras:
        text = [x for _, x in para]
        if len(text) == 1 and text[0].endswith(":"):
            group = re.split(r" \(|:", strip(text[0]))[0].strip()
        elif len(text) == 2 and text[1].startswith("\t") and \
                re.match(r"^\d+$", strip(text[0])):
            EXIT_CODES.append((int(strip(text[0])), group,
                               strip(text[1]).strip()))
        elif any(x.startswith("\t") for x in text):
            die("%s:%d" % (path, para[0][0]), "an exit code is '*N*' and "
                "one tab-indented line")


def read_entries(path):
    page = os.path.basename(path)[:-len(".1.scd")]
    entries, cur, section, para, lit = [], None, None, None, False
    marked = False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    read_exit_codes(path, lines)
    for n, line in enumerate(lines, 1):
        if lit:
            para[1].append(line)
            lit = line.strip() != "```"
            continue
        m = re.match(r"^; help: (.+)$", line)
        if m:
            cur = Entry(m.group(1).strip(), page, "%s:%d" % (path, n))
            entries.append(cur)
            marked, para = True, None
            continue
        if line.strip() == "; help end":
            cur, marked = None, False
            continue
        if line.startswith("# ") and marked:
            # a section of a marked entry: a label, but for the synopsis
            if line[2:].strip() != "SYNOPSIS":
                para = None
                cur.paras.append((n, [line[2:].strip().capitalize() + ":"]))
            continue
        if line.startswith("# "):
            section, cur = line[2:].strip(), None
            continue
        if line.startswith("## "):
            cur = None
            if section == "COMMANDS":
                cur = Entry(line[3:].strip(), page, "%s:%d" % (path, n))
                entries.append(cur)
            continue
        if line.startswith(";"):
            continue        # scdoc comment
        if cur is None:
            continue
        if line.strip() == "":
            para = None
            continue
        if para is None:
            para = (n, [])
            cur.paras.append(para)
        para[1].append(line)
        if line.strip() == "```":
            lit = True
    return entries


def option_names(term):
    """'*-f*, *--format* _FORMAT_' -> [('-f', 'FORMAT'), ('--format', ...)]"""
    t = strip(term)
    m = re.match(r"^((?:-[-\w]+(?:, )?)+)(?:[ =](.*))?$", t)
    if not m:
        return []
    names = [x.strip() for x in m.group(1).split(",") if x.strip()]
    return [(x, (m.group(2) or "").strip()) for x in names]


def operands(syn, opts):
    """Operand placeholders of the first synopsis form, without the
    command words, bracketed groups and option arguments."""
    words = strip(syn).split()[1:]
    out, depth, skip_arg = [], 0, False
    for w in words:
        if depth or w.startswith("["):
            depth += w.count("[") - w.count("]")
            continue
        if skip_arg:
            skip_arg = False
            continue
        if w.startswith("-"):
            skip_arg = bool(opts.get(w.split("=")[0]))
            continue
        if w.replace("-", "").islower():
            continue        # a command word ("vhd", "create")
        out.append(w)
    return out


def wrap(form, lead, width=79):
    """A synopsis form in lines of at most width columns; the lines after
    the first are indented to the first word after the command's words."""
    words = form.split()
    k = 1
    while k < len(words) and re.match(r"^[a-z][a-z0-9-]*$", words[k]):
        k += 1
    indent = " " * (len(lead) + len(" ".join(words[:k])) + 1)
    lines, cur = [], lead + " ".join(words[:k])
    for w in words[k:]:
        if len(cur) + 1 + len(w) > width and cur.strip():
            lines.append(cur)
            cur = indent + w
        else:
            cur += " " + w
    return lines + [cur]


def render(e):
    where = e.where
    if not e.paras:
        die(where, "entry '%s' has no synopsis" % e.name)
    syn = [strip(x) for x in e.paras[0][1]]
    if not all(s.startswith("ovfkit") for s in syn):
        die(where, "entry '%s': the first paragraph is not its synopsis "
            "(one 'ovfkit ...' line per form)" % e.name)
    text = []
    for k, form in enumerate(syn):
        text += wrap(form, "usage: " if k == 0 else "       ")
    opts, label, example = {}, None, False
    width = min(20, max([len(strip(p[1][0])) for p in e.paras[1:]
                         if len(p[1]) == 2 and p[1][1].startswith("\t")] +
                        [0]))
    for n, lines in e.paras[1:]:
        w = "%s:%d" % (where.split(":")[0], n)
        head = [x for x in lines if not x.startswith("\t")]
        body = [x for x in lines if x.startswith("\t")]
        if lines[0].strip() == "```":
            if label is None:
                die(w, "a literal block without a label before it")
            text += ["  " + strip(x) if x.strip() else ""
                     for x in lines[1:-1]]
            example |= label.lower().startswith("example")
            continue
        if len(lines) == 1 and lines[0].endswith(":") and \
                not lines[0].startswith("*"):
            label = strip(lines[0])
            label = label[:1].lower() + label[1:]
            text += ["", label]
            continue
        if len(head) == 1 and body and lines[0] == head[0]:
            if len(body) != 1:
                die(w, "'%s' is described on %d lines; one line each, "
                    "so that --help shows it on one" % (strip(head[0]),
                                                          len(body)))
            term, desc = strip(head[0]), strip(body[0]).strip()
            for name, arg in option_names(head[0]):
                opts[name] = arg
            if label is None:
                label = "options:"
                text += ["", label]
            # one line in the source; on the screen wrapped at 79 columns
            # under itself when it is long (the exit codes' are)
            col = width + 4
            lines = textwrap.wrap(desc, max(79 - col, 30)) or [""]
            if len(term) > width:
                text += ["  " + term, " " * col + lines[0]]
            else:
                text.append("  %-*s  %s" % (width, term, lines[0]))
            text += [" " * col + x for x in lines[1:]]
            continue
        if body:
            die(w, "tab-indented lines must follow a single term line")
        # prose right under a label belongs to it: no blank line between
        text += ([] if text[-1] == label else [""]) + \
            [strip(x) for x in lines]
    if not example:
        die(where, "entry '%s' has no example (an 'Example:' label and a "
            "``` block)" % e.name)
    return "\n".join(text) + "\n", opts, operands(syn[0], opts)


def main():
    entries = []
    for path in sys.argv[1:]:
        entries += read_entries(path)
    seen = set()
    print("/* generated by scripts/scd2help.py from %s: do not edit */" %
          " ".join(os.path.basename(p) for p in sys.argv[1:]))
    print('#include <stddef.h>\n#include "cli/cli.h"\n#include "cli/help.h"\n')
    print("const struct cli_help cli_help_table[] = {")
    for e in entries:
        if e.name in seen:
            die(e.where, "entry '%s' twice" % e.name)
        seen.add(e.name)
        text, opts, ops = render(e)
        optlines = "".join("%s\t%s\n" % (k, v) for k, v in opts.items())
        print("    {\n        %s,\n        %s,\n        %s,\n        %s,\n"
              "        %s,\n    }," % (cstr(e.name), cstr(e.page),
                                      cstr(text), cstr(optlines),
                                      cstr(" ".join(ops))))
    print("    { NULL, NULL, NULL, NULL, NULL },\n};")
    if not EXIT_CODES:
        return      # not ovfkit.1.scd (the link then misses the table)
    print("\n/* ovfkit(1)'s EXIT STATUS, which --help prints (cli/exit.c) */")
    print("const struct cli_exit_code cli_exit_codes[] = {")
    for code, group, meaning in EXIT_CODES:
        print("    { %d, %s, %s }," % (code, cstr(group) if group else "NULL",
                                     cstr(meaning)))
    print("    { -1, NULL, NULL },\n};")


if __name__ == "__main__":
    main()
