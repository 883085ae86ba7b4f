// One job: write a new file in one worker hop — create (O_EXCL), write every
// byte, then either fdatasync it or only start its writeback
// (sync_file_range(SYNC_FILE_RANGE_WRITE)), close. The filesystem object store
// writes chunk temp files with it: one pool hop instead of four, and writeback
// that starts at once instead of piling up for the final syncfs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sys_error.h"

namespace volbackd {

// On failure the partly written file is removed.
SysError WriteNewFile(const std::string& path, const uint8_t* data, size_t len, bool sync);

}  // namespace volbackd
