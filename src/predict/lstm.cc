// The LSTM predictor (see lstm.h): the one translation unit that includes LibTorch,
// built into libferry_lstm.so, whose one exported symbol is ferry_lstm_api.
#include "predict/lstm.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <unordered_map>
#include <torch/torch.h>

#include "predict/lstm_cell.h"

namespace ferry {
namespace {

constexpr int64_t kFormatVersion = 1;

struct NetImpl : torch::nn::Module {
  NetImpl(int vocab, int embed, int hidden)
      : emb(register_module("emb", torch::nn::Embedding(vocab, embed))),
        lstm(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(embed, hidden).batch_first(true)))),
        out(register_module("out", torch::nn::Linear(hidden, vocab))) {}
  // tokens [batch, time] -> logits [batch, time, vocab]
  torch::Tensor forward(const torch::Tensor& tokens) {
    auto y = std::get<0>(lstm->forward(emb->forward(tokens)));
    return out->forward(y);
  }
  torch::nn::Embedding emb;
  torch::nn::LSTM lstm;
  torch::nn::Linear out;
};
TORCH_MODULE(Net);

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// LibTorch's own thread pools would take every core; ferry's CPU budget is its own.
void OneTorchThread() {
  static std::once_flag once;
  std::call_once(once, [] {
    torch::set_num_threads(1);
    try {
      torch::set_num_interop_threads(1);
    } catch (const c10::Error&) {  // already started by someone else: leave it
    }
  });
}

// What inference needs, published as a whole: the weights and the vocabulary. The maps
// here are std::unordered_map, not absl's: in this shared library built under TSan,
// lookups in a copied absl::flat_hash_map missed keys it held (the prebuilt libabsl is
// not instrumented), and the vocabulary is small enough that the choice costs nothing.
struct Published {
  LstmWeights w;
  std::vector<int64_t> deltas;                // token -> delta (token 0: other)
  std::unordered_map<int64_t, int> index;    // delta -> token
};

// The trainable model. Owned by one thread at a time: the caller of Train(), or the
// background trainer while it runs.
struct Model {
  std::vector<int64_t> deltas;  // the vocabulary, token -> delta
  std::unordered_map<int64_t, int> index;
  Net net{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
  int epochs = 0;
  uint64_t seed = 1;

  Model(const LstmOptions& o, std::vector<int64_t> vocab) : deltas(std::move(vocab)), seed(o.seed) {
    for (size_t t = 1; t < deltas.size(); ++t) index.emplace(deltas[t], static_cast<int>(t));
    net = Net(static_cast<int>(deltas.size()), o.embed, o.hidden);
    optimizer = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(o.learning_rate));
  }

  // Deterministic initial weights, from this model's own generator (LibTorch's default
  // generator is global: two models training at once would share it).
  void Initialise(uint64_t seed_value) {
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_value);
    for (auto& p : net->parameters()) {
      const double a = p.dim() > 1 ? 1.0 / std::sqrt(static_cast<double>(p.size(1))) : 0.1;
      p.copy_(torch::rand(p.sizes(), gen) * (2 * a) - a);
    }
  }

  std::vector<int64_t> Tokens(const std::vector<int64_t>& ds) const {
    std::vector<int64_t> t;
    t.reserve(ds.size());
    for (int64_t d : ds) {
      auto it = index.find(d);
      t.push_back(it == index.end() ? 0 : it->second);
    }
    return t;
  }

  // With a budget below 1, sleeps off what the epoch's CPU use since `cpu0` owes: for each
  // CPU second, (1 / budget - 1) seconds asleep, set-up between steps included.
  static void Pace(double budget, double cpu0, LstmEpoch* e) {
    if (budget <= 0 || budget >= 1) return;
    const double owed = (ThreadCpuSeconds() - cpu0) * (1 / budget - 1) - e->paced_s;
    if (owed <= 0) return;
    e->paced_s += owed;
    std::this_thread::sleep_for(std::chrono::duration<double>(owed));
  }

  // One pass over `tokens` in windows of seq_len, shuffled, `batch` windows a step. With
  // a budget below 1, sleeps after each step so the epoch's CPU use stays within it.
  // Stops early, between steps, once `stopping` says so.
  LstmEpoch Epoch(const LstmOptions& o, const std::vector<int64_t>& tokens, double budget,
                  const std::function<bool()>& stopping) {
    LstmEpoch e;
    e.epoch = ++epochs;
    e.tokens = tokens.size();
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = ThreadCpuSeconds();
    const int64_t L = o.seq_len;
    std::vector<int64_t> starts;
    for (int64_t s = 0; s + L + 1 <= static_cast<int64_t>(tokens.size()); s += L) starts.push_back(s);
    std::mt19937_64 rng(seed + static_cast<uint64_t>(epochs));
    std::shuffle(starts.begin(), starts.end(), rng);
    double loss_sum = 0;
    int64_t right = 0, total = 0, steps = 0;
    net->train();
    for (size_t b = 0; b < starts.size(); b += static_cast<size_t>(o.batch)) {
      if (stopping()) break;
      const int64_t n = static_cast<int64_t>(std::min(starts.size() - b, static_cast<size_t>(o.batch)));
      auto in = torch::empty({n, L}, torch::kLong), target = torch::empty({n, L}, torch::kLong);
      auto ia = in.accessor<int64_t, 2>(), ta = target.accessor<int64_t, 2>();
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t t = 0; t < L; ++t) {
          ia[i][t] = tokens[static_cast<size_t>(starts[b + static_cast<size_t>(i)] + t)];
          ta[i][t] = tokens[static_cast<size_t>(starts[b + static_cast<size_t>(i)] + t + 1)];
        }
      }
      optimizer->zero_grad();
      auto logits = net->forward(in).reshape({n * L, -1});
      auto flat = target.reshape({n * L});
      auto loss = torch::nn::functional::cross_entropy(logits, flat);
      loss.backward();
      optimizer->step();
      loss_sum += loss.item<double>();
      ++steps;
      right += logits.argmax(1).eq(flat).sum().item<int64_t>();
      total += n * L;
      Pace(budget, cpu0, &e);
    }
    Pace(budget, cpu0, &e);
    e.loss = steps ? loss_sum / static_cast<double>(steps) : 0;
    e.accuracy = total ? static_cast<double>(right) / static_cast<double>(total) : 0;
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    e.cpu_s = ThreadCpuSeconds() - cpu0;
    return e;
  }

  std::shared_ptr<const Published> Publish() const {
    torch::NoGradGuard no_grad;
    auto p = std::make_shared<Published>();
    p->deltas = deltas;
    p->index = index;
    const int64_t H = net->lstm->options.hidden_size();
    const auto& params = net->lstm->named_parameters();
    auto w_ih = params["weight_ih_l0"], w_hh = params["weight_hh_l0"];
    auto bias = params["bias_ih_l0"] + params["bias_hh_l0"];
    auto input = torch::addmm(bias, net->emb->weight, w_ih.t()).contiguous();  // V x 4H
    auto recur = w_hh.t().contiguous();                                          // H x 4H
    auto out = net->out->weight.t().contiguous();                                // H x V
    auto out_bias = net->out->bias.contiguous();
    auto copy = [](const torch::Tensor& t) {
      const float* d = t.data_ptr<float>();
      return std::vector<float>(d, d + t.numel());
    };
    p->w.vocab = static_cast<int>(deltas.size());
    p->w.hidden = static_cast<int>(H);
    p->w.input = copy(input);
    p->w.recur = copy(recur);
    p->w.out = copy(out);
    p->w.out_bias = copy(out_bias);
    return p;
  }
};

// A softmax's parts: the largest logit and the sum of exp(logit - it).
std::pair<float, double> Softmax(const std::vector<float>& logits) {
  float mx = logits[0];
  for (float l : logits) mx = std::max(mx, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - mx));
  return {mx, sum};
}

// The vocabulary of a delta history: token 0 for "other", then the vocab - 1 most
// frequent deltas seen at least twice (ties: the smaller delta first, deterministic).
std::vector<int64_t> BuildVocab(const std::vector<int64_t>& ds, int vocab) {
  std::unordered_map<int64_t, uint64_t> count;
  for (int64_t d : ds) ++count[d];
  std::vector<std::pair<uint64_t, int64_t>> by;
  for (const auto& [d, c] : count) {
    if (c >= 2) by.emplace_back(c, d);
  }
  std::sort(by.begin(), by.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<int64_t> v = {0};
  for (size_t i = 0; i < by.size() && v.size() < static_cast<size_t>(std::max(2, vocab)); ++i) v.push_back(by[i].second);
  return v;
}

class LstmPredictor : public Predictor {
 public:
  explicit LstmPredictor(const LstmOptions& options);
  ~LstmPredictor() override;
  static Result<std::unique_ptr<LstmPredictor>> Load(const std::string& path, const LstmOptions& options);

  const char* name() const override { return "lstm"; }
  void Observe(uint64_t first, uint64_t last, IoOp op, std::vector<Prediction>* out) override;
  void Train() override { TrainEpochs(); }
  double train_cpu_s() const override;
  std::vector<LstmEpoch> TrainEpochs();
  Status Save(const std::string& path);
  double CellError(int steps);
  LstmEpoch LastEpoch() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LstmPredictor::Impl {
  LstmOptions o;
  // The observing thread's side.
  std::deque<int64_t> history;  // the last o.history deltas
  bool have_prev = false;
  uint64_t prev_first = 0;
  uint64_t since_train = 0;
  std::shared_ptr<const Published> live;  // what inference uses
  std::unique_ptr<LstmCell> cell;
  std::vector<std::pair<float, int>> top;
  std::optional<LstmCell> roll;  // Rollout's copy of the cell (its buffers reused)
  // The model, and the background trainer that may hold it.
  std::unique_ptr<Model> model;
  std::thread trainer;
  std::atomic<bool> training{false};
  std::atomic<bool> stop{false};
  mutable std::mutex mu;  // guards fresh and cpu_s
  std::shared_ptr<const Published> fresh;
  double cpu_s = 0;
  LstmEpoch last;

  explicit Impl(const LstmOptions& options) : o(options) { OneTorchThread(); }
  ~Impl() {
    stop = true;
    Join();
  }
  void Join() {
    if (trainer.joinable()) trainer.join();
  }
  // The predictor is going, or its owner cancelled (LstmOptions::cancel).
  bool Stopping() const { return stop || (o.cancel && o.cancel->load(std::memory_order_relaxed)); }
  std::vector<int64_t> HistoryCopy() const { return {history.begin(), history.end()}; }

  // Trains `epochs` epochs on `ds` (building the model first if there is none).
  std::vector<LstmEpoch> TrainOn(const std::vector<int64_t>& ds, int epochs, double budget) {
    std::vector<LstmEpoch> rows;
    if (!model) {
      std::vector<int64_t> vocab = BuildVocab(ds, o.vocab);
      if (vocab.size() < 2 || ds.size() < static_cast<size_t>(o.seq_len) + 1) return rows;  // nothing to learn yet
      model = std::make_unique<Model>(o, std::move(vocab));
      model->Initialise(o.seed);
    }
    const std::vector<int64_t> tokens = model->Tokens(ds);
    const std::function<bool()> stopping = [this] { return Stopping(); };
    for (int i = 0; i < epochs && !stopping(); ++i) rows.push_back(model->Epoch(o, tokens, budget, stopping));
    double cpu = 0;
    for (const LstmEpoch& r : rows) cpu += r.cpu_s;
    std::lock_guard lock(mu);
    cpu_s += cpu;
    if (!rows.empty()) {
      fresh = model->Publish();
      last = rows.back();
    }
    return rows;
  }

  // Takes up freshly trained weights, if any, and replays the recent accesses so the
  // state reflects them.
  void Adopt() {
    std::shared_ptr<const Published> p;
    {
      std::lock_guard lock(mu);
      p.swap(fresh);
    }
    if (!p) return;
    live = std::move(p);
    cell = std::make_unique<LstmCell>(&live->w);
    const size_t n = std::min(history.size(), static_cast<size_t>(o.seq_len));
    for (size_t i = history.size() - n; i < history.size(); ++i) cell->Step(Token(history[i]));
  }

  // Follows the most likely path on from the predicted next access (`token`, with
  // likelihood `path`): each step's most likely named delta is fed back as the next
  // input, on a copy of the state, and predicted `ahead` that many accesses, with the
  // path's likelihood, while it stays above min_likelihood. One step ahead, a copy
  // rarely lands before the access on a 2 ms link (cloudphysics at 192 MiB/s: 22% on
  // time); a path of up to o.rollout steps gives it the lead (docs/design-notes.md).
  void Rollout(uint64_t first, uint64_t count, int token, double path, std::vector<Prediction>* out) {
    if (o.rollout <= 1 || path < o.min_likelihood) return;
    if (roll) {
      *roll = *cell;
    } else {
      roll.emplace(*cell);
    }
    int64_t at = static_cast<int64_t>(first) + live->deltas[static_cast<size_t>(token)];
    if (at < 0) return;  // a path from before the volume's start
    for (int ahead = 2; ahead <= o.rollout; ++ahead) {
      const std::vector<float>& logits = roll->Step(token);
      const auto [mx, sum] = Softmax(logits);
      const auto best = std::max_element(logits.begin() + 1, logits.end());  // a named delta (not token 0)
      path *= std::exp(static_cast<double>(*best - mx)) / sum;
      if (path < o.min_likelihood) return;
      token = static_cast<int>(best - logits.begin());
      at += live->deltas[static_cast<size_t>(token)];
      if (at < 0) return;
      out->push_back({static_cast<uint64_t>(at), count, path, static_cast<uint32_t>(ahead)});
    }
  }

  int Token(int64_t delta) const {
    auto it = live->index.find(delta);
    return it == live->index.end() ? 0 : it->second;
  }

  void Retrain() {
    if (!o.background) {
      TrainOn(HistoryCopy(), model ? 1 : o.epochs, 1.0);
      return;
    }
    if (training) return;
    Join();
    training = true;
    trainer = std::thread([this, ds = HistoryCopy()] {
      OneTorchThread();
      TrainOn(ds, model ? 1 : o.epochs, o.cpu_budget);
      training = false;
    });
  }
};

LstmPredictor::LstmPredictor(const LstmOptions& options) : impl_(std::make_unique<Impl>(options)) {}
LstmPredictor::~LstmPredictor() = default;

double LstmPredictor::train_cpu_s() const {
  std::lock_guard lock(impl_->mu);
  return impl_->cpu_s;
}

void LstmPredictor::Observe(uint64_t first, uint64_t last, IoOp, std::vector<Prediction>* out) {
  Impl& m = *impl_;
  m.Adopt();
  if (!m.have_prev) {
    m.have_prev = true;
    m.prev_first = first;
    return;
  }
  const int64_t delta = static_cast<int64_t>(first) - static_cast<int64_t>(m.prev_first);
  m.prev_first = first;
  m.history.push_back(delta);
  if (m.history.size() > m.o.history) m.history.pop_front();
  ++m.since_train;
  if (m.o.retrain_every && m.since_train >= (m.training || m.model ? m.o.retrain_every : m.o.first_train)) {
    m.since_train = 0;
    m.Retrain();
    m.Adopt();
  }
  if (!m.cell) return;
  const std::vector<float>& logits = m.cell->Step(m.Token(delta));
  // Softmax over the vocabulary; the top_k named deltas above min_likelihood.
  const auto [mx, sum] = Softmax(logits);
  m.top.clear();
  for (int t = 1; t < static_cast<int>(logits.size()); ++t) m.top.emplace_back(logits[static_cast<size_t>(t)], t);
  const size_t k = std::min(m.top.size(), static_cast<size_t>(std::max(0, m.o.top_k)));
  std::partial_sort(m.top.begin(), m.top.begin() + static_cast<ptrdiff_t>(k), m.top.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < k; ++i) {
    const double p = std::exp(static_cast<double>(m.top[i].first - mx)) / sum;
    if (p < m.o.min_likelihood) break;
    const int64_t next = static_cast<int64_t>(first) + m.live->deltas[static_cast<size_t>(m.top[i].second)];
    if (next < 0) continue;
    out->push_back({static_cast<uint64_t>(next), last - first + 1, p});
  }
  if (k > 0) {
    const double p = std::exp(static_cast<double>(m.top[0].first - mx)) / sum;
    m.Rollout(first, last - first + 1, m.top[0].second, p, out);
  }
}

std::vector<LstmEpoch> LstmPredictor::TrainEpochs() {
  Impl& m = *impl_;
  m.Join();
  std::vector<LstmEpoch> rows = m.TrainOn(m.HistoryCopy(), m.o.epochs, 1.0);
  m.Adopt();
  m.since_train = 0;
  return rows;
}

Status LstmPredictor::Save(const std::string& path) {
  Impl& m = *impl_;
  m.Join();
  if (!m.model) return FailedPrecondition("no trained model to save: the history was too short to learn from");
  const std::string tmp = path + ".tmp";
  try {
    torch::serialize::OutputArchive a;
    a.write("ferry_lstm_version", torch::tensor({kFormatVersion}));
    a.write("shape", torch::tensor({static_cast<int64_t>(m.model->deltas.size()), static_cast<int64_t>(m.o.embed),
                                    static_cast<int64_t>(m.o.hidden)}));
    a.write("granule_size", torch::tensor({static_cast<int64_t>(m.o.granule_size)}));
    a.write("vocab", torch::tensor(m.model->deltas));
    a.write("epochs", torch::tensor({static_cast<int64_t>(m.model->epochs)}));
    torch::serialize::OutputArchive net;
    m.model->net->save(net);
    a.write("net", net);
    a.save_to(tmp);
  } catch (const c10::Error& e) {
    std::filesystem::remove(tmp);
    return IoError("cannot write model '" + path + "': " + e.what_without_backtrace());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return IoError("cannot write model '" + path + "': " + ec.message());
  return OkStatus();
}

Result<std::unique_ptr<LstmPredictor>> LstmPredictor::Load(const std::string& path, const LstmOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("model '" + path + "' does not exist: train one with 'ferry train TRACE --model " + path + "'");
  }
  auto bad = [&](const std::string& why) {
    return InvalidArgument("model '" + path + "' is not a ferry LSTM model (" + why + "): train one with 'ferry train'");
  };
  LstmOptions o = options;
  std::vector<int64_t> vocab;
  int64_t epochs = 0;
  torch::serialize::InputArchive a;
  torch::serialize::InputArchive net;
  try {
    a.load_from(path);
    torch::Tensor version, shape, granule, v, ep;
    if (!a.try_read("ferry_lstm_version", version) || version.numel() != 1) return bad("no ferry_lstm_version");
    if (version.item<int64_t>() != kFormatVersion) {
      return bad("format version " + std::to_string(version.item<int64_t>()) + ", this ferry reads " +
                 std::to_string(kFormatVersion));
    }
    if (!a.try_read("shape", shape) || shape.numel() != 3 || !a.try_read("granule_size", granule) ||
        granule.numel() != 1 || !a.try_read("vocab", v) || !a.try_read("epochs", ep) || !a.try_read("net", net)) {
      return bad("a field is missing");
    }
    const int64_t vsize = shape[0].item<int64_t>(), embed = shape[1].item<int64_t>(), hidden = shape[2].item<int64_t>();
    if (vsize < 2 || vsize > (1 << 20) || embed < 1 || embed > 4096 || hidden < 1 || hidden > 4096 ||
        v.numel() != vsize || v.scalar_type() != torch::kLong) {
      return bad("inconsistent shape");
    }
    if (static_cast<uint64_t>(granule.item<int64_t>()) != o.granule_size) {
      return InvalidArgument("model '" + path + "' was trained with " + std::to_string(granule.item<int64_t>()) +
                             "-byte granules, this run uses " + std::to_string(o.granule_size) +
                             ": give the same --granule, or train a new model");
    }
    o.vocab = static_cast<int>(vsize);
    o.embed = static_cast<int>(embed);
    o.hidden = static_cast<int>(hidden);
    vocab.assign(v.data_ptr<int64_t>(), v.data_ptr<int64_t>() + vsize);
    epochs = ep.item<int64_t>();
  } catch (const c10::Error& e) {
    return bad(e.what_without_backtrace());
  }
  auto p = std::make_unique<LstmPredictor>(o);
  Impl& m = *p->impl_;
  m.model = std::make_unique<Model>(o, std::move(vocab));
  try {
    m.model->net->load(net);
  } catch (const c10::Error& e) {
    return bad(e.what_without_backtrace());
  }
  m.model->epochs = static_cast<int>(epochs);
  {
    std::lock_guard lock(m.mu);
    m.fresh = m.model->Publish();
  }
  m.Adopt();
  return p;
}

double LstmPredictor::CellError(int steps) {
  Impl& m = *impl_;
  m.Join();
  if (!m.model) return -1;
  const std::vector<int64_t> all = m.HistoryCopy();
  const size_t n = std::min(all.size(), static_cast<size_t>(std::max(1, steps)));
  const std::vector<int64_t> tokens = m.model->Tokens({all.end() - static_cast<ptrdiff_t>(n), all.end()});
  torch::NoGradGuard no_grad;
  m.model->net->eval();
  auto ref = m.model->net->forward(torch::tensor(tokens).reshape({1, static_cast<int64_t>(n)}))[0];  // n x V
  auto published = m.model->Publish();
  LstmCell cell(&published->w);
  double worst = 0;
  for (size_t t = 0; t < n; ++t) {
    const std::vector<float>& logits = cell.Step(static_cast<int>(tokens[t]));
    auto row = ref[static_cast<int64_t>(t)];
    for (size_t v = 0; v < logits.size(); ++v) {
      worst = std::max(worst, std::abs(static_cast<double>(logits[v]) - row[static_cast<int64_t>(v)].item<double>()));
    }
  }
  return worst;
}

LstmEpoch LstmPredictor::LastEpoch() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last;
}

// The library's entry points.
Predictor* Create(const LstmOptions& o) { return new LstmPredictor(o); }
Predictor* LoadModel(const std::string& path, const LstmOptions& o, Status* error) {
  auto p = LstmPredictor::Load(path, o);
  if (!p.ok()) {
    *error = p.status();
    return nullptr;
  }
  return std::move(p).value().release();
}
std::vector<LstmEpoch> TrainEpochs(Predictor& p) { return static_cast<LstmPredictor&>(p).TrainEpochs(); }
Status Save(Predictor& p, const std::string& path) { return static_cast<LstmPredictor&>(p).Save(path); }
double CellError(Predictor& p, int steps) { return static_cast<LstmPredictor&>(p).CellError(steps); }
LstmEpoch LastEpoch(Predictor& p) { return static_cast<LstmPredictor&>(p).LastEpoch(); }

}  // namespace
}  // namespace ferry

extern "C" __attribute__((visibility("default"))) const ferry::LstmApi* ferry_lstm_api() {
  static const ferry::LstmApi api = {ferry::kLstmApiVersion, ferry::Create, ferry::LoadModel, ferry::TrainEpochs,
                                     ferry::Save, ferry::CellError, ferry::LastEpoch};
  return &api;
}
