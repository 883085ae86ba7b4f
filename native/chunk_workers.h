// One job: the chunk pipelines; a chunk's bytes are touched only on pool threads.
// A backup chunk takes two stages, so reads keep the disk busy while other
// threads compress:
//   ReadInto:     pread (O_DIRECT) into a ChunkData
//   ProcessChunk: zero check -> XXH3-128 -> known? -> LZ4 frame -> MD5
//   WriteChunk:   LZ4 decode (from the body's segments) -> XXH3-128 verify -> pwrite (O_DIRECT)
#pragma once

#include <napi.h>

namespace volbackd {

// device.readInto(offset, length) -> Promise<ChunkData>: stage one, the read alone
Napi::Value QueueReadInto(const Napi::CallbackInfo& info, class DeviceWrap* wrap);
// processChunk(chunkData, { compress, md5, known, claim, out }): stage two, the CPU work
Napi::Value ProcessChunkJs(const Napi::CallbackInfo& info);
// device.writeChunk(offset, length, segments, encoding, digest)
Napi::Value QueueWriteChunk(const Napi::CallbackInfo& info, class DeviceWrap* wrap);

}  // namespace volbackd
