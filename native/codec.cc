#include "codec.h"

#include <lz4frame.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <cstring>

namespace volbackd {

Digest Xxh3_128(const uint8_t* data, size_t len) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
  Digest d;
  static_assert(sizeof(c.digest) == sizeof(Digest), "XXH128 canonical is 16 bytes");
  memcpy(d.data(), c.digest, d.size());
  return d;
}

std::string ToHex(const uint8_t* bytes, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(len * 2, '0');
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = kHex[bytes[i] >> 4];
    s[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return s;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseDigestHex(const std::string& hex, Digest* out) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; i++) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool IsAllZero(const uint8_t* data, size_t len) {
  // Word-wise OR over 4 KiB stretches: vectorised by the compiler, and it stops at
  // the first non-zero stretch, so data chunks cost almost nothing here.
  size_t i = 0;
  const size_t kStretch = 4096;
  while (i + kStretch <= len) {
    uint64_t acc = 0;
    const uint8_t* p = data + i;
    for (size_t j = 0; j < kStretch; j += 8) {
      uint64_t w;
      memcpy(&w, p + j, 8);
      acc |= w;
    }
    if (acc != 0) return false;
    i += kStretch;
  }
  for (; i < len; i++) {
    if (data[i] != 0) return false;
  }
  return true;
}

static LZ4F_preferences_t Preferences(size_t len) {
  LZ4F_preferences_t p;
  memset(&p, 0, sizeof(p));
  // One 4 MB block per chunk, independent blocks, content size in the header (so
  // `lz4 -d` and tools can check the length); no content checksum: the chunk's
  // XXH3-128 name already covers the content end to end.
  p.frameInfo.blockSizeID = LZ4F_max4MB;
  p.frameInfo.blockMode = LZ4F_blockIndependent;
  p.frameInfo.contentSize = len;
  p.compressionLevel = 1;  // same speed class as `lz4 -1`
  return p;
}

size_t Lz4FrameBound(size_t len) {
  LZ4F_preferences_t p = Preferences(len);
  return LZ4F_compressFrameBound(len, &p);
}

size_t Lz4FrameCompress(const uint8_t* src, size_t len, uint8_t* dst, size_t cap) {
  LZ4F_preferences_t p = Preferences(len);
  if (cap < LZ4F_compressFrameBound(len, &p)) return 0;
  size_t n = LZ4F_compressFrame(dst, cap, src, len, &p);
  return LZ4F_isError(n) ? 0 : n;
}

std::string Lz4FrameDecode(const std::vector<Segment>& segments, uint8_t* dst, size_t expected) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return "cannot create an LZ4 decompression context";
  }
  std::string err;
  size_t produced = 0;
  size_t hint = 1;  // 0 once the frame is complete
  for (const Segment& seg : segments) {
    const uint8_t* in = seg.first;
    size_t left = seg.second;
    while (left > 0) {
      if (hint == 0) {
        err = "trailing bytes after the end of the LZ4 frame";
        break;
      }
      size_t in_size = left;
      size_t out_size = expected - produced;
      hint = LZ4F_decompress(dctx, dst + produced, &out_size, in, &in_size, nullptr);
      if (LZ4F_isError(hint)) {
        err = std::string("corrupt LZ4 frame: ") + LZ4F_getErrorName(hint);
        break;
      }
      produced += out_size;
      in += in_size;
      left -= in_size;
      if (in_size == 0 && out_size == 0) {
        // No progress with input left means the output is full: the frame holds
        // more than the chunk's length.
        err = "LZ4 frame decodes to more than " + std::to_string(expected) + " bytes";
        break;
      }
    }
    if (!err.empty()) break;
  }
  if (err.empty() && hint != 0) err = "truncated LZ4 frame";
  if (err.empty() && produced != expected) {
    err = "LZ4 frame decodes to " + std::to_string(produced) + " bytes, expected " +
          std::to_string(expected);
  }
  LZ4F_freeDecompressionContext(dctx);
  return err;
}

std::string Md5HexSegments(const std::vector<Segment>& segments) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return std::string();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  bool ok = EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1;
  for (const Segment& s : segments) ok = ok && EVP_DigestUpdate(ctx, s.first, s.second) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, md, &n) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? ToHex(md, n) : std::string();
}

std::string Md5Hex(const uint8_t* data, size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data, len, md, &n, EVP_md5(), nullptr) != 1) return std::string();
  return ToHex(md, n);
}

}  // namespace volbackd
