// A fork-join thread pool sized to the cores. One job runs at a time: parallelFor
// from a second caller (a synchronous op while an async matmul holds the pool) or from
// inside a task runs inline instead of waiting, so nothing can deadlock or stall.
// Workers spin for a millisecond after a job before sleeping: a model's forward pass is a
// stream of fork-joins with JS between them, and on a VM a worker that sleeps lets its vCPU
// halt — waking it again took milliseconds, during which two threads ran slower than one
// (measured: 2-thread 512² GEMMs after 15 ms idle ran at 1-thread speed for three calls).
// A millisecond covers the gaps inside a forward pass; onnxruntime's pools spin ~25 ms.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sched.h>
#endif
#if !defined(_WIN32)
#include <csignal>
#endif

#include "eai.h"

namespace eai {

namespace {

thread_local bool insideTask = false;

// Ctrl-C in the middle of a kernel. While the main thread is inside a synchronous call, Node can neither run
// its SIGINT handler nor stop JavaScript, so a kernel that runs for seconds (a 9×9 conv over a 2048² image)
// would hold a Ctrl-C until it ended. While the thread that loaded the addon (Node's main thread) runs a job,
// SIGINT goes to a handler of ours: it sets `interrupted`, so the job's remaining tasks are skipped and the
// call throws, and passes the signal on to the handler it replaced (Node's, which then stops JavaScript).
// Jobs from other threads (async ops) leave the handlers alone.
std::atomic<bool> interrupted{false};
// Initialised when the addon is loaded, on the thread that loads it.
const std::thread::id loaderThread = std::this_thread::get_id();

#if !defined(_WIN32)
struct sigaction replaced;

extern "C" void onSigint(int sig, siginfo_t* info, void* uctx) {
  // An ignored SIGINT stays ignored: the job carries on.
  if (!(replaced.sa_flags & SA_SIGINFO) && replaced.sa_handler == SIG_IGN) return;
  interrupted.store(true, std::memory_order_relaxed);
  if (replaced.sa_flags & SA_SIGINFO) {
    if (replaced.sa_sigaction) replaced.sa_sigaction(sig, info, uctx);
  } else if (replaced.sa_handler == SIG_DFL) {
    // What would have happened without us: the default action, once this handler returns.
    signal(sig, SIG_DFL);
    raise(sig);
  } else {
    replaced.sa_handler(sig);
  }
}
#endif

// Watches for SIGINT for the length of one job on the loader thread (no-op elsewhere and on Windows).
class SigintWatch {
 public:
  SigintWatch() : active_(std::this_thread::get_id() == loaderThread && !insideTask) {
    if (!active_) return;
    interrupted.store(false, std::memory_order_relaxed);
#if !defined(_WIN32)
    struct sigaction sa {};
    sa.sa_sigaction = onSigint;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &replaced);
#endif
  }
  ~SigintWatch() {
    if (!active_) return;
#if !defined(_WIN32)
    sigaction(SIGINT, &replaced, nullptr);
#endif
    interrupted.store(false, std::memory_order_relaxed);
  }
  SigintWatch(const SigintWatch&) = delete;
  SigintWatch& operator=(const SigintWatch&) = delete;

  bool active() const { return active_; }

  // Throw when a SIGINT cut the job short: its output is incomplete.
  void check() const {
    if (active_ && interrupted.load(std::memory_order_relaxed)) throw std::runtime_error("interrupted (SIGINT)");
  }

 private:
  bool active_;
};

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

constexpr auto kSpin = std::chrono::microseconds(1000);

size_t defaultThreads() {
  const char* env = std::getenv("EAI_NATIVE_THREADS");
  if (env && *env) {
    long v = std::strtol(env, nullptr, 10);
    if (v >= 1 && v <= 1024) return static_cast<size_t>(v);
  }
  size_t n = std::thread::hardware_concurrency();
#if defined(__linux__)
  // Containers restrict the CPUs a process may use; count those, not the machine's.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    size_t allowed = static_cast<size_t>(CPU_COUNT(&set));
    if (allowed > 0 && (n == 0 || allowed < n)) n = allowed;
  }
#endif
  return n == 0 ? 1 : n;
}

class Pool {
 public:
  explicit Pool(size_t threads) { start(threads); }
  ~Pool() { stop(); }

  size_t size() const { return workers_.size() + 1; }

  void resize(size_t threads) {
    std::lock_guard<std::mutex> submit(submit_);
    stop();
    start(threads);
  }

  void run(size_t n, void (*task)(void*, size_t), void* ctx) {
    SigintWatch watch;
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (insideTask || !submit.owns_lock() || workers_.empty()) {
      runInline(n, task, ctx, watch.active());
      watch.check();
      return;
    }
    {
      std::unique_lock<std::mutex> lk(m_);
      // A worker that joined the previous job late must leave before its counters reset.
      done_.wait(lk, [&] { return active_ == 0; });
      task_ = task;
      ctx_ = ctx;
      n_ = n;
      next_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      watched_ = watch.active();
      ++generation_;
    }
    work_.notify_all();
    drain();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [&] { return active_ == 0; });
    if (error_) std::rethrow_exception(error_);
    watch.check();
  }

 private:
  // Only a watched job stops early: another thread's job running meanwhile must not skip its tasks.
  static void runInline(size_t n, void (*task)(void*, size_t), void* ctx, bool watched) {
    bool was = insideTask;
    insideTask = true;
    try {
      for (size_t i = 0; i < n && !(watched && interrupted.load(std::memory_order_relaxed)); i++) task(ctx, i);
    } catch (...) {
      insideTask = was;
      throw;
    }
    insideTask = was;
  }

  // Take task indices until none are left (the caller and every joined worker do this).
  void drain() {
    bool was = insideTask;
    insideTask = true;
    for (;;) {
      size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_ || (watched_ && interrupted.load(std::memory_order_relaxed))) break;
      try {
        task_(ctx_, i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
      }
    }
    insideTask = was;
  }

  // Spin until a new job is published or kSpin has passed (the clock is read rarely).
  void spin(uint64_t seen) const {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (unsigned i = 1;; i++) {
      if (generation_.load(std::memory_order_acquire) != seen || stopping_.load(std::memory_order_relaxed)) return;
      cpuRelax();
      if ((i & 63) == 0 && std::chrono::steady_clock::now() >= until) return;
    }
  }

  void worker() {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lk(m_);
      seen = generation_;
    }
    for (;;) {
      spin(seen);
      {
        std::unique_lock<std::mutex> lk(m_);
        work_.wait(lk, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        ++active_;
      }
      drain();
      {
        std::lock_guard<std::mutex> lk(m_);
        --active_;
      }
      done_.notify_all();
    }
  }

  void start(size_t threads) {
    stopping_ = false;
    for (size_t i = 1; i < threads; i++) workers_.emplace_back([this] { worker(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex submit_;
  std::mutex m_;
  std::condition_variable work_, done_;
  std::vector<std::thread> workers_;
  // Written under m_; atomic so spinning workers may read them without it.
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> generation_{0};
  size_t active_ = 0;
  void (*task_)(void*, size_t) = nullptr;
  void* ctx_ = nullptr;
  size_t n_ = 0;
  bool watched_ = false;
  std::atomic<size_t> next_{0};
  std::exception_ptr error_;
};

// Never destroyed: worker threads must not be joined during static destruction at exit.
Pool& pool() {
  static Pool* p = new Pool(defaultThreads());
  return *p;
}

}  // namespace

void parallelForRaw(size_t n, void (*task)(void*, size_t), void* ctx) { pool().run(n, task, ctx); }

size_t threadCount() { return pool().size(); }

void setThreadCount(size_t n) { pool().resize(n < 1 ? 1 : n); }

}  // namespace eai
