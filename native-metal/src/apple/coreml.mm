// A Core ML runner: load a model (.mlmodel or .mlpackage are compiled first, .mlmodelc
// loads directly), then run predictions off the event loop with float32 multi-arrays in
// and out. The model handle is a JS object holding an External that releases the model
// when collected.
#import <CoreML/CoreML.h>
#import <Foundation/Foundation.h>

#include <cstring>
#include <string>
#include <vector>

#include "../eai.h"
#include "apple.h"

namespace eai {
namespace apple {

namespace {

struct Model {
  MLModel* model = nil;  // strong (ARC)
};

std::string describe(NSError* error) { return error ? std::string(error.localizedDescription.UTF8String) : "unknown error"; }

Napi::Array names(Napi::Env env, NSDictionary<NSString*, MLFeatureDescription*>* features) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (NSString* name in features) out.Set(i++, std::string(name.UTF8String));
  return out;
}

Napi::Value CoremlLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = String(info, 0, "coremlLoad");
  @autoreleasepool {
    NSURL* url = [NSURL fileURLWithPath:@(path.c_str())];
    NSError* error = nil;
    if (![url.pathExtension isEqualToString:@"mlmodelc"]) {
      url = [MLModel compileModelAtURL:url error:&error];
      if (!url) Fail(env, "coremlLoad: cannot compile " + path + ": " + describe(error));
    }
    MLModelConfiguration* config = [[MLModelConfiguration alloc] init];
    config.computeUnits = MLComputeUnitsAll;
    MLModel* model = [MLModel modelWithContentsOfURL:url configuration:config error:&error];
    if (!model) Fail(env, "coremlLoad: cannot load " + path + ": " + describe(error));
    auto* holder = new Model{model};
    Napi::Object handle = Napi::Object::New(env);
    handle.Set("model", Napi::External<Model>::New(env, holder, [](Napi::Env, Model* m) { delete m; }));
    handle.Set("inputs", names(env, model.modelDescription.inputDescriptionsByName));
    handle.Set("outputs", names(env, model.modelDescription.outputDescriptionsByName));
    return handle;
  }
}

struct Tensor {
  std::string name;
  std::vector<float> data;
  std::vector<int64_t> shape;
};

// Runs model.predictionFromFeatures on a libuv thread; inputs are copied in, outputs out.
class PredictWorker : public Napi::AsyncWorker {
 public:
  PredictWorker(Napi::Env env, Napi::Object handle, Model* model, std::vector<Tensor> inputs)
      : Napi::AsyncWorker(env, "eai.coremlPredict"),
        model_(model),
        inputs_(std::move(inputs)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    keep_ = Napi::Persistent(handle);  // the model outlives the prediction
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    @autoreleasepool {
      NSMutableDictionary<NSString*, MLFeatureValue*>* features = [NSMutableDictionary dictionary];
      for (const Tensor& t : inputs_) {
        NSMutableArray<NSNumber*>* shape = [NSMutableArray array];
        for (int64_t d : t.shape) [shape addObject:@(d)];
        NSError* error = nil;
        MLMultiArray* array = [[MLMultiArray alloc] initWithShape:shape dataType:MLMultiArrayDataTypeFloat32 error:&error];
        if (!array) return SetError("coremlPredict: input " + t.name + ": " + describe(error));
        std::memcpy(array.dataPointer, t.data.data(), t.data.size() * sizeof(float));
        features[@(t.name.c_str())] = [MLFeatureValue featureValueWithMultiArray:array];
      }
      NSError* error = nil;
      MLDictionaryFeatureProvider* provider = [[MLDictionaryFeatureProvider alloc] initWithDictionary:features error:&error];
      if (!provider) return SetError("coremlPredict: " + describe(error));
      id<MLFeatureProvider> result = [model_->model predictionFromFeatures:provider error:&error];
      if (!result) return SetError("coremlPredict: " + describe(error));
      for (NSString* name in result.featureNames) {
        MLMultiArray* array = [result featureValueForName:name].multiArrayValue;
        if (!array) continue;  // non-tensor outputs (dictionaries, images) are not returned
        Tensor t;
        t.name = name.UTF8String;
        for (NSNumber* d in array.shape) t.shape.push_back(d.longLongValue);
        t.data.resize(static_cast<size_t>(array.count));
        // Read through NSNumber so float16/float64/int32 outputs all arrive as float32.
        if (array.dataType == MLMultiArrayDataTypeFloat32 && contiguous(array)) {
          std::memcpy(t.data.data(), array.dataPointer, t.data.size() * sizeof(float));
        } else {
          for (NSInteger i = 0; i < array.count; i++) t.data[i] = [array objectAtIndexedSubscript:i].floatValue;
        }
        outputs_.push_back(std::move(t));
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    for (const Tensor& t : outputs_) {
      Napi::Float32Array data = Napi::Float32Array::New(env, t.data.size());
      std::memcpy(data.Data(), t.data.data(), t.data.size() * sizeof(float));
      Napi::Array shape = Napi::Array::New(env, t.shape.size());
      for (size_t i = 0; i < t.shape.size(); i++) shape.Set(static_cast<uint32_t>(i), static_cast<double>(t.shape[i]));
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("data", data);
      entry.Set("shape", shape);
      out.Set(t.name, entry);
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  // Row-major without padding: the strides are the running products of the shape.
  static bool contiguous(MLMultiArray* array) {
    long long expected = 1;
    for (NSInteger i = static_cast<NSInteger>(array.shape.count) - 1; i >= 0; i--) {
      if (array.strides[i].longLongValue != expected) return false;
      expected *= array.shape[i].longLongValue;
    }
    return true;
  }

  Model* model_;
  std::vector<Tensor> inputs_;
  std::vector<Tensor> outputs_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_;
};

Napi::Value CoremlPredict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env, info.Length() >= 2 && info[0].IsObject() && info[1].IsObject(),
          "coremlPredict: pass the model from coremlLoad and an object of named inputs");
  Napi::Object handle = info[0].As<Napi::Object>();
  Napi::Value external = handle.Get("model");
  Require(env, external.IsExternal(), "coremlPredict: the first argument is not a model from coremlLoad");
  Model* model = external.As<Napi::External<Model>>().Data();
  Napi::Object named = info[1].As<Napi::Object>();
  std::vector<Tensor> inputs;
  Napi::Array keys = named.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string name = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value entry = named.Get(name);
    Require(env, entry.IsObject(), "coremlPredict: input " + name + " must be { data: Float32Array, shape: number[] }");
    Napi::Object o = entry.As<Napi::Object>();
    Napi::Value data = o.Get("data");
    Napi::Value shape = o.Get("shape");
    Require(env, data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array && shape.IsArray(),
            "coremlPredict: input " + name + " must be { data: Float32Array, shape: number[] }");
    Napi::Float32Array f = data.As<Napi::Float32Array>();
    Tensor t;
    t.name = name;
    t.data.assign(f.Data(), f.Data() + f.ElementLength());
    Napi::Array s = shape.As<Napi::Array>();
    size_t count = 1;
    for (uint32_t d = 0; d < s.Length(); d++) {
      int64_t v = static_cast<int64_t>(s.Get(d).As<Napi::Number>().Int64Value());
      Require(env, v >= 0, "coremlPredict: input " + name + " has a negative dimension");
      t.shape.push_back(v);
      count = MulSize(count, static_cast<size_t>(v), "coremlPredict");
    }
    Require(env, count == t.data.size(), "coremlPredict: input " + name + " has a different size than its shape");
    inputs.push_back(std::move(t));
  }
  auto* worker = new PredictWorker(env, handle, model, std::move(inputs));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitCoreML(Napi::Env env, Napi::Object apple) {
  apple.Set("coremlLoad", Napi::Function::New(env, CoremlLoad, "coremlLoad"));
  apple.Set("coremlPredict", Napi::Function::New(env, CoremlPredict, "coremlPredict"));
}

}  // namespace apple
}  // namespace eai
