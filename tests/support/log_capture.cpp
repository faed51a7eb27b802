#include "support/log_capture.hpp"

#include "log/log_format.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace compensatord::testing {

LogCapture::LogCapture(std::string_view format) : previous_(spdlog::default_logger()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
  sink->set_formatter(log::make_log_formatter(format));
  auto capture = std::make_shared<spdlog::logger>("", std::move(sink));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(std::move(capture));
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::string LogCapture::text() const { return out_.str(); }

std::vector<nlohmann::json> LogCapture::json_lines() const {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out_.str());
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace compensatord::testing
