#pragma once
// Fault knobs of one sample service: how often it fails, loses its reply, answers oddly, and
// how slowly it answers. Changed at start by flags and at run time by POST /admin/knobs.

#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace demo {

struct Knobs {
  double fail_rate = 0;        // answer 500 without applying
  double reject_rate = 0;      // answer 403 without applying (the caller's credentials are refused)
  double lost_reply_rate = 0;  // apply, then answer 500
  double odd_rate = 0;         // HTML, {"code":9999}, truncated JSON or 503 with an empty body
  int latency_ms = 0;          // fixed delay before answering
  int latency_jitter_ms = 0;   // plus a random 0..jitter
};

nlohmann::json to_json(const Knobs& knobs);

// Applies the keys present in `update` (a JSON object of knob: value) onto `knobs`.
// Returns the reason, naming `where`.key, when a key is unknown or a value is out of range;
// `knobs` is unchanged then.
std::optional<std::string> apply_update(Knobs& knobs, const nlohmann::json& update, const std::string& where);

// What to do to one request, drawn from the knobs.
enum class Fault {
  None,
  Fail,          // 500 before applying
  Rejected,      // 403 before applying
  Unavailable,   // 503 with an empty body, before applying (a proxy in front gave up)
  LostReply,     // 500 after applying
  Html,          // 200 with an HTML page, after applying
  UnknownCode,   // 200 {"code":9999}, after applying
  TruncatedJson  // 200 with half a JSON body, after applying
};

bool applies_before_reply(Fault fault);

// Thread-safe dice over a service's knobs, seeded so a test can repeat a run.
class FaultDice {
 public:
  explicit FaultDice(unsigned seed);
  Fault roll(const Knobs& knobs);
  std::chrono::milliseconds latency(const Knobs& knobs);

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

}  // namespace demo
