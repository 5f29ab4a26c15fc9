// Finds and loads libferry_lstm.so (see lstm.h for why the LSTM is a separate library).
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>

#include "common/self_path.h"
#include "predict/lstm.h"

namespace ferry {
namespace {

constexpr const char* kLibrary = "libferry_lstm.so";

// Reads `library` and the libraries its `.deps` file names (ldd's output, written beside
// it by the build) into the page cache, each unless it is there already. dlopen holds
// the loader's lock while it maps and relocates them, and nbdkit's thread for a new
// connection waits for that lock: from a cold page cache LibTorch's 500 MB took 25 s
// to dlopen, read in sequence first 0.8-3 s, then dlopen 0.6-0.9 s (docs/design-notes.md).
// Gives up, returning false, as soon as `cancel` turns true.
bool ReadAhead(const std::string& library, const std::atomic<bool>* cancel) {
  auto cancelled = [cancel] { return cancel && cancel->load(std::memory_order_relaxed); };
  std::vector<std::string> files = {library};
  std::ifstream deps(library + ".deps");
  for (std::string line; std::getline(deps, line);) {
    const size_t arrow = line.find("=> /");
    if (arrow != std::string::npos) files.push_back(line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3));
  }
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<char> buf(1 << 20);
  for (const std::string& f : files) {
    if (cancelled()) return false;
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      const size_t size = static_cast<size_t>(st.st_size);
      // Resident already (the usual case): nothing to read.
      bool resident = false;
      if (void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0); m != MAP_FAILED) {
        std::vector<unsigned char> pages((size + static_cast<size_t>(page) - 1) / static_cast<size_t>(page));
        resident = ::mincore(m, size, pages.data()) == 0 &&
                   std::all_of(pages.begin(), pages.end(), [](unsigned char p) { return p & 1; });
        ::munmap(m, size);
      }
      for (off_t at = 0; !resident && !cancelled() && ::pread(fd, buf.data(), buf.size(), at) > 0;
           at += static_cast<off_t>(buf.size())) {
      }
    }
    ::close(fd);
  }
  return !cancelled();
}

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

Result<const LstmApi*> LoadApi(const std::atomic<bool>* cancel) {
  if (!LstmBuilt()) return NotBuilt();
  return LoadLstmApi(LibraryPaths(), cancel);
}

}  // namespace

bool LstmBuilt() { return FERRY_HAVE_LSTM; }

Result<const LstmApi*> LoadLstmApi(const std::vector<std::string>& paths, const std::atomic<bool>* cancel) {
  std::string errors;
  for (const std::string& path : paths) {
    if ((path.find('/') != std::string::npos && !ReadAhead(path, cancel)) || (cancel && cancel->load())) {
      return Cancelled("the LSTM's library was not loaded: its load was cancelled");
    }
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

Result<const LstmApi*> LstmLibrary(const std::atomic<bool>* cancel) {
  static std::mutex mu;
  static std::optional<Result<const LstmApi*>> api;  // the answer, once there is one
  std::lock_guard<std::mutex> lock(mu);
  if (api) return *api;
  Result<const LstmApi*> now = LoadApi(cancel);
  if (!now.ok() && now.status().code() == StatusCode::kCancelled) return now;  // a later call tries again
  api = now;
  return now;
}

Result<std::unique_ptr<Predictor>> NewLstmPredictor(const LstmOptions& options) {
  auto api = LstmLibrary(options.cancel);
  if (!api.ok()) return api.status();
  return std::unique_ptr<Predictor>((*api)->create(options));
}

Result<std::unique_ptr<Predictor>> LoadLstmPredictor(const std::string& path, const LstmOptions& options) {
  auto api = LstmLibrary(options.cancel);
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
