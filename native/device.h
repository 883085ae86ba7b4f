// One job: direct I/O on one volume — a block device, a loop device or an image
// file — with plain syscalls. No napi here: workers call these off the JS thread.
//
// Alignment: with O_DIRECT every offset, length and buffer address must be a
// multiple of what the device wants (statx STATX_DIOALIGN, else BLKSSZGET, else
// 4096). Chunk offsets are multiples of the chunk size, so only a volume's last
// chunk can be short and unaligned; ReadAt reads past it (the kernel stops at EOF),
// WriteAt writes its unaligned tail buffered (files) or read-modify-write (devices).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sys_error.h"

namespace volbackd {

struct OpenOptions {
  bool write = false;           // open read-write (restore target)
  bool direct = true;           // O_DIRECT; refused file systems are an error ...
  bool allow_buffered = false;  // ... unless the caller accepts buffered I/O instead
};

struct DeviceInfo {
  std::string path;
  bool is_block = false;
  bool direct = false;
  bool writable = false;
  uint64_t size = 0;
  uint32_t offset_align = 512;  // offsets and lengths, for O_DIRECT
  uint32_t mem_align = 512;     // buffer addresses, for O_DIRECT
  uint32_t logical_block = 512;
};

class Device {
 public:
  static SysError Open(const std::string& path, const OpenOptions& opts, std::unique_ptr<Device>* out);
  ~Device();

  const DeviceInfo& info() const { return info_; }
  uint64_t AlignUp(uint64_t n) const;

  // Reads `length` bytes at `offset` into `buf` (capacity >= AlignUp(length)).
  SysError ReadAt(uint64_t offset, size_t length, uint8_t* buf) const;
  // Writes `length` bytes at `offset` from `buf` (capacity >= AlignUp(length)).
  SysError WriteAt(uint64_t offset, const uint8_t* buf, size_t length) const;
  // Makes [offset, offset+length) read back as zeros; says how in *method.
  SysError ZeroRange(uint64_t offset, uint64_t length, std::string* method) const;
  SysError Sync() const;
  SysError Close();

 private:
  Device() = default;
  SysError WriteZeros(uint64_t offset, uint64_t length) const;
  SysError WriteTailRmw(uint64_t offset, const uint8_t* src, size_t length) const;

  DeviceInfo info_;
  int fd_ = -1;
  int tail_fd_ = -1;  // buffered fd of a writable regular file, for its unaligned tail
};

// Flushes the whole file system holding `path` (syncfs): one barrier for many
// files written without fsync.
SysError SyncFs(const std::string& path);

// The allocated (data) extents of a regular file within [start, end), by
// SEEK_DATA/SEEK_HOLE; a file system without hole support yields one extent.
SysError DataRanges(const std::string& path, uint64_t start, uint64_t end,
                    std::vector<std::pair<uint64_t, uint64_t>>* out);

}  // namespace volbackd
