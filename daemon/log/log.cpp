#include "log/log.hpp"

#include "log/line.hpp"

#include <spdlog/spdlog.h>

namespace compensatord::log {
namespace {

thread_local const Line* current_line = nullptr;

spdlog::level::level_enum spdlog_level(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::critical;
}

// Points current_line at a line while spdlog formats it; restores the previous one, so a line written
// while another is being formatted keeps its own fields.
class Writing {
 public:
  explicit Writing(const Line& line) noexcept : previous_(std::exchange(current_line, &line)) {}
  ~Writing() { current_line = previous_; }
  Writing(const Writing&) = delete;
  Writing& operator=(const Writing&) = delete;

 private:
  const Line* previous_;
};

}  // namespace

const Line* line_being_written() noexcept { return current_line; }

bool Log::enabled(Level level) const { return spdlog::default_logger_raw()->should_log(spdlog_level(level)); }

void Log::write(Level level, Fields fields, std::string_view message) const {
  const Line line{component_, fields};
  const Writing writing(line);
  spdlog::default_logger_raw()->log(spdlog_level(level), spdlog::string_view_t(message.data(), message.size()));
}

}  // namespace compensatord::log
