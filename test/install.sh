#!/usr/bin/env bash
# install.sh — `make install PREFIX=… DESTDIR=…` into a temp dir, then build
# a program the way a user would (pkg-config) against the installed
# library and run it: checks layout, SONAME, exported symbols, libtrace.pc.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/opt/swarm-tracer
make -s install PREFIX=$prefix DESTDIR="$dest" >/dev/null
root=$dest$prefix
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }

check "header installed" "[ -f $root/include/trace.h ]"
check "shared library installed" "[ -f $root/lib/libtrace.so.0.1.0 ] && [ -L $root/lib/libtrace.so.0 ] && [ -L $root/lib/libtrace.so ]"
check "static library installed" "[ -f $root/lib/libtrace.a ]"
check "SONAME is libtrace.so.0" "readelf -d $root/lib/libtrace.so.0.1.0 | grep -q 'SONAME.*libtrace.so.0'"
check "only the trace_ API is exported" "! nm -D --defined-only $root/lib/libtrace.so.0.1.0 | awk '\$2 ~ /[TDB]/ {print \$3}' | grep -v '^trace_' | grep -q ."
check "collector installed" "[ -x $root/bin/trace-collector ] && $root/bin/trace-collector --help | grep -q -- --ingest"
check "UI installed" "[ -f $root/share/trace-collector/ui/index.html ]"

# pkg-config with the prefix rewritten to where DESTDIR put it
sed "s|^prefix=.*|prefix=$root|" "$root/lib/pkgconfig/libtrace.pc" > "$dest/libtrace.pc"
cat > "$dest/app.c" <<'C'
#include <trace.h>
#include <stdio.h>
int main(void) {
    trace_config cfg;
    trace_config_from_env(&cfg);
    cfg.enabled = 0;
    if (trace_init(&cfg)) return 1;
    trace_info("app", "custom.hello", "hello %d", 1);
    trace_shutdown();
    printf("ok %d.%d\n", TRACE_VERSION_MAJOR, TRACE_VERSION_MINOR);
    return 0;
}
C
flags=$(PKG_CONFIG_PATH=$dest pkg-config --cflags --libs libtrace)
check "pkg-config names the library" "[[ '$flags' == *-ltrace* ]]"
check "a program builds against the installed library" "cc -std=c11 -Wall -Werror $dest/app.c $flags -Wl,-rpath,$root/lib -o $dest/app"
check "and runs" "[ \"\$($dest/app)\" = 'ok 0.1' ]"
check "C++ can include trace.h" "printf '#include <trace.h>\nint main(){trace_config c; trace_config_from_env(&c); return 0;}\n' | c++ -x c++ - $flags -Wl,-rpath,$root/lib -o $dest/appxx && $dest/appxx"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
