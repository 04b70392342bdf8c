# ringload: plain make, pkg-config, out-of-tree objects in build/.
#   make            build/ringload          make test    every test (SAN=1: ASan+UBSan)
#   make demo       serve + load test       make bench   ringload beside wrk
#   make install PREFIX=/usr/local          DEBUG=1      -O0, no Werror surprises hidden
#                                           NOLTO=1      no link-time optimisation

PKGS     := liburing libnghttp2 libprotobuf-c jansson openssl
PREFIX   ?= /usr/local
CC       ?= cc

ifeq ($(SAN),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    := build
SANFLAGS :=
endif
OPT      := $(if $(filter 1,$(DEBUG)),-O0,-O2)

# Link-time optimisation for the binary users run: the hot path crosses files (the
# parser, the accounting, the histograms), and inlining across them takes about 5% off
# the instructions per request. The objects are fat (machine code as well), so the
# tests link them as they are, without the slower optimising link. GCC only; off with
# SAN=1, DEBUG=1 or NOLTO=1.
ifeq ($(SAN)$(DEBUG)$(NOLTO),)
ifneq ($(shell $(CC) --version 2>/dev/null | grep -c 'Free Software Foundation'),0)
LTO      := -flto=auto -ffat-lto-objects
AR       := gcc-ar
endif
endif

# A fresh Debian machine has none of the libraries: install them before pkg-config runs.
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifneq ($(shell command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $(PKGS) && \
	test -f /usr/include/google/protobuf/descriptor.proto && echo ok),ok)
$(info ringload: installing missing build dependencies (tools/install-deps.sh))
INSTALL_RC := $(shell tools/install-deps.sh build >&2; echo $$?)
ifneq ($(INSTALL_RC),0)
$(error tools/install-deps.sh failed; install the packages it names and run make again)
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

CFLAGS   ?= $(OPT) -g
CFLAGS   += $(LTO) -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(SANFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
LDLIBS   := $(PKG_LIBS) -lpthread -lm

PROTOS   := $(wildcard proto/*.proto)
# descriptor.proto (libprotobuf-dev) reads --protoset / --proto descriptor sets
DESC_DIR := $(shell pkg-config --variable=includedir protobuf 2>/dev/null || echo /usr/include)
GEN_SRC  := $(PROTOS:proto/%.proto=$(BUILD)/gen/%.pb-c.c) $(BUILD)/gen/google/protobuf/descriptor.pb-c.c \
            $(BUILD)/gen/builtin_protoset.c
LIB_SRC  := $(filter-out src/cli/main.c,$(sort $(wildcard src/*/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:%.c=%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test demo bench install clean fuzz fuzz-build
all: $(BUILD)/ringload

# protoc-c output lands in build/, never in the tree
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/gen/google/protobuf/descriptor.pb-c.c: $(DESC_DIR)/google/protobuf/descriptor.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=$(DESC_DIR) --c_out=$(BUILD)/gen google/protobuf/descriptor.proto

# the built-in service's descriptors, for templated --data: a FileDescriptorSet as bytes
$(BUILD)/gen/builtin_protoset.c: proto/user_service.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto -o$(BUILD)/gen/builtin.protoset user_service.proto
	{ echo '/* generated from proto/user_service.proto by the Makefile */'; \
	  echo 'const unsigned char rl_builtin_protoset[] = {'; \
	  od -An -v -tx1 $(BUILD)/gen/builtin.protoset | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; echo 'const unsigned long rl_builtin_protoset_len = sizeof(rl_builtin_protoset);'; } > $@

$(BUILD)/gen/builtin_protoset.o: $(BUILD)/gen/builtin_protoset.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(CFLAGS) -Wno-missing-field-initializers -c $< -o $@

# sources that include generated headers wait for them
$(LIB_SRC:%.c=$(BUILD)/obj/%.o): | $(GEN_SRC)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libringload.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/ringload: $(BUILD)/obj/src/cli/main.o $(BUILD)/libringload.a
	$(CC) $(LDFLAGS) $(LTO) $(OPT) $^ $(LDLIBS) -o $@

# ringload with the test-only hooks (RL_TEST_HOOKS in worker.c: a loop made slow on
# purpose); users' builds never have them
$(BUILD)/obj-hooks/src/engine/worker.o: src/engine/worker.c | $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRL_TEST_HOOKS -c $< -o $@

$(BUILD)/tests/ringload-hooks: $(BUILD)/obj/src/cli/main.o $(BUILD)/obj-hooks/src/engine/worker.o $(BUILD)/libringload.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/libringload.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

test: $(BUILD)/ringload
	@tools/install-deps.sh test
	@$(MAKE) --no-print-directory $(TEST_BIN) $(BUILD)/tests/ringload-hooks fuzz-build
	@BUILD=$(BUILD) tests/run.sh

# libFuzzer targets (clang): the library built again with coverage, ASan and UBSan, in
# build/fuzz. `make fuzz` runs each for FUZZ_SECONDS; `make test` for 20 s each.
FUZZ_DIR     := build/fuzz
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined -MMD -MP
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(GEN_SRC:$(BUILD)/gen/%.c=$(FUZZ_DIR)/gen/%.o)
FUZZ_SECONDS ?= 60

$(FUZZ_DIR)/obj/%.o: %.c | $(GEN_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/libringload.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libringload.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_DIR)/libringload.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

demo: $(BUILD)/ringload
	@tools/demo.sh $(BUILD)/ringload

# the floor under a client's cost (bench/floor.c): sends, counts bytes, parses nothing
$(BUILD)/floor: bench/floor.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $< -o $@ $(LDLIBS)

# ... and under an open loop's at a low rate (bench/open_floor.c): sleep, send, wait
$(BUILD)/open_floor: bench/open_floor.c
	$(CC) $(CFLAGS) $< -o $@

bench: $(BUILD)/ringload $(BUILD)/floor $(BUILD)/open_floor
	@tools/install-deps.sh all
	@bench/bench.sh $(BUILD)/ringload

install: $(BUILD)/ringload
	install -D -m 755 $(BUILD)/ringload $(DESTDIR)$(PREFIX)/bin/ringload
	@if [ -f docs/ringload.1 ]; then install -D -m 644 docs/ringload.1 $(DESTDIR)$(PREFIX)/share/man/man1/ringload.1; fi

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_DIR) -type f -name '*.d' 2>/dev/null)
