#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/check-tools.py - every external program the tests and the
library run is installed by scripts/deps.sh, or its test skips naming it.

    scripts/check-tools.py [-v]        (make check runs it as tests/cli/0000)

Finds the programs that tests/cli/*.sh, tests/run.sh and scripts/demo.sh
run (the first word of each simple command, after wrappers like
timeout/env/xargs/expect_rc, and inside $(...), `...`, sh -c '...',
nbdkit --run '...' and trap '...' strings; not builtins, keywords, the
functions the scripts define, comments or heredoc bodies), and
those the C code runs (tests/unit, tests/fuzz, the library and the cli:
system()/popen() command strings, exec*() and posix_spawn*() programs).
Each is mapped to the Debian package that owns it on this machine with
`dpkg-query -S` (nothing is kept in a table that could go stale).  It
fails, naming the file and line, when a program

  - is installed but its package is neither in deps.sh's PKGS, nor a
    direct Depends/Pre-Depends of one (python3 ships /usr/bin/python3 in
    python3-minimal), nor part of every Debian system (Essential: yes, or
    Priority: required, which debootstrap installs even with
    --variant=minbase) -- for an /etc/alternatives link, any of the
    alternatives will do (awk is gawk here, mawk on a fresh system) --
    and no skip in the
    script (or a file it sources) names it: `need TOOL PKG`, or
    `command -v TOOL ... || skip "...TOOL..."`;
  - is not installed at all and not so guarded (the library and the C
    tests have no guards: what they run must be installed by deps.sh).

What it does not see (so a reviewer still must): commands inside
heredocs (Python snippets, a guest's /init), inside Python (`"$PY" -c`,
phony.py), in strings passed to our own functions (nbdkit --run "$*" in a
helper), commands named by a variable it cannot resolve to a literal
(printed with -v), programs the C code runs whose name is not a string
literal at the exec call (listed in INDIRECT below, which is checked against
the source so it cannot go stale silently), the programs our libraries
run themselves (libguestfs runs qemu and supermin: their packages depend
on them), Python modules, and the benches (out of scope).  A guard
anywhere in a file counts for the whole file.
"""
import glob
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERBOSE = "-v" in sys.argv[1:]

BUILTINS = set("""
. : [ [[ alias bg break cd command continue echo eval exec exit export false
fg getopts hash jobs kill local printf pwd read readonly return set shift
test times trap true type ulimit umask unalias unset wait
""".split())
KEYWORDS = set("if then else elif fi do done while until for in case esac "
               "! { } function select".split())
# the C exec calls whose program is not a literal: file -> programs; each
# program must still appear as a literal in that file
INDIRECT = {
    "hv/run.c": ["qemu-system-x86_64"],
    "p2v/capture.c": ["ssh"],
    "p2v/usedmap.c": ["/usr/sbin/partclone.vfat", "/usr/sbin/partclone.exfat",
                      "/usr/sbin/partclone.ntfs", "/usr/sbin/partclone.xfs",
                      "/usr/sbin/partclone.btrfs", "/usr/sbin/partclone.f2fs",
                      "/usr/sbin/partclone.hfsplus",
                      "/usr/sbin/partclone.minix"],
}
SYSDIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
           "/sbin", "/bin"]


# ---- a small POSIX shell scanner: simple commands as word lists ----------

class Word:
    """A word after quote removal; `dyn` when an expansion we cannot
    resolve is part of it ($(...), $((...)), ${x#y}, `...`)."""
    def __init__(self):
        self.text = ""
        self.dyn = False
        self.quoted = False
        self.assign = False     # NAME=..., not a command word


class Scanner:
    def __init__(self, src, path, line0=1):
        self.s = src
        self.path = path
        self.i = 0
        self.line = line0
        self.cmds = []          # (line, [Word]) in source order
        self.heredocs = []      # pending heredoc delimiters (strip, word)
        self.unseen = []        # (line, what) for the report

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def adv(self, n=1):
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
            self.i += 1

    def skip_heredocs(self):
        """At the start of a line: skip the bodies of pending heredocs."""
        while self.heredocs:
            strip, delim = self.heredocs.pop(0)
            start = self.line
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                text = self.s[self.i:end]
                self.i = end
                self.adv()
                if (text.lstrip("\t") if strip else text) == delim:
                    break
            self.unseen.append((start, "heredoc body (<<%s)" % delim))

    def subst(self, closer):
        """After `$(` or a backtick: scan the nested commands."""
        sub = Scanner(self.s, self.path, self.line)
        sub.i = self.i
        sub.run(closer)
        self.cmds.extend(sub.cmds)
        self.unseen.extend(sub.unseen)
        self.i, self.line = sub.i, sub.line

    def arith(self):
        """After `$((`: skip to the matching `))`."""
        depth = 2
        while self.i < len(self.s) and depth:
            c = self.peek()
            depth += (c == "(") - (c == ")")
            self.adv()

    def dollar(self, w, in_dq):
        """At `$`: append what it expands to (kept as $NAME when simple)."""
        self.adv()
        c = self.peek()
        if c == "(" and self.peek(1) == "(":
            self.adv(2)
            self.arith()
            w.dyn = True
        elif c == "(":
            self.adv()
            self.subst(")")
            w.dyn = True
        elif c == "{":
            j = self.s.find("}", self.i)
            inner = self.s[self.i + 1:j]
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", inner):
                w.text += "$" + inner
            else:
                w.dyn = True
            self.adv(j + 1 - self.i)
        elif re.match(r"[A-Za-z_]", c or " "):
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", self.s[self.i:])
            w.text += "$" + m.group(0)
            self.adv(len(m.group(0)))
        elif c and c in "@*#?$!-0123456789":
            w.dyn = True
            self.adv()
        else:
            w.text += "$"

    def run(self, closer=None):
        """Scan until `closer` (")" or "`") or the end; collect commands."""
        words, w = [], None
        depth = 0               # ( ) inside this level (subshells)
        case_pat = []           # stack: True while reading case patterns
        redirect = False        # the next word is a redirection target
        heredoc_next = None     # the next word is a heredoc delimiter

        def end_word():
            nonlocal w, redirect, heredoc_next
            if w is None:
                return
            if heredoc_next is not None:
                d = w.text
                self.heredocs.append((heredoc_next, d))
                heredoc_next = None
            elif redirect:
                redirect = False
            else:
                words.append(w)
            w = None

        def end_cmd():
            nonlocal words
            end_word()
            if words:
                self.cmds.append((cmd_line[0], words))
            words = []

        cmd_line = [self.line]
        while self.i < len(self.s):
            c = self.peek()
            if w is None and not words:
                cmd_line[0] = self.line
            if c == "\\" and self.peek(1) == "\n":
                self.adv(2)
                continue
            if c == "\\":
                w = w or Word()
                w.text += self.peek(1)
                self.adv(2)
                continue
            if c == "'":
                w = w or Word()
                w.quoted = True
                j = self.s.find("'", self.i + 1)
                j = len(self.s) if j < 0 else j
                w.text += self.s[self.i + 1:j]
                self.adv(j + 1 - self.i)
                continue
            if c == '"':
                w = w or Word()
                w.quoted = True
                self.adv()
                while self.i < len(self.s) and self.peek() != '"':
                    d = self.peek()
                    if d == "\\" and self.peek(1) in '"\\$`\n':
                        if self.peek(1) != "\n":
                            w.text += self.peek(1)
                        self.adv(2)
                    elif d == "$":
                        self.dollar(w, True)
                    elif d == "`":
                        self.adv()
                        self.subst("`")
                        w.dyn = True
                    else:
                        w.text += d
                        self.adv()
                self.adv()
                continue
            if c == "$":
                w = w or Word()
                self.dollar(w, False)
                continue
            if c == "`":
                if closer == "`":
                    end_cmd()
                    self.adv()
                    return
                w = w or Word()
                self.adv()
                self.subst("`")
                w.dyn = True
                continue
            if c == "#" and w is None:
                while self.i < len(self.s) and self.peek() != "\n":
                    self.adv()
                continue
            if c in " \t":
                end_word()
                self.adv()
                continue
            if c == "\n":
                end_cmd()
                self.adv()
                self.skip_heredocs()
                continue
            if c in "<>":
                # a digit word just before is the fd number, not a word
                if w is not None and re.fullmatch(r"[0-9]", w.text) and \
                        not w.quoted:
                    w = None
                else:
                    end_word()
                if c == "<" and self.peek(1) == "<":
                    self.adv(2)
                    strip = self.peek() == "-"
                    if strip:
                        self.adv()
                    heredoc_next = strip
                    continue
                self.adv()
                while self.peek() and self.peek() in "<>&|":
                    self.adv()
                # >&2 and <&0: the target is the fd, part of the operator
                if self.s[self.i - 1] == "&" and self.peek().isdigit():
                    self.adv()
                    continue
                if self.s[self.i - 1] == "&" and self.peek() == "-":
                    self.adv()
                    continue
                redirect = True
                continue
            if c == ";" and self.peek(1) == ";":
                end_cmd()
                self.adv(2)
                if case_pat:
                    case_pat[-1] = True
                continue
            if c == "|" and case_pat and case_pat[-1]:
                end_word()          # pattern|pattern
                words = []
                self.adv()
                continue
            if c in ";&|":
                end_cmd()
                self.adv()
                while self.peek() and self.peek() in "&|":
                    self.adv()
                continue
            if c == "(" and w is not None and self.peek(1) == ")":
                # NAME() { ...: a function definition, not a command
                w, words = None, []
                self.adv(2)
                continue
            if c == "(" and w is None:
                end_cmd()
                if words == [] and case_pat and case_pat[-1]:
                    self.adv()      # optional ( before a case pattern
                    continue
                depth += 1
                self.adv()
                continue
            if c == ")":
                if case_pat and case_pat[-1]:
                    # end of a case pattern: what was read was patterns
                    end_word()
                    words = []
                    case_pat[-1] = False
                    self.adv()
                    continue
                end_cmd()
                self.adv()
                if depth == 0 and closer == ")":
                    return
                depth = max(0, depth - 1)
                continue
            # an ordinary character
            w = w or Word()
            if c == "=" and not (w.quoted or w.dyn or w.assign) and \
                    re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", w.text):
                w.assign = True
            w.text += c
            self.adv()
            # keywords that change what the following words are
            nxt = self.peek()
            if not (nxt == "" or nxt in " \t\n;&|()<>"):
                continue
            if w.quoted or w.dyn:
                continue
            t = w.text
            if not words and case_pat and t == "esac":
                case_pat.pop()
                w = None
                continue
            if case_pat and case_pat[-1]:
                continue            # a pattern word
            if not words:
                if t == "case":
                    # case WORD in: skip to `in`, then patterns
                    w = None
                    m = re.match(r"\s+(\S+)\s+in\b", self.s[self.i:])
                    if m:
                        self.adv(m.end())
                    case_pat.append(True)
                    continue
                if t == "for":
                    # for NAME [in WORDS...]; the words are not commands,
                    # but $(...) in them is scanned
                    w = None
                    m = re.match(r"\s+[A-Za-z_][A-Za-z0-9_]*(\s+in\b)?",
                                 self.s[self.i:])
                    if m:
                        self.adv(m.end())
                    words = [Word()]    # a placeholder first word
                    words[0].text = "for"
                    continue
                if t in KEYWORDS:
                    w = None
                    continue
        end_cmd()


# ---- which command a word list runs -----------------------------------

def literal(word, env):
    """The word's value when it is known: literal, or $VAR with a literal
    assignment seen in the scripts."""
    if word.dyn:
        return None
    t = word.text
    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", t)
    if m:
        return env.get(m.group(1))
    if "$" in t:
        return None
    return t


def commands_of(words, env, funcs, out, line, unseen, depth=0):
    """Append (line, program) for what `words` runs to out."""
    # leading assignments
    while words and words[0].assign:
        words = words[1:]
    if not words or words[0].text == "for":
        return
    name = literal(words[0], env)
    rest = words[1:]
    if name is None:
        unseen.append((line, "command named by '%s'" %
                       (words[0].text or "$(...)")))
        return
    if name not in ("exec", "command", "expect_rc", "expect_err", "trap"):
        if name in ("timeout", "nice", "nohup", "setsid", "sudo", "stdbuf",
                    "ionice", "env", "xargs"):
            out.append((line, name))
    if name in ("timeout",):
        while rest and rest[0].text.startswith("-"):
            opt = rest.pop(0).text
            if opt in ("-s", "-k", "--signal", "--kill-after"):
                rest = rest[1:]
        rest = rest[1:]         # the duration
    elif name in ("nice", "nohup", "setsid", "exec", "sudo", "stdbuf",
                  "ionice", "env", "xargs"):
        takes = {"nice": "-n", "ionice": "-c -n", "env": "-u", "exec": "-a",
                 "xargs": "-n -I -P -d -L -s -E -a"}.get(name, "").split()
        while rest and (rest[0].text.startswith("-") or
                        (name == "env" and "=" in rest[0].text)):
            opt = rest.pop(0).text
            if opt in takes:
                rest = rest[1:]
    elif name in ("expect_rc", "expect_err"):
        rest = rest[1:]
    elif name == "command":
        if rest and rest[0].text in ("-v", "-V"):
            return
    elif name == "trap" and rest:
        script(rest[0], env, funcs, out, line, unseen, depth)
        return
    elif name in ("sh", "bash", "dash") and len(rest) >= 2 and \
            rest[0].text == "-c":
        out.append((line, name))
        script(rest[1], env, funcs, out, line, unseen, depth)
        return
    else:
        if name not in BUILTINS and name not in funcs and \
                name not in KEYWORDS:
            out.append((line, name))
        if name == "nbdkit":
            for k, a in enumerate(rest[:-1]):
                if a.text == "--run":
                    script(rest[k + 1], env, funcs, out, line, unseen, depth)
        if name == "find":
            for k, a in enumerate(rest[:-1]):
                if a.text in ("-exec", "-execdir", "-ok"):
                    commands_of(rest[k + 1:], env, funcs, out, line, unseen,
                                depth + 1)
        return
    if rest:
        commands_of(rest, env, funcs, out, line, unseen, depth + 1)


def script(word, env, funcs, out, line, unseen, depth):
    """A word that is itself a shell script (sh -c, trap, --run)."""
    if word.dyn or depth > 4:
        unseen.append((line, "script in '%s'" % word.text[:40]))
        return
    sc = Scanner(word.text, "", line)
    sc.run()
    for _, ws in sc.cmds:
        commands_of(ws, env, funcs, out, line, unseen, depth + 1)
    unseen.extend((line, u) for _, u in sc.unseen)


def scan_shell(path):
    src = open(path, encoding="utf-8").read()
    sc = Scanner(src, path)
    sc.run()
    return src, sc


# ---- the C side ------------------------------------------------------

def c_strip(src):
    """C source with comments blanked (newlines kept for line numbers)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src[i] in "\"'":
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


C_CALL = re.compile(r"\b(system|popen|execl|execlp|execle|execv|execvp|"
                    r"execvpe|execve|posix_spawn|posix_spawnp|"
                    r"t_sh)\s*\(")
C_STR = r'"((?:[^"\\]|\\.)*)"'
# adjacent literals, as C joins them
C_STRS = re.compile(r'\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
# shell-like calls: the first argument is a command line (t_sh is the unit
# tests' printf-style system(), tests/unit/images.h)
SHELL_FNS = ("system", "popen", "t_sh")


def c_literal(strs):
    """The text of adjacent C string literals."""
    parts = re.findall(C_STR, strs)
    return bytes("".join(parts), "utf-8").decode("unicode_escape")


def built_command(src, start, var):
    """The format a nearby snprintf(var, ...) gave a command buffer: the
    literal after its size argument, or None."""
    head = src[:start]
    lo = max(0, len(head) - 3000)
    for m in reversed(list(re.finditer(r"\bsnprintf\s*\(\s*%s\s*,"
                                       % re.escape(var), head[lo:]))):
        rest = head[lo + m.end():]
        size = re.match(r"[^,]*,", rest)
        if not size:
            return None
        lit = C_STRS.match(rest[size.end():])
        return c_literal(lit.group(1)) if lit else None
    return None


def scan_c(path, rel, env, problems):
    """(line, program) the file runs; unresolvable calls go to problems."""
    src = c_strip(open(path, encoding="utf-8", errors="replace").read())
    found, unseen = [], []
    for m in C_CALL.finditer(src):
        fn, line = m.group(1), src.count("\n", 0, m.start()) + 1
        bol = src.rfind("\n", 0, m.start()) + 1
        if re.search(r"\b(int|void|char)\s*\**\s*$", src[bol:m.start()]):
            continue    # a declaration or definition, not a call
        args = src[m.end():m.end() + 400]
        if fn.startswith("posix_spawn"):
            # posix_spawn(&pid, PATH, ...): the program is the 2nd argument
            args = args.split(",", 1)[1] if "," in args else ""
        lit = re.match(r"\s*" + C_STR, args)
        var = re.match(r"\s*([A-Za-z_]\w*)\s*[,)]", args)
        if lit and fn in SHELL_FNS:
            w = Word()
            w.text = c_literal(C_STRS.match(args).group(1))
            script(w, env, set(), found, line, unseen, 0)
        elif (fn in SHELL_FNS and var and
              re.search(r"\bvsnprintf\s*\(\s*%s\b" % var.group(1),
                        src[max(0, m.start() - 600):m.start()])):
            # a printf-style wrapper's own system(): its callers are seen
            unseen.append((line, "%s() of a wrapper" % fn))
        elif (fn in SHELL_FNS and var and
              built_command(src, m.start(), var.group(1)) is not None):
            w = Word()
            w.text = built_command(src, m.start(), var.group(1))
            script(w, env, set(), found, line, unseen, 0)
        elif lit:
            found.append((line, lit.group(1)))
        elif rel in INDIRECT:
            for prog in INDIRECT[rel]:
                if '"%s"' % prog not in src:
                    problems.append("%s: INDIRECT in scripts/check-tools.py "
                                    "lists '%s', which the file no longer "
                                    "names" % (rel, prog))
                found.append((line, prog))
        else:
            problems.append("%s:%d: %s() runs a program that is not a "
                            "string literal; add it to INDIRECT in "
                            "scripts/check-tools.py" % (rel, line, fn))
    return found, unseen


# ---- packages ----------------------------------------------------------

def deps_packages():
    text = open(os.path.join(TOP, "scripts/deps.sh")).read()
    m = re.search(r'^PKGS="([^"]*)"', text, re.M)
    if not m:
        sys.exit("check-tools: no PKGS=\"...\" in scripts/deps.sh")
    return set(m.group(1).split())


_owner = {}


def variants(path):
    """path as dpkg may list it: itself, its target, with or without the
    /usr prefix (Debian 12 merged /bin into /usr/bin, dpkg kept names)."""
    out = []
    for p in (path, os.path.realpath(path)):
        out += [p, p[4:] if p.startswith("/usr/") else "/usr" + p]
    return out


def load_owners(paths):
    """Ask dpkg once which packages ship paths (it reads every file list
    per call, so one call for all)."""
    want = sorted({v for p in paths for v in variants(p)} - set(_owner))
    if not want:
        return
    r = subprocess.run(["dpkg-query", "-S"] + want, capture_output=True,
                       text=True)
    for ln in r.stdout.splitlines():
        if ln.startswith("diversion "):
            continue
        pk, _, f = ln.partition(": ")
        for f1 in f.split(", "):
            if f1.strip() in want:
                _owner.setdefault(f1.strip(),
                                  pk.split(",")[0].split(":")[0].strip())


def owner(path):
    """The Debian package that ships path (load_owners first), or None."""
    for v in variants(path):
        if _owner.get(v):
            return _owner[v]
    return None


def alternatives(path):
    """The programs an /etc/alternatives link may point to (any of them
    may be the one a fresh system has: awk is mawk there, gawk here)."""
    link = path
    for _ in range(8):
        if not os.path.islink(link):
            return []
        t = os.path.join(os.path.dirname(link), os.readlink(link))
        if t.startswith("/etc/alternatives/"):
            r = subprocess.run(["update-alternatives", "--list",
                                os.path.basename(t)], capture_output=True,
                               text=True)
            return r.stdout.split()
        link = t
    return []


def depends_of(pkgs):
    """Package -> the deps.sh package it is a Depends/Pre-Depends of (one
    level, from the installed packages' own metadata): python3 ships
    /usr/bin/python3 in python3-minimal."""
    r = subprocess.run(["dpkg-query", "-W",
                        "-f=${Package}\t${Pre-Depends}, ${Depends}\n"] +
                       sorted(pkgs), capture_output=True, text=True)
    via = {}
    for ln in r.stdout.splitlines():
        pkg, _, dl = ln.partition("\t")
        for d in re.split(r"[,|]", dl):
            d = d.strip().split(" ")[0].split(":")[0]
            if d:
                via.setdefault(d, pkg)
    return via


_base = None


def base_package(pkg):
    """Part of every Debian system: Essential, or Priority required."""
    global _base
    if _base is None:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Package} "
                            "${Essential} ${Priority}\n"],
                           capture_output=True, text=True)
        _base = {f[0] for f in (ln.split() for ln in r.stdout.splitlines())
                 if "yes" in f[1:] or "required" in f[1:]}
    return pkg in _base


def which(prog):
    if prog.startswith("/"):
        return prog if os.access(prog, os.X_OK) else None
    for d in SYSDIRS:
        p = os.path.join(d, prog)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def main():
    deps = deps_packages()
    via = depends_of(deps)
    problems, notes, unseen_all = [], [], []
    uses = {}           # program -> [(file, line, guarded)]

    # the cli tests, and what runs them or the demo (these have no skips)
    cli = sorted(glob.glob(os.path.join(TOP, "tests/cli/*.sh"))) + \
        [os.path.join(TOP, f) for f in ("tests/run.sh", "scripts/demo.sh")]
    parsed = {p: scan_shell(p) for p in cli}
    def assignments(src):
        """VAR=literal lines; a variable given two values is not known."""
        vals = {}
        for var, val in re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)="
                                   r"([^\s$`\"'();&|]+)\s*$", src, re.M):
            vals[var] = val if vals.get(var, val) == val else None
        return vals

    # functions and variables of the helpers (lib.sh, guest.sh, snap.sh)
    # are seen by every test; a test's own ones by that test only
    funcs, env = set(), {}
    for p, (src, _) in parsed.items():
        funcs |= set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)",
                                src, re.M))
        if not os.path.basename(p)[0].isdigit():
            env.update(assignments(src))
    env["OVFKIT"] = "ovfkit"            # the binary under test, ours
    env["OVFK_SRCDIR"] = TOP

    def guards(path, seen=()):
        src = parsed[path][0]
        g = set(re.findall(r"^\s*need\s+([^\s;|&]+)", src, re.M))
        for m in re.finditer(r"command -v ([A-Za-z0-9_.+-]+)[^\n]*\|\|\s*"
                             r"skip\s+\"([^\"]*)\"", src):
            if re.search(r"\b%s\b" % re.escape(m.group(1)), m.group(2)):
                g.add(m.group(1))
        for inc in re.findall(r"^\s*\.\s+\"?\$OVFK_SRCDIR/(tests/cli/"
                              r"[A-Za-z0-9_.-]+\.sh)", src, re.M):
            q = os.path.join(TOP, inc)
            if q in parsed and q not in seen:
                g |= guards(q, seen + (path,))
        return g

    for p, (src, sc) in parsed.items():
        rel = os.path.relpath(p, TOP)
        g = guards(p)
        out, unseen = [], list(sc.unseen)
        own = dict(env)
        own.update(assignments(src))
        for line, ws in sc.cmds:
            commands_of(ws, own, funcs, out, line, unseen)
        for line, prog in out:
            uses.setdefault(prog, []).append((rel, line, prog in g))
        unseen_all += [(rel, ln, u) for ln, u in unseen]

    c_files = subprocess.run(["git", "-C", TOP, "ls-files", "*.c", "*.h"],
                             capture_output=True, text=True).stdout.split()
    if not c_files:     # not a git checkout: the tree as it is
        c_files = [os.path.relpath(p, TOP) for p in
                   glob.glob(os.path.join(TOP, "**/*.[ch]"), recursive=True)]
    for rel in sorted(c_files):
        if rel.startswith(("bench/", "build/")):
            continue
        found, unseen = scan_c(os.path.join(TOP, rel), rel, env, problems)
        for line, prog in found:
            uses.setdefault(prog, []).append((rel, line, False))
        unseen_all += [(rel, ln, u) for ln, u in unseen]

    paths = [which(p) for p in uses]
    paths = [p for p in paths if p]
    load_owners(paths + [a for p in paths for a in alternatives(p)])
    checked = 0
    for prog in sorted(uses):
        sites = sorted(set(uses[prog]))
        base = os.path.basename(prog)
        if "/" in prog and not prog.startswith("/"):
            continue        # a path into the test's own files
        if base == "ovfkit" or prog.startswith(TOP):
            continue
        checked += 1
        where = ", ".join("%s:%d" % (f, ln) for f, ln, _ in sites[:3])
        if len(sites) > 3:
            where += " (+%d)" % (len(sites) - 3)
        unguarded = [s for s in sites if not s[2]]
        path = which(prog)
        pkg = owner(path) if path else None
        how = None
        for p in [path] + alternatives(path) if path else []:
            q = owner(p)
            if q in deps:
                how = q
            elif q in via:
                how = "%s, a dependency of %s" % (q, via[q])
            elif q and base_package(q):
                how = "%s, in every Debian" % q
            if how:
                break
        if how:
            if VERBOSE:
                print("ok: %s (%s) %s" % (prog, how, where))
            continue
        why = ("not installed" if not path else
               "from %s, which is not a Debian package" % path if not pkg
               else "Debian package %s, which scripts/deps.sh does not "
               "install" % pkg)
        if not unguarded:
            notes.append("%s: %s; its tests skip (need %s)" %
                         (prog, why, prog))
            continue
        uw = ", ".join("%s:%d" % (f, ln) for f, ln, _ in unguarded[:3])
        fix = "add %s to PKGS in scripts/deps.sh" % (pkg or "its package")
        if any(f.endswith(".sh") for f, _, _ in unguarded):
            fix += ", or guard the test with `need %s PACKAGE`" % prog
        problems.append("'%s' (%s) is run at %s with no skip naming it: %s"
                        % (prog, why, uw, fix))

    for n in notes:
        print("note: " + n)
    if VERBOSE:
        for f, ln, u in unseen_all:
            print("not seen: %s:%d: %s" % (f, ln, u))
    for pr in problems:
        print("FAIL: " + pr)
    print("check-tools: %d programs checked, %d problems, %d places not "
          "seen (-v lists them)" % (checked, len(problems), len(unseen_all)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
