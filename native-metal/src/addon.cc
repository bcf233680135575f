// Entry point of the efficientai-toolkit native addon: every kernel family adds its
// functions to the exports. `abiVersion` lets the TypeScript loader refuse a stale build.
#include "eai.h"

namespace eai {

// Bumped whenever a function's arguments change, so an old build is reported, not misused.
constexpr int kAbiVersion = 2;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  InitCore(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitLayout(env, exports);
  InitMatmul(env, exports);
  InitSoftmax(env, exports);
  InitNorm(env, exports);
  InitLoss(env, exports);
  InitRope(env, exports);
  InitAttention(env, exports);
  InitConv(env, exports);
  InitPool(env, exports);
  InitImage(env, exports);
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
