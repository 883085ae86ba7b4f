// One job: the two chunk pipelines, each one worker so a chunk's bytes are touched
// only on a pool thread, once per stage:
//   ReadChunk:  pread (O_DIRECT) -> zero check -> XXH3-128 -> known? -> LZ4 frame -> MD5
//   WriteChunk: LZ4 decode (from the body's segments) -> XXH3-128 verify -> pwrite (O_DIRECT)
#pragma once

#include <napi.h>

namespace volbackd {

// device.readChunk(offset, length, { compress, md5, known, claim, out })
Napi::Value QueueReadChunk(const Napi::CallbackInfo& info, class DeviceWrap* wrap);
// device.writeChunk(offset, length, segments, encoding, digest)
Napi::Value QueueWriteChunk(const Napi::CallbackInfo& info, class DeviceWrap* wrap);

}  // namespace volbackd
