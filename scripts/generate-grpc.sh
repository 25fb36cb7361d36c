#!/usr/bin/env bash
# Regenerates Sources/StrataKurrent/Generated from Protos/kurrentdb (the KurrentDB client
# protocol, docs/KURRENTDB.md). The generated files are committed: building the protoc plugins
# takes ten minutes or more, so the build never runs them.
#
#   scripts/generate-grpc.sh
#
# Needs protoc (Debian: protobuf-compiler) and builds, once, in .build-protoc/:
# protoc-gen-swift (swift-protobuf 1.39.0) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf 2.4.1).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
command -v protoc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler; }
plugins="$ROOT/.build-protoc"
if [ ! -x "$plugins/.build/release/protoc-gen-swift" ] || [ ! -x "$plugins/.build/release/protoc-gen-grpc-swift-2" ]; then
  mkdir -p "$plugins/Sources"
  cat > "$plugins/Package.swift" <<'PKG'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: [.executableTarget(name: "Placeholder", path: "Sources")]
)
PKG
  echo 'print("protoc plugins")' > "$plugins/Sources/main.swift"
  (cd "$plugins" && swift build -c release --product protoc-gen-swift && swift build -c release --product protoc-gen-grpc-swift-2)
fi
out="$ROOT/Sources/StrataKurrent/Generated"
rm -rf "$out" && mkdir -p "$out"
protos=(shared.proto status.proto streams.proto persistent.proto serverfeatures.proto gossip.proto)
protoc --proto_path=Protos/kurrentdb --proto_path=/usr/include \
  --plugin=protoc-gen-swift="$plugins/.build/release/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift="$plugins/.build/release/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Package \
  --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Package,Server=true,Client=true \
  "${protos[@]}"
# Protos without a service give empty .grpc.swift files.
rm -f "$out/shared.grpc.swift" "$out/status.grpc.swift"
echo "generated: $(ls "$out" | tr '\n' ' ')"
