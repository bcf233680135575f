// Entry point of the efficientai-toolkit native addon: every kernel family adds its
// functions to the exports. `abiVersion` lets the TypeScript loader refuse a stale build.
#include "eai.h"

namespace eai {

// Bumped whenever a function's arguments change, so an old build is reported, not misused.
constexpr int kAbiVersion = 3;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  InitCore(env, exports);
#define EAI_FAMILY(Name) Init##Name(env, exports);
#include "families.inc"
#undef EAI_FAMILY
#ifdef EAI_APPLE
  InitApple(env, exports);
#else
  exports.Set("apple", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace eai

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return eai::Init(env, exports); }

NODE_API_MODULE(eai_native, InitAddon)
