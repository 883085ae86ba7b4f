// One job: a thread-safe set of chunk digests, shared between the JS thread (which
// fills it from the catalog) and read workers (which ask "is this chunk already
// stored?" so a known chunk costs one digest and nothing else).
#pragma once

#include <napi.h>

#include <cstring>
#include <memory>
#include <shared_mutex>
#include <unordered_set>

#include "codec.h"

namespace volbackd {

struct DigestHash {
  size_t operator()(const Digest& d) const {
    // The digest is already uniformly distributed: its first 8 bytes are a hash.
    size_t h;
    memcpy(&h, d.data(), sizeof(h));
    return h;
  }
};

class DigestSetCore {
 public:
  bool Contains(const Digest& d) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return set_.count(d) != 0;
  }
  // True when d was not there before (the caller is the first to claim it).
  bool Insert(const Digest& d) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return set_.insert(d).second;
  }
  bool Erase(const Digest& d) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return set_.erase(d) != 0;
  }
  size_t Size() const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return set_.size();
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_set<Digest, DigestHash> set_;
};

// JS face: new DigestSet(); add(hex) / addMany([hex]) / has(hex) / delete(hex) / size.
class DigestSet : public Napi::ObjectWrap<DigestSet> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit DigestSet(const Napi::CallbackInfo& info);
  std::shared_ptr<DigestSetCore> core() const { return core_; }

 private:
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value AddMany(const Napi::CallbackInfo& info);
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);

  std::shared_ptr<DigestSetCore> core_ = std::make_shared<DigestSetCore>();
};

}  // namespace volbackd
