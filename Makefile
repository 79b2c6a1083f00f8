# sov - one non-recursive Makefile for libsov, every tool, tests and benches.
#
#   make                 build/libsov.a and build/sov-* (warnings always on)
#   make check           deps, build, then every test; ends "N passed, N failed, N skipped"
#   make check-unit      only the C unit tests (CI runs this again with SANITIZE=1)
#   make demo            deps, build, run the demo on the embedded defaults
#   make bench           run bench/ (installs the peers it needs, says so)
#   make fuzz            build the libFuzzer targets with clang, run each FUZZ_SECONDS
#   make install         PREFIX=/usr/local DESTDIR=
#   make deps            install missing Debian packages (root), or say which
#   make format          clang-format every C file
#
#   WERROR=1    warnings are errors (CI)
#   SANITIZE=1  AddressSanitizer + UBSan, built into build/sanitize/
#   VALGRIND=1  run the unit tests under valgrind's leak checker

VERSION := $(shell cat VERSION)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),1)
B := build/sanitize
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
SANLDFLAGS := -fsanitize=address,undefined
else
B := build
OPT := -O2 -g -D_FORTIFY_SOURCE=2
SANLDFLAGS :=
endif

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wwrite-strings \
	-Wundef -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN += -Werror
endif

# Every library through pkg-config. Debian 12's libjq 1.6 ships no .pc file
# (nixpkgs' 1.7 does): this is the one place that difference is guarded.
PKGS := libpq sqlite3 libcurl libsodium libzstd libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
# -isystem: jv.h defines a static jv_is_valid(); from a non-system include
# directory (libjq 1.7's .pc adds -I) every file that does not call it warns.
JQ_CFLAGS := $(patsubst -I%,-isystem%,$(shell $(PKG_CONFIG) --cflags libjq 2>/dev/null))
JQ_LIBS := $(shell $(PKG_CONFIG) --libs libjq 2>/dev/null || echo -ljq)

CPPFLAGS += -D_GNU_SOURCE -DSOV_VERSION='"$(VERSION)"' -iquote lib
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) -fstack-protector-strong $(PKG_CFLAGS) \
	$(JQ_CFLAGS) $(CFLAGS)
# --as-needed: a tool loads only the libraries it calls (RSS, start-up time).
ALL_LDFLAGS = -Wl,--as-needed $(SANLDFLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) $(JQ_LIBS) -lm

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_HDR := $(wildcard lib/*.h)
LIBSOV := $(B)/libsov.a

# A tool is a folder tools/sov-NAME with a main.c; tools/NAME/tool.mk may add
# LIBS_sov-NAME (sov-cert adds libcrypto, the only tool that may).
TOOLS := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard tools/sov-*/main.c))))
TOOL_BINS := $(TOOLS:%=$(B)/%)
-include $(wildcard tools/*/tool.mk)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SO := $(B)/tests/faultinject.so
HELPER_SRC := $(wildcard tests/helpers/faultinject.c)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

# Keep intermediate objects (the fuzz build would otherwise recompile libsov).
.SECONDARY:

.PHONY: all check check-unit demo bench fuzz fuzz-build install uninstall \
	deps format clean tests

all: $(LIBSOV) $(TOOL_BINS)

$(B)/obj/%.o: %.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBSOV): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# A tool's objects other than main.o also form $(B)/obj/tools/sov-NAME.a, so
# that tests/unit/test_NAME_*.c and tests/fuzz/fuzz_NAME_*.c can test its
# modules directly (they see the tool's headers through -iquote).
define tool_rule
$(1)_SRC := $$(sort $$(wildcard tools/$(1)/*.c))
$(1)_OBJ := $$(patsubst %.c,$(B)/obj/%.o,$$($(1)_SRC))
$(1)_HDR := $$(wildcard tools/$(1)/*.h)
$(1)_AR := $(B)/obj/tools/$(1).a
$(B)/obj/tools/$(1)/%.o: tools/$(1)/%.c $(LIB_HDR) $$($(1)_HDR)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(ALL_CFLAGS) -c -o $$@ $$<
$(B)/$(1): $$($(1)_OBJ) $(LIBSOV)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS_$(1)) $$(LIBS)
$$($(1)_AR): $$(filter-out %/main.o,$$($(1)_OBJ))
	rm -f $$@
	$$(AR) rcs $$@ $$^
$(B)/tests/test_$(1:sov-%=%)_%: tests/unit/test_$(1:sov-%=%)_%.c tests/unit/tap.h $$($(1)_HDR) $$($(1)_AR) $(LIBSOV)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -iquote tools/$(1) $$(ALL_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$< $$($(1)_AR) $(LIBSOV) $$(LIBS_$(1)) $$(LIBS)
$(1)_FUZZ_OBJ := $$(patsubst %.c,build/fuzz/obj/%.o,$$(filter-out %/main.c,$$($(1)_SRC)))
$$($(1)_FUZZ_OBJ): build/fuzz/obj/%.o: %.c $(LIB_HDR) $$($(1)_HDR)
	@mkdir -p $$(@D)
	$(CLANG) $(FUZZ_FLAGS) -iquote tools/$(1) -c -o $$@ $$<
build/fuzz/fuzz_$(1:sov-%=%)_%: tests/fuzz/fuzz_$(1:sov-%=%)_%.c $$($(1)_FUZZ_OBJ) $(FUZZ_LIB_OBJ)
	$(CLANG) $(FUZZ_FLAGS) -iquote tools/$(1) -fsanitize=fuzzer -o $$@ $$^ $$(LIBS_$(1)) $(LIBS)
endef

$(B)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIBSOV)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBSOV) $(LIBS)

# The fault-injection shim is preloaded into other programs: never sanitized.
$(HELPER_SO): $(HELPER_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

tests: all $(UNIT_BINS) $(if $(HELPER_SRC),$(HELPER_SO))

check: deps tests fuzz-build
	@SOV_BUILD=$(B) tests/run.sh

check-unit: tests
	@SOV_BUILD=$(B) tests/run.sh --only unit

demo: deps all
	@SOV_BUILD=$(B) examples/demo.sh

bench: all
	@SOV_BUILD=$(B) bench/run.sh

# libFuzzer targets: libsov's sources again, built by clang with the fuzzer
# instrumentation. Skipped (with the reason) where clang is missing.
FUZZ_FLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -DSOV_VERSION='"$(VERSION)"' \
	-iquote lib -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) $(JQ_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

fuzz-build:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(FUZZ_BINS); \
	else echo "fuzz: $(CLANG) not found, fuzz targets not built"; fi

fuzz: fuzz-build
	@SOV_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR)
	for t in $(filter-out sov-demo,$(TOOLS)); do \
		install -m 0755 $(B)/$$t $(DESTDIR)$(BINDIR)/$$t || exit 1; done

uninstall:
	for t in $(filter-out sov-demo,$(TOOLS)); do rm -f $(DESTDIR)$(BINDIR)/$$t; done

deps:
	@mk/deps.sh

format:
	clang-format -i lib/*.[ch] $(wildcard tools/*/*.[ch]) tests/unit/*.[ch] \
		$(wildcard tests/helpers/*.c tests/fuzz/*.c)

clean:
	rm -rf build
