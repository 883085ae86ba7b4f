// One job: the chunk codec. Pure functions over bytes, no napi, no syscalls, so they
// run on worker threads and in the native unit tests alike.
//   - XXH3-128 digests (system libxxhash), canonical big-endian = `xxhsum -H2`
//   - all-zero detection
//   - standard LZ4 frames (system liblz4), decodable by `lz4 -d` and lz4-napi
//   - MD5 of an object body (Swift's ETag), through the OpenSSL that Node exports
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace volbackd {

using Digest = std::array<uint8_t, 16>;

Digest Xxh3_128(const uint8_t* data, size_t len);
std::string ToHex(const uint8_t* bytes, size_t len);
inline std::string ToHex(const Digest& d) { return ToHex(d.data(), d.size()); }
// Parses 32 lowercase/uppercase hex digits; false on anything else.
bool ParseDigestHex(const std::string& hex, Digest* out);

bool IsAllZero(const uint8_t* data, size_t len);

// Upper bound of an LZ4 frame for `len` input bytes with our preferences.
size_t Lz4FrameBound(size_t len);
// Compresses into dst; returns the frame size, or 0 when dst is too small or on
// error (the caller then stores the chunk raw).
size_t Lz4FrameCompress(const uint8_t* src, size_t len, uint8_t* dst, size_t cap);

// Decodes one frame given as a list of segments (the body as it arrived from the
// network, never gathered on the JS thread) into dst, which must receive exactly
// `expected` bytes. Returns an empty string on success, else what was wrong.
using Segment = std::pair<const uint8_t*, size_t>;
std::string Lz4FrameDecode(const std::vector<Segment>& segments, uint8_t* dst, size_t expected);

std::string Md5Hex(const uint8_t* data, size_t len);
// The MD5 of the segments' bytes, in order (an object body as it was received).
std::string Md5HexSegments(const std::vector<Segment>& segments);

}  // namespace volbackd
