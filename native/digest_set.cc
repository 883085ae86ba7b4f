#include "digest_set.h"

namespace volbackd {

static Digest DigestArg(const Napi::Env& env, const Napi::Value& v) {
  Digest d;
  if (!v.IsString() || !ParseDigestHex(v.As<Napi::String>().Utf8Value(), &d)) {
    throw Napi::TypeError::New(env, "a digest must be 32 hexadecimal digits");
  }
  return d;
}

Napi::Function DigestSet::Define(Napi::Env env) {
  return DefineClass(env, "DigestSet",
                     {InstanceMethod<&DigestSet::Add>("add"),
                      InstanceMethod<&DigestSet::AddMany>("addMany"),
                      InstanceMethod<&DigestSet::Has>("has"),
                      InstanceMethod<&DigestSet::Delete>("delete"),
                      InstanceAccessor<&DigestSet::GetSize>("size")});
}

DigestSet::DigestSet(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DigestSet>(info) {}

Napi::Value DigestSet::Add(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->Insert(DigestArg(info.Env(), info[0])));
}

Napi::Value DigestSet::AddMany(const Napi::CallbackInfo& info) {
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "addMany takes an array of digests");
  Napi::Array a = info[0].As<Napi::Array>();
  uint32_t added = 0;
  for (uint32_t i = 0; i < a.Length(); i++) added += core_->Insert(DigestArg(info.Env(), a.Get(i)));
  return Napi::Number::New(info.Env(), added);
}

Napi::Value DigestSet::Has(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->Contains(DigestArg(info.Env(), info[0])));
}

Napi::Value DigestSet::Delete(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), core_->Erase(DigestArg(info.Env(), info[0])));
}

Napi::Value DigestSet::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(core_->Size()));
}

}  // namespace volbackd
