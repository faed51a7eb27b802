// transport_bench: sends N requests, C at a time, to legacy-services' stock cancel endpoint through
// each HTTP transport (adapters/http_transport.hpp) and prints calls/s, latency p50/p99 and the
// CPU time of this process. legacy-services runs as a separate process, so the CPU time is the
// client's alone. Runs alternate the order of the transports; the summary gives medians of runs.
#include "adapters/http_transport.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace compensatord::adapters;
using Clock = std::chrono::steady_clock;

struct Settings {
  int requests = 20'000;
  int concurrency = 32;
  int runs = 3;
  int warm_up = 500;
  std::vector<std::string> transports{"curl", "cpprest"};
  std::string legacy_services = LEGACY_SERVICES_PATH;
  std::string url;  // empty: start legacy-services
};

struct Figures {
  double calls_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_seconds = 0;  // user + system of this process
  int failures = 0;        // transport errors and answers other than 200 or 404
};

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// legacy-services as a child process, stopped with SIGTERM when this goes away.
class Services {
 public:
  explicit Services(const std::string& path) : url_(fmt::format("http://127.0.0.1:{}", free_port())) {
    std::vector<std::string> args{path, "--listen", url_.substr(7), "--log-level", "warn"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (int rc = ::posix_spawn(&pid_, path.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0) {
      throw std::runtime_error(fmt::format("cannot start {}: {}", path, std::strerror(rc)));
    }
  }
  ~Services() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string url_;
  pid_t pid_ = -1;
};

void wait_until_answering(HttpTransport& transport, const std::string& url) {
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until) {
    if (send_and_wait(transport, {"GET", url + "/admin/totals", {}, "", std::chrono::seconds(1)}).status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(fmt::format("{} does not answer", url));
}

HttpRequest cancel_request(const std::string& url, const std::string& order_no) {
  return {"POST",
          fmt::format("{}/api/stock/rollback/{}", url, order_no),
          {{"Content-Type", "application/json"}},
          fmt::format(R"({{"orderNo":"{}","sku":"SKU-1","qty":1}})", order_no),
          std::chrono::seconds(5)};
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

// Keeps `concurrency` requests in flight: each answer's handler sends the next request.
class ClosedLoop {
 public:
  ClosedLoop(HttpTransport& transport, std::string url, std::string prefix, int requests)
      : transport_(transport), url_(std::move(url)), prefix_(std::move(prefix)), latencies_ms_(requests) {}

  Figures run(int concurrency) {
    const double cpu_before = cpu_seconds();
    const auto started = Clock::now();
    const int first = std::min<int>(concurrency, static_cast<int>(latencies_ms_.size()));
    next_ = first;
    for (int i = 0; i < first; ++i) issue(i);
    {
      std::unique_lock lock(mutex_);
      all_done_.wait(lock, [this] { return completed_ == latencies_ms_.size(); });
    }
    const double wall = std::chrono::duration<double>(Clock::now() - started).count();
    Figures figures;
    figures.cpu_seconds = cpu_seconds() - cpu_before;
    figures.calls_per_second = static_cast<double>(latencies_ms_.size()) / wall;
    figures.p50_ms = percentile(latencies_ms_, 0.50);
    figures.p99_ms = percentile(latencies_ms_, 0.99);
    figures.failures = failures_.load();
    return figures;
  }

 private:
  void issue(std::size_t i) {
    const auto sent = Clock::now();
    transport_.send(cancel_request(url_, fmt::format("{}-{}", prefix_, i)),
                    [this, i, sent](HttpResponse response) { answered(i, sent, response); });
  }

  void answered(std::size_t i, Clock::time_point sent, const HttpResponse& response) {
    latencies_ms_[i] = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
    // 404 "order not found" is the stock service's answer for an order it never locked (the
    // "never tried" success of the integration contract): every order here is new.
    if (response.status != 200 && response.status != 404) {
      if (failures_.fetch_add(1) == 0)
        fmt::print(stderr, "first failure: HTTP {} {}\n", response.status, response.error);
    }
    std::size_t following = 0;
    {
      std::lock_guard lock(mutex_);
      following = next_ < latencies_ms_.size() ? next_++ : latencies_ms_.size();
    }
    if (following < latencies_ms_.size()) issue(following);
    std::lock_guard lock(mutex_);
    if (++completed_ == latencies_ms_.size()) all_done_.notify_all();
  }

  HttpTransport& transport_;
  std::string url_;
  std::string prefix_;
  std::vector<double> latencies_ms_;  // each slot written by its own request's handler
  std::atomic<int> failures_{0};
  std::mutex mutex_;
  std::condition_variable all_done_;
  std::size_t next_ = 0;       // guarded by mutex_
  std::size_t completed_ = 0;  // guarded by mutex_
};

std::unique_ptr<HttpTransport> make(const std::string& name) {
  if (name == "curl") return make_curl_transport();
  if (name == "cpprest") return make_cpprest_transport();
  throw std::invalid_argument(fmt::format("unknown transport '{}' (curl, cpprest)", name));
}

Figures measure(const std::string& name, const std::string& url, const Settings& settings, int run) {
  auto transport = make(name);
  ClosedLoop(*transport, url, fmt::format("WARM-{}-{}", name, run), settings.warm_up).run(settings.concurrency);
  return ClosedLoop(*transport, url, fmt::format("BENCH-{}-{}", name, run), settings.requests)
      .run(settings.concurrency);
}

// The machine's load average, printed with the figures: other work on the machine skews them.
std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

void print_summary(const Settings& settings, const std::map<std::string, std::vector<Figures>>& results) {
  fmt::print("\nmedians of {} runs, {} requests, {} in flight:\n", settings.runs, settings.requests,
             settings.concurrency);
  fmt::print("| transport | calls/s | p50 ms | p99 ms | client CPU s | CPU µs per call | failures |\n");
  fmt::print("|---|---|---|---|---|---|---|\n");
  for (const auto& name : settings.transports) {
    const auto& runs = results.at(name);
    auto of = [&runs](double Figures::*field) {
      std::vector<double> values;
      for (const auto& f : runs) values.push_back(f.*field);
      return median(values);
    };
    int failures = 0;
    for (const auto& f : runs) failures += f.failures;
    const double cpu = of(&Figures::cpu_seconds);
    fmt::print("| {} | {:.0f} | {:.2f} | {:.2f} | {:.2f} | {:.0f} | {} |\n", name, of(&Figures::calls_per_second),
               of(&Figures::p50_ms), of(&Figures::p99_ms), cpu, cpu * 1e6 / settings.requests, failures);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HTTP transports against legacy-services' stock cancel endpoint"};
  Settings settings;
  app.add_option("-n,--requests", settings.requests, "measured requests per transport and run")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("-c,--concurrency", settings.concurrency, "requests in flight")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  app.add_option("--runs", settings.runs, "runs; the summary gives medians")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--warm-up", settings.warm_up, "unmeasured requests before each measurement")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--transports", settings.transports, "curl, cpprest")->delimiter(',')->capture_default_str();
  app.add_option("--legacy-services", settings.legacy_services, "the legacy-services program")->capture_default_str();
  app.add_option("--url", settings.url, "use an already running legacy-services instead");
  CLI11_PARSE(app, argc, argv);

  try {
    std::unique_ptr<Services> services;
    std::string url = settings.url;
    if (url.empty()) {
      services = std::make_unique<Services>(settings.legacy_services);
      url = services->url();
    }
    wait_until_answering(*make_curl_transport(), url);
    fmt::print("load average before: {}\n", load_average());
    std::map<std::string, std::vector<Figures>> results;
    for (int run = 1; run <= settings.runs; ++run) {
      auto order = settings.transports;
      if (run % 2 == 0) std::reverse(order.begin(), order.end());
      for (const auto& name : order) {
        const Figures f = measure(name, url, settings, run);
        fmt::print("run {} {:8}: {:8.0f} calls/s  p50 {:6.2f} ms  p99 {:6.2f} ms  cpu {:5.2f} s  failures {}\n", run,
                   name, f.calls_per_second, f.p50_ms, f.p99_ms, f.cpu_seconds, f.failures);
        results[name].push_back(f);
      }
    }
    fmt::print("load average after: {}\n", load_average());
    print_summary(settings, results);
  } catch (const std::exception& e) {
    fmt::print(stderr, "transport_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
