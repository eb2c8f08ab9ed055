#!/bin/bash
# Builds Kyoto Cabinet and Kyoto Tycoon (ktserver, ktremotemgr, ktremotetest) from a source
# tree of the alticelabs/kyoto repository into PREFIX, for the interop test and the
# benchmarks. Needs g++, make, pkg-config, zlib, liblzo2-dev and liblua5.1-0-dev.
#
#   scripts/build-kyoto-tycoon.sh SOURCE_DIR PREFIX
#   KT_BIN=PREFIX/bin KT_LIB=PREFIX/lib node scripts/run-tests.js interop/ktremotemgr
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR PREFIX (SOURCE_DIR holds kyotocabinet/ and kyototycoon/)" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
prefix=$(mkdir -p "$2" && cd "$2" && pwd)
for dir in kyotocabinet kyototycoon; do
  [ -x "$src/$dir/configure" ] || { echo "$0: no $dir/configure under $src" >&2; exit 1; }
done
jobs=$(nproc 2>/dev/null || echo 2)
# Both are older C++ that today's g++ only takes with -fpermissive.
cd "$src/kyotocabinet"
CXXFLAGS="-fpermissive -O2" ./configure --prefix="$prefix" --disable-opt >"$prefix/kc-configure.log" 2>&1
make -j"$jobs" >"$prefix/kc-make.log" 2>&1
make install >"$prefix/kc-install.log" 2>&1
cd "$src/kyototycoon"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" CXXFLAGS="-fpermissive -O2" CPPFLAGS="-I$prefix/include -I/usr/include/lua5.1" LDFLAGS="-L$prefix/lib" \
  ./configure --prefix="$prefix" --with-kc="$prefix" --enable-lua --with-lua=/usr >"$prefix/kt-configure.log" 2>&1
make -j"$jobs" >"$prefix/kt-make.log" 2>&1
make install >"$prefix/kt-install.log" 2>&1
echo "built: $prefix/bin/ktserver, $prefix/bin/ktremotemgr (run them with LD_LIBRARY_PATH=$prefix/lib)"
