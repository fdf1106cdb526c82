# Swarm tracer — top-level build.  `make` builds everything into build/;
# `make test` and `make demo` also install what is missing (scripts/deps.sh).
# See README.md.

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
SAN       ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
ifeq ($(SAN),asan)
  CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDSAN  := -fsanitize=address,undefined
else ifeq ($(SAN),tsan)
  CFLAGS += -O1 -fsanitize=thread
  LDSAN  := -fsanitize=thread
endif
ALL_CFLAGS := $(WARN) $(CFLAGS) -pthread -Ilibtrace/include -Iwire
ZMQ_LIBS   := $(shell pkg-config --libs libzmq 2>/dev/null || echo -lzmq)
LZ4_LIBS   := $(shell pkg-config --libs liblz4 2>/dev/null || echo -llz4)
SQL_LIBS   := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)
CJSON_CFLAGS := $(shell pkg-config --cflags libcjson 2>/dev/null)
CJSON_LIBS := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson)

LIB_SRC  := libtrace/trace.c libtrace/ring.c libtrace/flusher.c libtrace/sampler.c libtrace/format.c \
            libtrace/clock.c libtrace/hooks.c libtrace/selfmon.c libtrace/crash.c wire/wire.c
COLL_SRC := collector/main.c collector/ingest.c collector/store.c collector/stream.c \
            collector/api.c collector/db.c collector/json.c collector/jw.c collector/smap.c \
            collector/log.c collector/query.c collector/params.c collector/columns.c wire/wire.c
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/bin/%,$(wildcard examples/*.c))
UNIT_TESTS := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(wildcard test/unit/*.c))

LIB_PIC  := $(patsubst %.c,$(BUILD)/obj/pic/%.o,$(LIB_SRC))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/static/%.o,$(LIB_SRC))
COLL_OBJ := $(patsubst %.c,$(BUILD)/obj/coll/%.o,$(COLL_SRC)) $(BUILD)/obj/coll/schema_sql.o

SONAME   := libtrace.so.$(SOVERSION)
SHLIB    := $(BUILD)/lib/libtrace.so.$(VERSION)

.PHONY: all lib collector examples ui deps test unit-tests demo install clean bench fuzz fuzz-targets stress
all: lib collector examples ui

lib: $(SHLIB) $(BUILD)/lib/libtrace.a $(BUILD)/lib/libtrace.pc
collector: $(BUILD)/bin/trace-collector
examples: $(EXAMPLES)

$(BUILD)/obj/pic/%.o: %.c $(wildcard libtrace/*.h wire/*.h libtrace/include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@
$(BUILD)/obj/static/%.o: %.c $(wildcard libtrace/*.h wire/*.h libtrace/include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/obj/coll/%.o: %.c $(wildcard collector/*.h wire/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CJSON_CFLAGS) '-DTRACE_DEFAULT_UI_DIR="$(PREFIX)/share/trace-collector/ui"' -c $< -o $@
$(BUILD)/obj/coll/schema_sql.o: collector/schema_sql.S schema/schema.sql
	@mkdir -p $(dir $@)
	$(CC) -c '-DSCHEMA_PATH="schema/schema.sql"' $< -o $@

$(SHLIB): $(LIB_PIC) libtrace/libtrace.map
	@mkdir -p $(dir $@)
	$(CC) -shared -pthread -Wl,-soname,$(SONAME) -Wl,--version-script=libtrace/libtrace.map \
	    -Wl,-z,defs $(LDSAN) -o $@ $(LIB_PIC) $(ZMQ_LIBS) $(LZ4_LIBS)
	ln -sf libtrace.so.$(VERSION) $(BUILD)/lib/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/lib/libtrace.so
$(BUILD)/lib/libtrace.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/lib/libtrace.pc: pkgconfig/libtrace.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/bin/trace-collector: $(COLL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -pthread $(LDSAN) -o $@ $^ $(ZMQ_LIBS) $(LZ4_LIBS) $(SQL_LIBS) $(CJSON_LIBS) -lcivetweb

# examples link the shared library, found beside them at run time
$(BUILD)/bin/%: examples/%.c $(SHLIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(BUILD)/lib -ltrace $(LDSAN) -Wl,-rpath,'$$ORIGIN/../lib'

# collector modules tested on their own: the JSON the stream writes
$(BUILD)/test/json_writer: test/unit/json_writer.c collector/json.c collector/jw.c collector/params.c \
                           collector/collector.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CJSON_CFLAGS) -Icollector -o $@ $< collector/json.c collector/jw.c \
	    collector/params.c $(LDSAN) $(CJSON_LIBS) $(SQL_LIBS) -lcivetweb

$(BUILD)/test/%: test/unit/%.c $(wildcard test/unit/*.h) $(BUILD)/lib/libtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilibtrace -o $@ $< $(BUILD)/lib/libtrace.a $(LDSAN) $(ZMQ_LIBS) $(LZ4_LIBS)

# ---- UI ----
UI_SRC := $(shell find viz-ui/src viz-ui/index.html viz-ui/package.json viz-ui/vite.config.ts 2>/dev/null)
ui: viz-ui/dist/index.html
viz-ui/dist/index.html: $(UI_SRC) viz-ui/node_modules/.package-lock.json
	cd viz-ui && npm run build
viz-ui/node_modules/.package-lock.json: viz-ui/package-lock.json
	cd viz-ui && npm ci --no-audit --no-fund
test/node_modules/.package-lock.json: test/package-lock.json
	cd test && npm ci --no-audit --no-fund

# ---- the two commands of the README ----
deps:
	bash scripts/deps.sh

test:
	bash scripts/deps.sh test
	$(MAKE) all unit-tests
	$(MAKE) BUILD=build-asan SAN=asan lib collector examples unit-tests
	$(MAKE) BUILD=build-tsan SAN=tsan lib collector examples unit-tests
	$(MAKE) test/node_modules/.package-lock.json
	$(MAKE) fuzz-targets
	bash test/run.sh

unit-tests: $(UNIT_TESTS) $(BUILD)/bin/wire-inject $(BUILD)/bin/wire-flood $(BUILD)/bin/fault-producer

# the collector's parsers of client input, without a server
$(BUILD)/test/params: test/unit/params.c test/unit/check.h $(BUILD)/obj/coll/collector/params.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CJSON_CFLAGS) -Icollector -o $@ $< $(BUILD)/obj/coll/collector/params.o \
	    $(LDSAN) $(CJSON_LIBS) -lcivetweb

# a hostile producer for the collector's end-to-end tests
$(BUILD)/bin/wire-inject: test/tools/wire_inject.c $(BUILD)/lib/libtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/lib/libtrace.a $(LDSAN) $(ZMQ_LIBS) $(LZ4_LIBS)

# ---- long runs: minutes of load (test/stress/) ----
# the long runs, minutes each: faults (collector down, kill -9, crashes)
# and load (1000 WebSocket clients)
stress:
	bash scripts/deps.sh test
	$(MAKE) all unit-tests test/node_modules/.package-lock.json
	bash test/stress/faults.sh
	bash test/stress/load.sh

# ---- fuzzing (libFuzzer, clang): fuzz/README.md ----
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_TARGETS := wire_decode rest_query ws_message
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -Iwire -Icollector $(CJSON_CFLAGS)
fuzz-targets: $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
$(FUZZ_BUILD)/wire_decode: fuzz/wire_decode.c wire/wire.c wire/wire.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/wire_decode.c wire/wire.c $(LZ4_LIBS)
$(FUZZ_BUILD)/%: fuzz/%.c collector/params.c collector/collector.h wire/wire.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< collector/params.c $(CJSON_LIBS) -lcivetweb
# every target for FUZZ_SECONDS each (make fuzz FUZZ_SECONDS=600)
fuzz: fuzz-targets
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

# garbage and sustained load for the hostile and load tests
$(BUILD)/bin/wire-flood: test/tools/wire_flood.c $(BUILD)/lib/libtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/lib/libtrace.a $(LDSAN) $(ZMQ_LIBS) $(LZ4_LIBS)

# the agent of the fault tests: numbered events, timed calls, crashes on demand
$(BUILD)/bin/fault-producer: test/tools/fault_producer.c $(BUILD)/lib/libtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/lib/libtrace.a $(LDSAN) $(ZMQ_LIBS) $(LZ4_LIBS)

$(BUILD)/bin/bench-%: bench/%.c $(BUILD)/lib/libtrace.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 -o $@ $< $(BUILD)/lib/libtrace.a $(ZMQ_LIBS) $(LZ4_LIBS) $(SQL_LIBS)

# the example swarm with tracing compiled out: the overhead baseline
$(BUILD)/bin/swarm-demo-notrace: examples/swarm-demo.c libtrace/include/trace.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DTRACE_DISABLE -o $@ $<

bench: lib collector examples ui $(BUILD)/bin/bench-hotpath $(BUILD)/bin/bench-ingest \
       $(BUILD)/bin/bench-latency_producer $(BUILD)/bin/bench-ui_trace $(BUILD)/bin/swarm-demo-notrace \
       test/node_modules/.package-lock.json
	bash bench/run.sh

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/trace-collector/ui
	install -m 644 $(SHLIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libtrace.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libtrace.so
	install -m 644 $(BUILD)/lib/libtrace.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 libtrace/include/trace.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/lib/libtrace.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 755 $(BUILD)/bin/trace-collector $(DESTDIR)$(PREFIX)/bin/
	cp -r viz-ui/dist/. $(DESTDIR)$(PREFIX)/share/trace-collector/ui/

clean:
	rm -rf build build-asan build-tsan build-fuzz viz-ui/dist
