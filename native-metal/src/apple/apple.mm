// exports.apple: the macOS-only entry points, grouped so Linux builds export `apple: false`.
#import <Foundation/Foundation.h>

#include "../eai.h"
#include "apple.h"

namespace eai {

static Napi::Value AppleInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const bool metal = apple::metalAvailable();
  o.Set("metal", metal);
  if (metal) o.Set("device", apple::metalDeviceName());
  o.Set("mps", apple::mpsAvailable());
  o.Set("coreml", NSClassFromString(@"MLModel") != nil);
  return o;
}

void InitApple(Napi::Env env, Napi::Object exports) {
  Napi::Object apple = Napi::Object::New(env);
  apple.Set("info", Napi::Function::New(env, AppleInfo, "info"));
  apple::InitMetal(env, apple);
  apple::InitCoreML(env, apple);
  exports.Set("apple", apple);
}

}  // namespace eai
