// One job: the chunk pipelines; a chunk's bytes are touched only on pool threads:
//   ReadChunk:  pread (O_DIRECT) -> zero check -> XXH3-128 -> known? -> LZ4 frame -> MD5
//   or in two stages, so reads keep the disk busy while other threads compress:
//     ReadInto: pread (O_DIRECT) into a ChunkData;  ProcessChunk: the rest of ReadChunk
//   WriteChunk: LZ4 decode (from the body's segments) -> XXH3-128 verify -> pwrite (O_DIRECT)
#pragma once

#include <napi.h>

namespace volbackd {

// device.readChunk(offset, length, { compress, md5, known, claim, out })
Napi::Value QueueReadChunk(const Napi::CallbackInfo& info, class DeviceWrap* wrap);
// device.readInto(offset, length) -> Promise<ChunkData>: stage one, the read alone
Napi::Value QueueReadInto(const Napi::CallbackInfo& info, class DeviceWrap* wrap);
// processChunk(chunkData, { compress, md5, known, claim, out }): stage two, the CPU work
Napi::Value ProcessChunkJs(const Napi::CallbackInfo& info);
// device.writeChunk(offset, length, segments, encoding, digest)
Napi::Value QueueWriteChunk(const Napi::CallbackInfo& info, class DeviceWrap* wrap);

}  // namespace volbackd
