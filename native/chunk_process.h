// One job: what happens to a chunk's bytes once they are in memory (stage two of
// a backup chunk, processChunk, after readInto):
//   zero check -> XXH3-128 -> known? (claim) -> LZ4 frame (raw if not smaller) -> MD5
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "codec.h"
#include "digest_set.h"

namespace volbackd {

struct ChunkOptions {
  bool compress = false;
  bool md5 = false;
  bool claim_new = false;  // insert a new digest into `known` (dedupe within a run)
  std::shared_ptr<DigestSetCore> known;
  Napi::Reference<Napi::Buffer<uint8_t>> out_ref;  // keeps `out` alive while a worker fills it
  uint8_t* out = nullptr;
  size_t out_cap = 0;
};

struct ChunkOutcome {
  bool zero = false;
  bool known = false;
  Digest digest{};
  const char* encoding = nullptr;
  size_t size = 0;
  std::string md5;
};

// Reads the options object on the JS thread (validates `out` against `length`).
ChunkOptions ParseChunkOptions(const Napi::CallbackInfo& info, size_t index, size_t length);
// Runs on a pool thread.
ChunkOutcome ProcessChunk(const uint8_t* data, size_t length, const ChunkOptions& o);
// Builds { zero, digest, known, encoding, size, md5 } on the JS thread.
Napi::Object OutcomeToJs(Napi::Env env, const ChunkOutcome& r);

}  // namespace volbackd
