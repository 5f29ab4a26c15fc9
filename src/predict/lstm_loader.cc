// Finds and loads libferry_lstm.so (see lstm.h for why the LSTM is a separate library).
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "common/self_path.h"
#include "predict/lstm.h"

namespace ferry {
namespace {

constexpr const char* kLibrary = "libferry_lstm.so";

Status NotBuilt() {
  return NotSupported(
      "this ferry was built without the LSTM predictor (cmake -DFERRY_LSTM=OFF): use stride, markov or ensemble");
}

// Where the library is looked for, in order: FERRY_LSTM_LIB, else beside the program
// (or plugin), then the loader's own search (the bare name, last).
std::vector<std::string> LibraryPaths() {
  if (const char* env = std::getenv("FERRY_LSTM_LIB"); env && *env) return {env};
  std::vector<std::string> paths = CompanionPaths(kLibrary);
  paths.push_back(kLibrary);
  return paths;
}

Result<const LstmApi*> LoadApi() {
  if (!LstmBuilt()) return NotBuilt();
  return LoadLstmApi(LibraryPaths());
}

}  // namespace

bool LstmBuilt() { return FERRY_HAVE_LSTM; }

Result<const LstmApi*> LoadLstmApi(const std::vector<std::string>& paths) {
  std::string errors;
  for (const std::string& path : paths) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      errors += std::string(errors.empty() ? "" : "; ") + dlerror();
      continue;
    }
    auto entry = reinterpret_cast<const LstmApi* (*)()>(dlsym(h, "ferry_lstm_api"));
    if (!entry) return NotSupported(path + " has no ferry_lstm_api: it is not ferry's LSTM library");
    const LstmApi* api = entry();
    if (api->version != kLstmApiVersion) {
      return NotSupported(path + " is from another ferry build (API " + std::to_string(api->version) + ", want " +
                          std::to_string(kLstmApiVersion) + ")");
    }
    return api;
  }
  return NotSupported("the LSTM predictor needs " + std::string(kLibrary) + ", which was not found (" + errors +
                      "): build it with ferry, or set FERRY_LSTM_LIB to its path");
}

Status FindLstmLibrary() {
  if (!LstmBuilt()) return NotBuilt();
  for (const std::string& path : LibraryPaths()) {
    if (path.find('/') != std::string::npos && ::access(path.c_str(), R_OK) == 0) return OkStatus();
  }
  // Not at a path of its own: only loading it says whether the loader finds it.
  auto api = LstmLibrary();
  return api.ok() ? OkStatus() : api.status();
}

Result<const LstmApi*> LstmLibrary() {
  static std::once_flag once;
  static Result<const LstmApi*> api = NotSupported("not loaded");
  std::call_once(once, [] { api = LoadApi(); });
  return api;
}

Result<std::unique_ptr<Predictor>> NewLstmPredictor(const LstmOptions& options) {
  auto api = LstmLibrary();
  if (!api.ok()) return api.status();
  return std::unique_ptr<Predictor>((*api)->create(options));
}

Result<std::unique_ptr<Predictor>> LoadLstmPredictor(const std::string& path, const LstmOptions& options) {
  auto api = LstmLibrary();
  if (!api.ok()) return api.status();
  Status error;
  Predictor* p = (*api)->load(path, options, &error);
  if (!p) return error;
  return std::unique_ptr<Predictor>(p);
}

std::vector<LstmEpoch> TrainLstmEpochs(Predictor& lstm) { return LstmLibrary().value()->train_epochs(lstm); }

Status SaveLstmModel(Predictor& lstm, const std::string& path) { return LstmLibrary().value()->save(lstm, path); }

Result<std::vector<LstmEpoch>> TrainLstmOnTrace(Predictor& lstm, const std::vector<IoEvent>& events,
                                                uint64_t granule_size, int epochs,
                                                const std::function<void(const LstmEpoch&)>& on_epoch) {
  std::vector<Prediction> out;
  for (const IoEvent& e : events) {
    out.clear();
    lstm.Observe(e.offset / granule_size, (e.offset + std::max<uint64_t>(e.length, 1) - 1) / granule_size, e.op, &out);
  }
  std::vector<LstmEpoch> done;
  for (int i = 0; i < epochs; ++i) {
    const std::vector<LstmEpoch> r = TrainLstmEpochs(lstm);
    if (r.empty()) {
      return FailedPrecondition(std::to_string(events.size()) + " accesses, too few repeating deltas to learn from");
    }
    done.push_back(r.front());
    if (on_epoch) on_epoch(r.front());
  }
  return done;
}

}  // namespace ferry
