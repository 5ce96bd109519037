# SPDX-License-Identifier: LGPL-2.1-or-later
# ovfkit - one GNU Makefile (git style), dependencies through pkg-config.
#
#   make                      library (static + shared), ovfkit.pc, ovfkit
#   make check                unit tests, command-line tests, fuzz corpus
#   make SANITIZE=address,undefined check
#   make fuzz                 libFuzzer targets (clang)
#   make install PREFIX=/usr DESTDIR=/tmp/root
#   make WERROR=0             release build without -Werror

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
BINDIR   ?= $(PREFIX)/bin
INCDIR   ?= $(PREFIX)/include
DATADIR  ?= $(PREFIX)/share/ovfkit
PKGDIR   ?= $(LIBDIR)/pkgconfig
NBDKITDIR ?= $(LIBDIR)/nbdkit/plugins
MANDIR   ?= $(PREFIX)/share/man
# bash-completion's directory, moved under PREFIX (its .pc names /usr
# outright; bash-completion looks in /usr/local/share too):
# /usr/share/bash-completion/completions when PREFIX=/usr
BASHCOMPDIR ?= $(or $(shell pkg-config --define-variable=prefix=$(PREFIX) \
    --define-variable=datadir=$(PREFIX)/share \
    --variable=completionsdir bash-completion 2>/dev/null), \
    $(PREFIX)/share/bash-completion/completions)
UNITDIR  ?= $(PREFIX)/lib/systemd/system
PYTHON   ?= python3
SCDOC    ?= scdoc

CC       ?= cc
WERROR   ?= 1
SANITIZE ?=
VERSION  := 0.1.0
SOVER    := 0

# libguestfs and libvirt are compiled against but loaded on first use
# (util/dlib.h): only the commands that need them pay for loading them
LINKED   := json-c libxml-2.0 libarchive openssl zlib libvhdi libzstd blkid ext2fs com_err
PKGS     := $(LINKED) libguestfs libvirt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(LINKED) 2>/dev/null)

BUILD    := build
ifneq ($(SANITIZE),)
BUILD    := build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
# ASan resolves its xdr_* interceptors at start-up; libvirt, loaded later,
# brings libtirpc, whose calls would then jump to NULL: load it up front
SANLIBS  := -Wl,--no-as-needed -ltirpc -Wl,--as-needed
endif

WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter \
            -Wstrict-prototypes -Wmissing-prototypes -Wvla \
            -Wno-format-truncation
ifeq ($(WERROR),1)
WARN     += -Werror
endif

CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -pthread -fPIC -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
             -DOVFK_DATADIR='"$(DATADIR)"' -I. -Iinclude \
             -include util/banned.h \
             $(WARN) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS) $(SANLIBS)

LIB_DIRS := util vhd image ovf vmm sysprep hv snapshot convert p2v backup
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/cli/help_text.o
# the man pages (scdoc sources) and, made from them, the CLI's help
MAN_SRCS := $(wildcard doc/*.1.scd)
MANS     := $(MAN_SRCS:doc/%.scd=$(BUILD)/man/%)
UNITS    := $(BUILD)/systemd/ovfkit-backup@.service \
            $(BUILD)/systemd/ovfkit-backup@.timer
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay_%)
NBDKIT_SRCS := $(wildcard nbdkit/*.c)
NBDKIT_PLUGIN := $(if $(NBDKIT_SRCS),$(BUILD)/nbdkit-ovfkit-plugin.so)
# A sanitized plugin needs the sanitizer's runtime loaded first in nbdkit,
# which is not built with it: sanitized builds make $(BUILD)/wrap/nbdkit,
# which preloads it, and tests/run.sh puts $(BUILD)/wrap first in PATH
# (nbdkit's own leaks are not ours to report)
NBDKIT_WRAP := $(if $(SANITIZE),$(BUILD)/wrap/nbdkit)

STATIC   := $(BUILD)/libovfkit.a
SHARED   := $(BUILD)/libovfkit.so.$(SOVER)
BIN      := $(BUILD)/ovfkit
PC       := $(BUILD)/ovfkit.pc

all: $(STATIC) $(SHARED) $(BIN) $(PC) $(NBDKIT_PLUGIN) $(NBDKIT_WRAP) ovfkit \
     $(MANS) $(UNITS)

# A link in the top directory so README commands can say ./ovfkit.
ovfkit: $(BIN)
	@ln -sf $(BIN) ovfkit

# V=1 shows the full commands
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# `ovfkit help` and every --help: the man page sources, as C strings
$(BUILD)/cli/help_text.c: scripts/scd2help.py $(MAN_SRCS)
	@mkdir -p $(dir $@)
	$(Q)$(PYTHON) scripts/scd2help.py $(MAN_SRCS) > $@.tmp
	@mv $@.tmp $@
$(BUILD)/cli/help_text.o: $(BUILD)/cli/help_text.c cli/help.h
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(BUILD)/cli/help.o $(BUILD)/cli/main.o: cli/help.h

man: $(MANS)
$(BUILD)/man/%: doc/%.scd
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $<")
	$(Q)$(SCDOC) < $< > $@.tmp
	@mv $@.tmp $@

# the units name the ovfkit that `make install` puts in BINDIR
$(BUILD)/systemd/%: systemd/%.in
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' $< > $@

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The shared library exports what include/ovfkit/*.h declare and nothing
# else: libovfkit.map (scripts/public-symbols.py --map) is its version
# script, and tests/cli/0007-exports.sh checks headers, map and .so agree.
$(SHARED): $(LIB_OBJS) libovfkit.map
	$(CC) -shared -Wl,-soname,libovfkit.so.$(SOVER) \
	    -Wl,--version-script=libovfkit.map $(ALL_LDFLAGS) -o $@ \
	    $(LIB_OBJS) $(PKG_LIBS)
	@ln -sf libovfkit.so.$(SOVER) $(BUILD)/libovfkit.so

$(BIN): $(CLI_OBJS) $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC) $(PKG_LIBS)

$(NBDKIT_PLUGIN): $(NBDKIT_SRCS:%.c=$(BUILD)/%.o) $(STATIC)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $(NBDKIT_SRCS:%.c=$(BUILD)/%.o) $(STATIC) $(PKG_LIBS)

$(BUILD)/wrap/nbdkit: scripts/nbdkit-san.sh
	@mkdir -p $(dir $@)
	sed -e 's|@PRELOAD@|$(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)|' \
	    -e 's|@NBDKIT@|$(or $(shell PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v nbdkit),/usr/sbin/nbdkit)|' \
	    scripts/nbdkit-san.sh > $@
	chmod +x $@

$(PC): FORCE
	@mkdir -p $(dir $@)
	printf 'prefix=%s\nlibdir=%s\nincludedir=%s\n\nName: ovfkit\nDescription: OVF/OVA packages, VHD disks and VM conversion\nVersion: %s\nRequires.private: %s\nLibs: -L$${libdir} -lovfkit\nCflags: -I$${includedir}\n' \
	    '$(PREFIX)' '$(LIBDIR)' '$(INCDIR)' '$(VERSION)' '$(LINKED)' > $@

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/harness.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC) $(PKG_LIBS)

# the command line's number parser is the CLI's, not the library's
$(BUILD)/tests/unit/test_numarg: tests/unit/test_numarg.c tests/unit/harness.h \
		$(BUILD)/cli/numarg.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/cli/numarg.o \
	    $(STATIC) $(PKG_LIBS)

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(STATIC) $(PKG_LIBS)

# libFuzzer builds need clang; `make fuzz` then `build-fuzz/fuzz_vhd corpus`
FUZZ_CC ?= clang
fuzz: $(FUZZ_SRCS)
	@mkdir -p build-fuzz
	for f in $(FUZZ_SRCS); do \
	    n=$$(basename $$f .c); \
	    $(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
	        -D_FILE_OFFSET_BITS=64 -DOVFK_DATADIR='"$(DATADIR)"' -I. -Iinclude \
	        -include util/banned.h $(PKG_CFLAGS) \
	        -o build-fuzz/$$n $$f $(LIB_SRCS) $(PKG_LIBS) || exit 1; \
	done

# The example programs, built as a user of the library builds them: against
# a staged `make install` (headers, libovfkit.so, ovfkit.pc) through
# pkg-config, never against the source tree.  tests/cli/0009 runs them.
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
STAGE    := $(abspath $(BUILD))/stage
examples: $(EXAMPLES)
$(STAGE)/.installed: $(SHARED) $(wildcard include/ovfkit/*.h) \
                     $(wildcard data/*.json data/json-schema/*.json)
	$(Q)$(MAKE) -s install PREFIX=$(STAGE) BUILD=$(BUILD) \
	    SANITIZE=$(SANITIZE) > /dev/null
	@touch $@
$(BUILD)/examples/%: examples/%.c $(STAGE)/.installed
	@mkdir -p $(dir $@)
	$(CC) -Wall -Wextra -Werror $(SANFLAGS) -o $@ $< \
	    $$(PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig pkg-config --cflags \
	       --libs ovfkit) -Wl,-rpath,$(STAGE)/lib

check: all $(UNIT_BINS) $(REPLAY_BINS) $(EXAMPLES)
	@BUILD=$(BUILD) tests/run.sh

install: all install-man install-completion install-systemd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGDIR) \
	    $(DESTDIR)$(INCDIR)/ovfkit $(DESTDIR)$(DATADIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/ovfkit
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libovfkit.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libovfkit.so.$(SOVER)
	ln -sf libovfkit.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libovfkit.so
	install -m 644 include/ovfkit/*.h $(DESTDIR)$(INCDIR)/ovfkit/
	install -m 644 $(PC) $(DESTDIR)$(PKGDIR)/ovfkit.pc
	if [ -d data ]; then cp -r data/. $(DESTDIR)$(DATADIR)/; fi
	if [ -n "$(NBDKIT_PLUGIN)" ]; then install -d $(DESTDIR)$(NBDKITDIR); \
	    install -m 755 $(NBDKIT_PLUGIN) $(DESTDIR)$(NBDKITDIR)/nbdkit-ovfkit-plugin.so; fi

install-man: $(MANS)
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MANS) $(DESTDIR)$(MANDIR)/man1/

install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 completion/ovfkit.bash $(DESTDIR)$(BASHCOMPDIR)/ovfkit

install-systemd: $(UNITS)
	install -d $(DESTDIR)$(UNITDIR)
	install -m 644 $(UNITS) $(DESTDIR)$(UNITDIR)/

clean:
	rm -rf build build-san build-fuzz ovfkit

.PHONY: all check install clean fuzz examples man install-man \
        install-completion install-systemd FORCE
FORCE:
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
